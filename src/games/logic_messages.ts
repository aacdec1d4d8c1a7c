// The GameLogic Tick messages as a worker writes and reads them (proto/game_logic.proto): the
// codecs, an entity as TickIn carries it (data as JSON), a TickOut's shape, and the JSON helpers
// remote_game.ts uses on both sides.
import { protoFileCodec } from "../net/proto_codec.ts";
import { type Entity, type EntityData, type EntityState, stateOf } from "../world/entity.ts";

/** The Tick method's path. */
export const TICK_PATH = "/zonescaler.logic.GameLogic/Tick";
/** TickIn's protobuf codec. */
export const TickIn = protoFileCodec("game_logic.proto", "zonescaler.logic.TickIn");
/** TickOut's protobuf codec. */
export const TickOut = protoFileCodec("game_logic.proto", "zonescaler.logic.TickOut");

/** An entity as TickIn carries it: its state with the data as JSON. */
export type WireEntity = Omit<EntityState, "data"> & { dataJson: string; player: boolean };

/** A TickOut as decoded. */
export interface Out {
  tick: number;
  set: Array<{ id: number; position: number[]; velocity: number[]; dataJson: string }>;
  spawns: Array<
    { type: string; x: number; y: number; z: number; dataJson: string; id: number }
  >;
  remove: number[];
  interact: Array<
    { source: number; target: number; kind: string; dataJson: string; reach: number }
  >;
  error: string;
}

/** `value` as JSON, "" for undefined. */
export const json = (value: unknown) => value === undefined ? "" : JSON.stringify(value);
/** What changes when the worker changed an entity the server knows. */
export const signature = (e: Entity) =>
  `${e.type}|${e.x}|${e.y}|${e.z}|${e.vx}|${e.vy}|${e.vz}|${JSON.stringify(e.data)}`;

/** `e` as TickIn carries it. */
export function wire(e: Entity): WireEntity {
  const { data, ...state } = stateOf(e);
  return { ...state, dataJson: JSON.stringify(data), player: e.session !== undefined };
}

/** A TickOut with nothing in it. */
export function emptyOut(): Out {
  return { tick: 0, set: [], spawns: [], remove: [], interact: [], error: "" };
}

/** The JSON object in `text`, or why it is not one. */
export function parseData(text: string, objectOnly = true): EntityData | string {
  try {
    const value = JSON.parse(text);
    if (!objectOnly) return value;
    if (typeof value !== "object" || value === null || Array.isArray(value)) {
      return `data_json is not a JSON object: ${text.slice(0, 40)}`;
    }
    return value as EntityData;
  } catch (error) {
    return `data_json is not JSON: ${(error as Error).message}`;
  }
}
