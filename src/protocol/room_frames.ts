// The rooms part of the client protocol (docs/protocol.md, Rooms): op ids, the messages a
// client sends to create, search, join, leave and destroy instances, what the server answers
// (ROOMS, TRAVEL), and the strict decoders of both directions.
import { fail, frameFields } from "./frame_reader.ts";
import { describe } from "./input_reader.ts";

const { array, boolean, exactKeys, integer, map } = frameFields;

/** Op ids of the rooms frames (they extend the protocol's Op table). */
export const RoomOp = {
  CREATE: 9,
  SEARCH: 10,
  JOIN: 11,
  LEAVE: 12,
  DESTROY: 13,
  ROOMS: 14,
  TRAVEL: 15,
} as const;

/** Largest `ref` a client may number its room requests with. */
export const MAX_REF = 0xffff_ffff;
/** Most tags on an instance or in a search. */
export const MAX_TAGS = 8;
/** Largest page of a SEARCH. */
export const MAX_SEARCH_LIMIT = 100;

const MODE = /^[A-Za-z][A-Za-z0-9_.-]{0,63}$/;
const TAG = /^[A-Za-z0-9_.:-]{1,32}$/;
const VERSION = /^[A-Za-z0-9_.+-]{1,64}$/;
/** A region's name (a worker's `region` setting; rooms are searched by it). */
export const REGION = /^[A-Za-z0-9_.:-]{1,64}$/;
const INSTANCE = /^[A-Za-z0-9_-]{1,64}$/;

/** Create an instance and travel into it. */
export interface CreateMessage {
  op: typeof RoomOp.CREATE;
  ref: number;
  mode: string;
  options?: Record<string, unknown>;
  maxPlayers?: number;
  private?: boolean;
  tags?: string[];
  version?: string;
  /** Place it on a worker of this region. */
  region?: string;
}

/** Find public instances; every given field must match. */
export interface SearchMessage {
  op: typeof RoomOp.SEARCH;
  ref: number;
  mode?: string;
  tags?: string[];
  version?: string;
  region?: string;
  open?: boolean;
  after?: string;
  limit?: number;
}

/** Travel into an instance by id, or quick-join one of `mode`. */
export interface JoinMessage {
  op: typeof RoomOp.JOIN;
  ref: number;
  instance?: string;
  mode?: string;
  version?: string;
  /** Quick-join: only instances of this region, or a new one there. */
  region?: string;
}

/** Leave the instance, back to the world where the player left it. */
export interface LeaveMessage {
  op: typeof RoomOp.LEAVE;
  ref: number;
}

/** Destroy an instance the player created. */
export interface DestroyMessage {
  op: typeof RoomOp.DESTROY;
  ref: number;
  instance: string;
}

/** Any rooms frame a client sends. */
export type RoomRequest =
  | CreateMessage
  | SearchMessage
  | JoinMessage
  | LeaveMessage
  | DestroyMessage;

/** An instance as clients see it. */
export interface RoomRow {
  id: string;
  mode: string;
  players: number;
  maxPlayers: number;
  tags: string[];
  version: string;
  /** Its worker's region ("" = none). */
  region: string;
  createdAt: number;
  private: boolean;
}

/** Answer to SEARCH (and DESTROY): instances, oldest first; `next` pages on. */
export interface RoomsMessage {
  op: typeof RoomOp.ROOMS;
  ref: number;
  instances: RoomRow[];
  next?: string;
}

/** The player is somewhere else now; a full DIFF of its new surroundings follows. */
export interface TravelMessage {
  op: typeof RoomOp.TRAVEL;
  /** The request that caused it; absent when the instance was destroyed under the player. */
  ref?: number;
  place: "world" | "instance";
  /** The instance, when `place` is "instance". */
  instance?: RoomRow;
  /** The player's entity in its new space (a new id). */
  entity: number;
  /** Replaces the last resume token (the old one names the old entity). */
  resumeToken: string;
  /** Extent of the new space: the world's or the instance's. */
  size: number[];
  reason: "create" | "join" | "leave" | "destroyed";
}

/** Decodes one rooms frame (its `op` is a RoomOp request). */
export function readRoomRequest(raw: Record<string, unknown>): RoomRequest {
  switch (raw.op) {
    case RoomOp.CREATE:
      exactKeys(raw, "CREATE", ["op", "ref", "mode"], [
        "options",
        "maxPlayers",
        "private",
        "tags",
        "version",
        "region",
      ]);
      ref(raw, "CREATE");
      pattern(raw.mode, "CREATE.mode", MODE, "1..64 characters, a letter then A-Z a-z 0-9 _ . -");
      if (raw.options !== undefined) map(raw.options, "CREATE.options");
      if (raw.maxPlayers !== undefined) integer(raw.maxPlayers, "CREATE.maxPlayers", 1, 100_000);
      if (raw.private !== undefined) boolean(raw.private, "CREATE.private");
      tags(raw.tags, "CREATE.tags");
      version(raw.version, "CREATE.version");
      region(raw.region, "CREATE.region");
      return raw as unknown as CreateMessage;
    case RoomOp.SEARCH:
      exactKeys(raw, "SEARCH", ["op", "ref"], [
        "mode",
        "tags",
        "version",
        "region",
        "open",
        "after",
        "limit",
      ]);
      ref(raw, "SEARCH");
      if (raw.mode !== undefined) {
        pattern(raw.mode, "SEARCH.mode", MODE, "1..64 characters, a letter then A-Z a-z 0-9 _ . -");
      }
      tags(raw.tags, "SEARCH.tags");
      version(raw.version, "SEARCH.version");
      region(raw.region, "SEARCH.region");
      if (raw.open !== undefined) boolean(raw.open, "SEARCH.open");
      if (raw.after !== undefined) instance(raw.after, "SEARCH.after");
      if (raw.limit !== undefined) integer(raw.limit, "SEARCH.limit", 1, MAX_SEARCH_LIMIT);
      return raw as unknown as SearchMessage;
    case RoomOp.JOIN:
      exactKeys(raw, "JOIN", ["op", "ref"], ["instance", "mode", "version", "region"]);
      ref(raw, "JOIN");
      if ((raw.instance === undefined) === (raw.mode === undefined)) {
        fail(`JOIN must carry exactly one of "instance" and "mode"`);
      }
      if (raw.instance !== undefined) instance(raw.instance, "JOIN.instance");
      else {pattern(
          raw.mode,
          "JOIN.mode",
          MODE,
          "1..64 characters, a letter then A-Z a-z 0-9 _ . -",
        );}
      version(raw.version, "JOIN.version");
      region(raw.region, "JOIN.region");
      if (raw.region !== undefined && raw.instance !== undefined) {
        fail(`JOIN.region goes with "mode" (a quick-join), not with "instance"`);
      }
      return raw as unknown as JoinMessage;
    case RoomOp.LEAVE:
      exactKeys(raw, "LEAVE", ["op", "ref"]);
      ref(raw, "LEAVE");
      return raw as unknown as LeaveMessage;
    case RoomOp.DESTROY:
      exactKeys(raw, "DESTROY", ["op", "ref", "instance"]);
      ref(raw, "DESTROY");
      instance(raw.instance, "DESTROY.instance");
      return raw as unknown as DestroyMessage;
    default:
      return fail(`op ${describe(raw.op)} is not a rooms request`);
  }
}

