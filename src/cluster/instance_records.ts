// What the coordinator's room directories hold (src/cluster/instance_directory.ts keeps and
// indexes them): a live instance with its seats, the row a client sees of it, and where a user
// is. Plain records, so the durable state (coordinator_state.ts) and the APIs share one shape.
import type { RoomRow } from "../protocol/room_frames.ts";

/** One live instance. */
export interface InstanceRecord {
  id: string;
  /** Creation order (the paging cursor and the index key). */
  seq: number;
  mode: string;
  /** The game's parsed options of this instance (plain data). */
  options: unknown;
  maxPlayers: number;
  private: boolean;
  tags: string[];
  /** Version of the game running it. */
  version: string;
  worker: string;
  /** The region of its worker ("" = none), kept as it moves. */
  region: string;
  /**
   * How often it changed worker (live moves and failovers); 0 on the worker that created it,
   * the only one that runs the mode's onCreate.
   */
  moves: number;
  /** User who created it (may destroy it). */
  owner: string;
  createdAt: number;
  /** Users holding a seat (reserved or inside). */
  readonly players: Set<string>;
  /** When it became empty (0 while someone holds a seat). */
  emptySince: number;
}

/** What a client may see of an instance: the rooms protocol's row (ROOMS, TRAVEL). */
export type InstanceRow = RoomRow;

/** Where a user is: `instance` is "" in the open world. */
export interface UserRecord {
  user: string;
  gateway: string;
  instance: string;
  /** Last position in the open world, where a leave puts the player back. */
  world?: { x: number; y: number; z: number };
  /** When its gateway was declared down (absent while up); it goes offline after the grace. */
  lostAt?: number;
}
