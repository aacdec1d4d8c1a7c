// The entity record shared by the tick, the spatial index, ghost sync and handoff. Its id and
// position live in this process's columns (entity_positions.ts), read and written through
// accessors, so game code keeps writing `e.x += e.vx * dt` while the spatial index scans arrays.
import type { DataSnapshot } from "../sim/data_versions.ts";
import { positions, takeSlot } from "./entity_positions.ts";

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
  /** Index of this record's position in the position columns; fixed for its lifetime. */
  readonly slot: number;
  /** Where the grid index holding this record filed it (-1: none); kept by that index. */
  indexSlot: number;
  /** Where the replica sender of the space owning it keeps what its backup holds (-1: none). */
  replicaSlot: number;
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
 * Every entity record: plain fields, except x, y and z, which live in the position columns at
 * `slot`. Made only by {@linkcode makeEntity}, so every record has the same shape and the tick's
 * loops stay monomorphic.
 */
class EntityRecord implements Entity {
  readonly slot: number;
  indexSlot = -1;
  replicaSlot = -1;
  type: string;
  vx = 0;
  vy = 0;
  vz = 0;
  data: EntityData;
  cell = -1;
  owner: string;
  dataSync: DataSnapshot | undefined = undefined;
  session: SessionInfo | undefined = undefined;

  constructor(
    id: number,
    type: string,
    x: number,
    y: number,
    z: number,
    data: EntityData,
    owner: string,
  ) {
    this.slot = takeSlot(this);
    positions.id[this.slot] = id;
    this.type = type;
    this.data = data;
    this.owner = owner;
    positions.x[this.slot] = x;
    positions.y[this.slot] = y;
    positions.z[this.slot] = z;
  }

  get id(): number {
    return positions.id[this.slot];
  }
  set id(value: number) {
    positions.id[this.slot] = value;
  }
  get x(): number {
    return positions.x[this.slot];
  }
  set x(value: number) {
    positions.x[this.slot] = value;
  }
  get y(): number {
    return positions.y[this.slot];
  }
  set y(value: number) {
    positions.y[this.slot] = value;
  }
  get z(): number {
    return positions.z[this.slot];
  }
  set z(value: number) {
    positions.z[this.slot] = value;
  }

  /** The record as plain fields (logs, JSON): its position included, its slot left out. */
  toJSON(): Record<string, unknown> {
    return { ...stateOf(this), cell: this.cell, owner: this.owner };
  }
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
  return new EntityRecord(id, type, position.x, position.y, position.z ?? 0, data, owner);
}

/** A new record of `state` (its velocity too; the data object is shared), owned by `owner`. */
export function recordOf(state: EntityState, owner: string): Entity {
  const entity = makeEntity(state.id, state.type, state, state.data, owner);
  entity.vx = state.vx;
  entity.vy = state.vy;
  entity.vz = state.vz;
  return entity;
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
