// The entity record shared by the tick, the spatial index, ghost sync and handoff.

/** Game state of an entity: any msgpack-encodable plain values. */
export type EntityData = Record<string, unknown>;

/**
 * One entity. Owned entities are simulated by exactly one worker; ghosts are read-only
 * copies of another worker's entities near a border. Records are allocated once per entity,
 * never per tick.
 */
export interface Entity {
  id: number;
  type: string;
  x: number;
  y: number;
  z: number;
  vx: number;
  vy: number;
  vz: number;
  data: EntityData;
  /** Cell holding (x, y, z); maintained by the space, not the game. */
  cell: number;
  /** Worker that owns the entity (this worker for owned ones). */
  owner: string;
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
}

/** A new entity record with zero velocity. */
export function makeEntity(
  id: number,
  type: string,
  position: { x: number; y: number; z?: number },
  data: EntityData = {},
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
    owner: "",
  };
}
