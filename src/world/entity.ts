// The entity record shared by the tick, the spatial index, ghost sync and handoff.
import type { DataSnapshot } from "../sim/data_versions.ts";

/** Game state of an entity: any msgpack-encodable plain values. */
export type EntityData = Record<string, unknown>;

/**
 * The state of an entity that crosses the wire (batches, handoffs, transfers): the one field
 * list. {@linkcode Entity} adds what each worker keeps locally.
 */
export interface EntityState {
  id: number;
  type: string;
  x: number;
  y: number;
  z: number;
  vx: number;
  vy: number;
  vz: number;
  data: EntityData;
}

/**
 * One entity. Owned entities are simulated by exactly one worker; ghosts are read-only
 * copies of another worker's entities near a border. Records are allocated once per entity,
 * never per tick.
 */
export interface Entity extends EntityState {
  /** Cell holding (x, y, z); maintained by the space, not the game. */
  cell: number;
  /** Worker that owns the entity (this worker for owned ones). */
  owner: string;
  /** What the AOI diff last saw of `data` (src/sim/data_versions.ts); local, never sent. */
  dataSync?: DataSnapshot;
  /** Set on a player's entity: its session, which moves with it on handoff. Never sent to clients. */
  session?: SessionInfo;
}

/** What the owning worker knows of a player's session. */
export interface SessionInfo {
  id: string;
  /** Gateway the client is connected through (diffs go there). */
  gateway: string;
  name: string;
  /** Highest input sequence number applied. */
  lastSeq: number;
  /** Id of the only resume token that may take this session over; replaced on every resume. */
  resumeJti: string;
  /** Wall time the client went away (0 while connected); removed after the grace period. */
  detachedAt: number;
  /** Its registered account (the login token's subject), "" for a guest: saves go there. */
  account: string;
}

/**
 * A new entity record with zero velocity, owned by `owner` (default: nobody yet).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * const e = makeEntity(7, "npc", { x: 1, y: 2 });
 * assert.deepEqual(stateOf(e), { id: 7, type: "npc", x: 1, y: 2, z: 0, vx: 0, vy: 0, vz: 0, data: {} });
 * ```
 */
export function makeEntity(
  id: number,
  type: string,
  position: { x: number; y: number; z?: number },
  data: EntityData = {},
  owner = "",
): Entity {
  return {
    id,
    type,
    x: position.x,
    y: position.y,
    z: position.z ?? 0,
    vx: 0,
    vy: 0,
    vz: 0,
    data,
    cell: -1,
    owner,
    // Present from the start (undefined), so every entity record has the same shape whatever
    // is set on it later: the tick's loops stay monomorphic.
    dataSync: undefined,
    session: undefined,
  };
}

/** Snapshot of an entity's state for the wire (the data object is shared, not copied). */
export function stateOf(entity: EntityState): EntityState {
  return {
    id: entity.id,
    type: entity.type,
    x: entity.x,
    y: entity.y,
    z: entity.z,
    vx: entity.vx,
    vy: entity.vy,
    vz: entity.vz,
    data: entity.data,
  };
}

/** Copies `state` into an existing record in place (ghost updates allocate nothing). */
export function assignState(target: Entity, state: EntityState): void {
  target.id = state.id;
  target.type = state.type;
  target.x = state.x;
  target.y = state.y;
  target.z = state.z;
  target.vx = state.vx;
  target.vy = state.vy;
  target.vz = state.vz;
  target.data = state.data;
}