/** True for the op ids of rooms requests. */
export function isRoomRequestOp(op: unknown): boolean {
  return typeof op === "number" && op >= RoomOp.CREATE && op <= RoomOp.DESTROY;
}

/** Decodes a server's ROOMS or TRAVEL frame (client side; strict like the others). */
export function readRoomAnswer(raw: Record<string, unknown>): RoomsMessage | TravelMessage {
  if (raw.op === RoomOp.ROOMS) {
    exactKeys(raw, "ROOMS", ["op", "ref", "instances"], ["next"]);
    ref(raw, "ROOMS");
    array(raw.instances, "ROOMS.instances", 0, MAX_SEARCH_LIMIT)
      .forEach((row, n) => roomRow(row, `ROOMS.instances[${n}]`));
    if (raw.next !== undefined) instance(raw.next, "ROOMS.next");
    return raw as unknown as RoomsMessage;
  }
  exactKeys(raw, "TRAVEL", ["op", "place", "entity", "resumeToken", "size", "reason"], [
    "ref",
    "instance",
  ]);
  if (raw.ref !== undefined) ref(raw, "TRAVEL");
  if (raw.place !== "world" && raw.place !== "instance") {
    fail(`TRAVEL.place must be "world" or "instance", got ${describe(raw.place)}`);
  }
  if ((raw.place === "instance") !== (raw.instance !== undefined)) {
    fail(`TRAVEL.instance must be present exactly when place is "instance"`);
  }
  if (raw.instance !== undefined) roomRow(raw.instance, "TRAVEL.instance");
  integer(raw.entity, "TRAVEL.entity");
  if (typeof raw.resumeToken !== "string" || raw.resumeToken.length === 0) {
    fail(`TRAVEL.resumeToken must be a token, got ${describe(raw.resumeToken)}`);
  }
  array(raw.size, "TRAVEL.size", 2, 3).forEach((v, n) =>
    frameFields.positive(v, `TRAVEL.size[${n}]`)
  );
  if (!["create", "join", "leave", "destroyed"].includes(raw.reason as string)) {
    fail(`TRAVEL.reason must be create, join, leave or destroyed, got ${describe(raw.reason)}`);
  }
  return raw as unknown as TravelMessage;
}

function roomRow(value: unknown, what: string): void {
  const row = map(value, what);
  exactKeys(row, what, [
    "id",
    "mode",
    "players",
    "maxPlayers",
    "tags",
    "version",
    "region",
    "createdAt",
    "private",
  ]);
  instance(row.id, `${what}.id`);
  pattern(row.mode, `${what}.mode`, MODE, "a mode name");
  integer(row.players, `${what}.players`);
  integer(row.maxPlayers, `${what}.maxPlayers`, 1);
  tags(row.tags, `${what}.tags`);
  version(row.version, `${what}.version`);
  if (row.region !== "") region(row.region, `${what}.region`);
  integer(row.createdAt, `${what}.createdAt`);
  boolean(row.private, `${what}.private`);
}

function ref(raw: Record<string, unknown>, what: string): void {
  integer(raw.ref, `${what}.ref`, 0, MAX_REF);
}

function pattern(value: unknown, what: string, re: RegExp, expected: string): void {
  if (typeof value !== "string" || !re.test(value)) {
    fail(`${what} must be ${expected}, got ${describe(value)}`);
  }
}

function tags(value: unknown, what: string): void {
  if (value === undefined) return;
  array(value, what, 0, MAX_TAGS).forEach((tag, n) =>
    pattern(tag, `${what}[${n}]`, TAG, "1..32 characters of A-Z a-z 0-9 _ . : -")
  );
}

function version(value: unknown, what: string): void {
  if (value !== undefined) pattern(value, what, VERSION, "1..64 characters of A-Z a-z 0-9 _ . + -");
}

function region(value: unknown, what: string): void {
  if (value !== undefined) pattern(value, what, REGION, "1..64 characters of A-Z a-z 0-9 _ . : -");
}

function instance(value: unknown, what: string): void {
  pattern(value, what, INSTANCE, "an instance id (1..64 characters of A-Z a-z 0-9 _ -)");
}
