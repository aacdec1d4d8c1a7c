// The wire records inside a peer batch: entity states (validated inline, strings built only for
// a bad field), player sessions and the packed float64 move column, plus the order-free checksum
// over entity records that a cell transfer is verified by. src/sync/batch_codec.ts lays the batch
// out from these.
import { fnv1a } from "../sim/random.ts";
import {
  failPeer as fail,
  isEntityId,
  isFiniteNumber,
  isFlatData,
  peerFields,
  peerString as str,
} from "../protocol/peer_reader.ts";
import type { EntityData, EntityState, SessionInfo } from "../world/entity.ts";

const { integer: int, finite, plain, tuple } = peerFields;

/**
 * FNV-1a checksum of entity states, independent of their order: what the sender froze and
 * what the receiver decoded must agree before ownership moves.
 */
export function checksumOf(states: Iterable<EntityState>): number {
  let sum = 0;
  for (const s of states) {
    // The wire record in order, data as JSON: the same text on every node.
    const record = entityToWire(s);
    record[DATA_FIELD] = JSON.stringify(s.data, binaryAsArray);
    sum = (sum + fnv1a(record.join("|"))) >>> 0;
  }
  return sum;
}

function binaryAsArray(_key: string, value: unknown): unknown {
  return value instanceof Uint8Array ? Array.from(value) : value;
}

/** A record as it goes on the wire: a msgpack array. */
export type Wire = unknown[];

/** The wire record of an entity state: the field order of {@linkcode EntityState}. */
export function entityToWire(s: EntityState): Wire {
  return [s.id, s.type, s.x, s.y, s.z, s.vx, s.vy, s.vz, s.data];
}
const ENTITY_FIELDS = 9;
const DATA_FIELD = 8;

/** Bytes per ghost in the packed move column: id and six float64 coordinates. */
const MOVE_FIELDS = 7;
const MOVE_BYTES = MOVE_FIELDS * 8;
const MOVE_NAMES = ["id", "x", "y", "z", "vx", "vy", "vz"];

/** True on little-endian hosts, where the move column is a plain Float64Array copy. */
const LITTLE_ENDIAN = new Uint8Array(new Float64Array([1]).buffer)[7] === 0x3f;

/** The move column as little-endian float64, whatever the host's byte order. */
export function packMoves(moves: readonly number[]): Uint8Array {
  if (moves.length % MOVE_FIELDS !== 0) {
    throw new RangeError(`Cannot encode batch: moves has ${moves.length} numbers, not 7 per ghost`);
  }
  if (LITTLE_ENDIAN) return new Uint8Array(Float64Array.from(moves).buffer);
  const bytes = new Uint8Array(moves.length * 8);
  const view = new DataView(bytes.buffer);
  for (let i = 0; i < moves.length; i++) view.setFloat64(i * 8, moves[i], true);
  return bytes;
}

/** Motion as a move carries it. */
type Motion = Pick<EntityState, "x" | "y" | "z" | "vx" | "vy" | "vz">;

/**
 * Appends an entity's move (id, x, y, z, vx, vy, vz) to a flat move column. Stored one by one:
 * a push of seven numbers is a call that makes a heap object of each.
 */
export function appendMove(moves: number[], e: Motion & { id: number }): void {
  const at = moves.length;
  moves[at] = e.id;
  moves[at + 1] = e.x;
  moves[at + 2] = e.y;
  moves[at + 3] = e.z;
  moves[at + 4] = e.vx;
  moves[at + 5] = e.vy;
  moves[at + 6] = e.vz;
}

/** Writes the move at `at` (the index of its id) in a flat move column onto `target`. */
export function applyMove(target: Motion, moves: readonly number[], at: number): void {
  target.x = moves[at + 1];
  target.y = moves[at + 2];
  target.z = moves[at + 3];
  target.vx = moves[at + 4];
  target.vy = moves[at + 5];
  target.vz = moves[at + 6];
}

/** Reads the move column; one pass of checks, and a message built only for a bad value. */
export function unpackMoves(value: unknown, name = "moves"): number[] {
  if (!(value instanceof Uint8Array)) fail(`${name} must be binary, got ${typeof value}`);
  if (value.byteLength % MOVE_BYTES !== 0) {
    fail(`${name} must hold ${MOVE_BYTES} bytes per entity, got ${value.byteLength} bytes`);
  }
  const count = value.byteLength / 8;
  let floats: ArrayLike<number>;
  if (LITTLE_ENDIAN) floats = new Float64Array(new Uint8Array(value).buffer); // an aligned copy (never a Buffer view)
  else {
    const view = new DataView(value.buffer, value.byteOffset, value.byteLength);
    floats = Array.from({ length: count }, (_, i) => view.getFloat64(i * 8, true));
  }
  const moves = new Array<number>(count);
  for (let i = 0; i < count; i++) {
    const v = floats[i];
    const field = i % MOVE_FIELDS;
    if (field === 0 ? !(Number.isSafeInteger(v) && v >= 0) : !Number.isFinite(v)) {
      const what = `${name}[${(i - field) / MOVE_FIELDS}].${MOVE_NAMES[field]}`;
      fail(
        `${what} must be ${field === 0 ? "a non-negative integer" : "a finite number"}, got ${v}`,
      );
    }
    moves[i] = v === 0 ? 0 : v; // -0 reads as 0, as msgpack numbers do
  }
  return moves;
}

export function entityFromWire(value: unknown, what: string): EntityState {
  // The success path checks each field inline; the labelled readers run (and build their
  // messages) only for a field that is wrong, so a valid record costs no strings.
  const w = Array.isArray(value) && value.length === ENTITY_FIELDS
    ? value
    : tuple(value, what, ENTITY_FIELDS);
  const [id, type, x, y, z, vx, vy, vz, raw] = w;
  if (
    !isEntityId(id) ||
    !(typeof type === "string" && type.length >= 1 && type.length <= 64) ||
    !isFiniteNumber(x) || !isFiniteNumber(y) || !isFiniteNumber(z) ||
    !isFiniteNumber(vx) || !isFiniteNumber(vy) || !isFiniteNumber(vz)
  ) {
    int(id, `${what}.id`);
    str(type, `${what}.type`, 64);
    for (const [n, v] of ["x", "y", "z", "vx", "vy", "vz"].entries()) {
      finite(w[n + 2], `${what}.${v}`);
    }
  }
  const data =
    (isFlatData(raw)
      ? raw
      : plain(peerFields.map(raw, `${what}.data`), `${what}.data`)) as EntityData;
  return {
    id: id as number,
    type: type as string,
    x: x as number,
    y: y as number,
    z: z as number,
    vx: vx as number,
    vy: vy as number,
    vz: vz as number,
    data,
  };
}

export function sessionToWire(s: SessionInfo): Wire {
  return [s.id, s.gateway, s.name, s.lastSeq, s.resumeJti, s.detachedAt, s.account];
}

export function sessionFromWire(value: unknown, what: string): SessionInfo {
  const w = tuple(value, what, 7);
  return {
    id: str(w[0], `${what}.id`),
    gateway: str(w[1], `${what}.gateway`),
    name: str(w[2], `${what}.name`),
    lastSeq: int(w[3], `${what}.lastSeq`),
    resumeJti: str(w[4], `${what}.resumeJti`),
    detachedAt: finite(w[5], `${what}.detachedAt`),
    account: peerFields.string(w[6], `${what}.account`, 0, 128),
  };
}
