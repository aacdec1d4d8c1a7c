// What the gateway and the worker owning a player's entity say to each other over the session
// link: commands (join, input, detach, resume, depart) one way, a per-tick report the other.
// The bytes are session_wire.ts's.
import type { EntityData } from "../world/entity.ts";

/** A player's movement intent as the worker applies it. */
export interface PlayerInput {
  seq: number;
  move: number[];
  action?: string;
  /** The client's application payload (plain data, at most MAX_INPUT_DATA_BYTES). */
  data?: unknown;
}

/** Where an instance runs and what it is: the coordinator's placement, carried by joins. */
export interface InstancePlacement {
  id: string;
  /** The directory's creation order: a worker disposes of what a newer list no longer has. */
  seq: number;
  worker: string;
  mode: string;
  /** The game's parsed options of the instance (plain data). */
  options: unknown;
  maxPlayers: number;
  /**
   * How often it changed worker (live moves, failovers; absent: 0): a worker runs the mode's
   * onCreate only for an instance at 0, since a moved one arrives with its entities.
   */
  moves?: number;
}

/** A player's state that travels with it between the world and instances. */
export interface Carried {
  /** The entity's data (the game's persistent fields live there). */
  data: EntityData;
  /** Highest INPUT seq applied, so acks go on from it. */
  lastSeq: number;
}

/** What a gateway asks of a worker. */
export type GatewayCommand =
  | {
    op: "join";
    session: string;
    name: string;
    resumeJti: string;
    x: number;
    y: number;
    z: number;
    /** Join this instance (hosted here; created at the first join) instead of the world. */
    instance?: InstancePlacement;
    /** A traveller's state from the space it left, or a player's saved data at login. */
    carried?: Carried;
    /** The login token's subject of a registered account ("account:12"); "" for a guest. */
    account?: string;
  }
  /** Take the player out of its space (to travel): answered by `departed`. */
  | { op: "depart"; entity: number; session: string; conn: string }
  /**
   * `conn` names the connection that sent a command: the id of the resume token its WELCOME
   * carried. The worker owning the entity applies inputs and detaches only from the session's
   * current connection, so a superseded connection can neither steer nor end the session.
   */
  | { op: "input"; entity: number; conn: string; input: PlayerInput }
  | { op: "detach"; entity: number; session: string; conn: string }
  | { op: "resume"; entity: number; session: string; jti: string; nextJti: string };

/** An entity entering a player's view: id, type, position, data. */
export type EnterRow = [number, string, number, number, number, EntityData];
/** A visible entity's new position, and its whole data when that changed. */
export type UpdateRow =
  | [number, number, number, number]
  | [number, number, number, number, EntityData];

/** One player's view change at a tick, computed by the worker that owns the player. */
export interface SessionDiff {
  session: string;
  entity: number;
  ack: number;
  /** The worker just took the player over: `enter` is everything visible, from scratch. */
  full: boolean;
  enter: EnterRow[];
  update: UpdateRow[];
  leave: number[];
  /**
   * Set by the worker's views (src/sim/player_views.ts): where each of `enter` and `update`
   * sits in `table`, the rows its views made for one state, so a report's row table is built
   * without looking rows up (report_rows.ts). Local to the worker, never sent.
   */
  refs?: DiffRefs;
  /**
   * The tick whose state it shows (absent: the report's). A report can hold two diffs of one
   * player, of consecutive ticks: one collected at a tick's start, one at its end (a space that
   * has just come to own every cell); they are applied in order.
   */
  tick?: number;
}

/** The rows one worker's views made for one state, in the order made. */
export interface RowTable {
  rows: Array<EnterRow | UpdateRow>;
}

/** A diff's rows as positions in a {@linkcode RowTable}: `enter[k]` is `diff.enter[k]`'s. */
export interface DiffRefs {
  table: RowTable;
  enter: number[];
  update: number[];
}

/** What a worker sends one gateway for one tick. */
export interface WorkerReport {
  worker: string;
  tick: number;
  diffs: SessionDiff[];
  /**
   * The rows, and lists of rows, more than one of `diffs` holds (set by the decoder): the same
   * objects, so a gateway encodes each of them once for all of its clients.
   */
  shared?: ReadonlySet<EnterRow | UpdateRow | Array<EnterRow | UpdateRow>>;
  joined: Array<{ session: string; entity: number }>;
  /** Answers to resumes; `conn` is the resume's `nextJti` (which connection asked). */
  resumed: Array<{ session: string; entity: number; ok: boolean; conn: string }>;
  /** Connections replaced by a resume (on any gateway): close them with SESSION_TAKEN_OVER. */
  superseded: Array<{ session: string; conn: string }>;
  /** Sessions whose entity was removed (grace period over). */
  gone: Array<{ session: string; entity: number }>;
  /** Players taken out of their space: asked by a depart, or their instance was destroyed. */
  departed: Departed[];
  /**
   * The game's persistent fields of registered players, to save to their accounts: at every
   * save interval for those that changed, and when a player's entity is removed.
   */
  saves: PlayerSave[];
}

/** A report of `worker` for `tick` with nothing in it yet. */
export function emptyReport(worker: string, tick: number): WorkerReport {
  return {
    worker,
    tick,
    diffs: [],
    joined: [],
    resumed: [],
    superseded: [],
    gone: [],
    departed: [],
    saves: [],
  };
}

/** A registered player's persistent fields (a subset of its entity's data). */
export interface PlayerSave {
  /** The login token's subject ("account:12"). */
  account: string;
  data: EntityData;
}

/** A player that left its space, with what travels on to the next one. */
export interface Departed extends Carried {
  session: string;
  entity: number;
  x: number;
  y: number;
  z: number;
  /** "depart" (asked for) or "destroyed" (its instance was disposed of). */
  reason: "depart" | "destroyed";
  /** The player's account ("" for a guest), so the next space saves to it too. */
  account: string;
}
