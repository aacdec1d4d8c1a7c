// The gateway's client of the coordinator's room directory (its Instances RPC): one msgpack
// request per room operation, a refusal in the answer turned into a CodedError with its code,
// and strict readers of the rows, placements and positions the answers carry.
import { CodedError, ErrorCode } from "../errors.ts";
import { decodePeerMap, peerFields, peerString as str } from "../protocol/peer_reader.ts";
import { decode, encode } from "../protocol/msgpack.ts";
import type { RoomRow } from "../protocol/client_protocol.ts";
import type { InstancePlacement } from "./session_messages.ts";

const { array, boolean, finite, integer, map } = peerFields;

/** A point in the open world. */
export type Position = { x: number; y: number; z: number };

/** Where a travel goes. */
export type Target =
  | { kind: "instance"; placement: InstancePlacement; row: RoomRow; size: number[] }
  | { kind: "world"; at?: Position };

/** One directory request over `directory`; a refusal becomes a CodedError with its code. */
export async function askDirectory(
  directory: (payload: Uint8Array) => Promise<Uint8Array>,
  request: Record<string, unknown>,
): Promise<Record<string, unknown>> {
  let bytes: Uint8Array;
  try {
    bytes = await directory(encode({ v: 1, ...request }));
  } catch (error) {
    throw new CodedError(ErrorCode.UNAVAILABLE, "The room directory cannot be reached", {
      cause: error,
    });
  }
  const answer = decodePeerMap(bytes);
  if (answer.error !== undefined) {
    const e = map(answer.error, "error");
    throw new CodedError(
      str(e.code, "error.code", 64) as ErrorCode,
      str(e.message, "error.message", 1024),
    );
  }
  return answer;
}

/** The instance a CREATE or JOIN answer placed the player in, as a travel target. */
export function instanceTarget(answer: Record<string, unknown>): Target {
  const i = map(answer.instance, "instance");
  const p = map(i.placement, "instance.placement");
  const options = p.options instanceof Uint8Array && p.options.length > 0
    ? decode(p.options)
    : null;
  return {
    kind: "instance",
    placement: {
      id: str(p.id, "placement.id", 64),
      seq: integer(p.seq, "placement.seq"),
      worker: str(p.worker, "placement.worker"),
      mode: str(p.mode, "placement.mode", 64),
      options,
      maxPlayers: integer(p.maxPlayers, "placement.maxPlayers", 1),
      moves: p.moves === undefined ? 0 : integer(p.moves, "placement.moves"),
    },
    row: rowOf(i.row),
    size: array(i.size, "instance.size", 2, 3).map((v, n) => finite(v, `instance.size[${n}]`)),
  };
}

/** A room row of an answer. */
export function rowOf(value: unknown): RoomRow {
  const r = map(value, "row");
  return {
    id: str(r.id, "row.id", 64),
    mode: str(r.mode, "row.mode", 64),
    players: integer(r.players, "row.players"),
    maxPlayers: integer(r.maxPlayers, "row.maxPlayers", 1),
    tags: array(r.tags, "row.tags", 0, 8).map((t, n) => str(t, `row.tags[${n}]`, 32)),
    version: str(r.version, "row.version", 64),
    region: peerFields.string(r.region, "row.region", 0, 64),
    createdAt: integer(r.createdAt, "row.createdAt"),
    private: boolean(r.private, "row.private"),
  };
}

/** The world position a LEAVE answer returns the player to (undefined: its last one). */
export function positionOf(answer: Record<string, unknown>): Position | undefined {
  if (answer.world === undefined) return undefined;
  const w = map(answer.world, "world");
  return { x: finite(w.x, "world.x"), y: finite(w.y, "world.y"), z: finite(w.z, "world.z") };
}
