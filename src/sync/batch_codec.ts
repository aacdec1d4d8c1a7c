// The wire codec of worker-to-worker batches: msgpack, one batch per peer per tick, validated
// field by field on decode so a malformed or hostile batch is rejected whole.
import { encode } from "../protocol/msgpack.ts";
import {
  decodePeerMap as decodeMap,
  failPeer as fail,
  MAX_PEER_MESSAGE_BYTES,
  peerFields,
  peerString as str,
} from "../protocol/peer_reader.ts";
import type { EntityState, SessionInfo } from "../world/entity.ts";
import {
  entityFromWire,
  entityToWire,
  packMoves,
  sessionFromWire,
  sessionToWire,
  unpackMoves,
  type Wire,
} from "./batch_records.ts";

/**
 * Version of the batch layout; a batch with another version is rejected, and so is a worker
 * dialing with another one (src/sync/peer_links.ts). 2: packed moves (`p`) and refreshes (`g`),
 * which a version-1 reader would ignore, keeping stale ghosts. 3: packed mirror moves (the
 * sixth field of `r`).
 */
export const BATCH_VERSION = 3;
/** Largest encoded batch accepted, in bytes. */
export const MAX_BATCH_BYTES = MAX_PEER_MESSAGE_BYTES;

const { array: list, integer: int, finite, plain, tuple } = peerFields;

export { type EntityState, stateOf } from "../world/entity.ts";
export { checksumOf } from "./batch_records.ts";

/** An entity moving to a new owner: `tick` is the last tick the sender owned it. */
export interface Handoff {
  entity: EntityState;
  tick: number;
  hops: number;
  /** A player's session travels with its entity. */
  session?: SessionInfo;
}

/** An interaction aimed at an entity owned elsewhere; `id` makes it apply exactly once. */
export interface Interaction {
  id: string;
  source: number;
  target: number;
  kind: string;
  data: unknown;
  hops: number;
}

/**
 * A whole cell moving to a new owner (live migration): the entities travel as handoffs in the
 * same batch; `count` and `checksum` let the receiver verify it got exactly that state before
 * it takes ownership. `tick` is the last tick the sender simulated the cell.
 */
export interface Transfer {
  cell: number;
  epoch: number;
  tick: number;
  count: number;
  checksum: number;
  /** Sender's wall clock when it froze the cell, for the pause measurement. */
  frozenAtMs: number;
}

/** The receiver's answer to a transfer: accepted (ownership taken) or refused (resend). */
export interface TransferAck {
  cell: number;
  epoch: number;
  ok: boolean;
}

/** An owned entity as mirrored to the owner's backup: its full state and a player's session. */
export interface MirroredEntity extends EntityState {
  session?: SessionInfo;
}

/**
 * What an owner tells its backup in one tick (replica mode): mirror creates, updates and
 * deletes of everything it owns (the ghost diff with interest = all), and the handoffs it holds
 * until their receivers confirm them (`held`) or no longer holds (`released`, entity ids).
 */
export interface ReplicaOps {
  creates: MirroredEntity[];
  updates: MirroredEntity[];
  /**
   * Motion-only updates, flat like {@linkcode Batch.moves} (id, x, y, z, vx, vy, vz): entities
   * already mirrored whose type, data and session did not change since their last full state.
   */
  moves: number[];
  deletes: number[];
  held: Handoff[];
  released: number[];
}

/** A receiver's confirmation of a handoff (entity and the handoff's tick): the sender lets go. */
export interface HandoffAck {
  entity: number;
  tick: number;
}

/**
 * Sent to the backup of a handoff's sender: "I adopted `entity` from `owner` (handoff `tick`)",
 * so the backup never promotes its mirror of an entity that lives on elsewhere.
 */
export interface Claim {
  owner: string;
  entity: number;
  tick: number;
}

/** Everything one worker sends one peer for one tick. */
export interface Batch {
  from: string;
  epoch: number;
  tick: number;
  creates: EntityState[];
  updates: EntityState[];
  deletes: number[];
  /**
   * Position-only ghost updates, flat: id, x, y, z, vx, vy, vz per ghost whose data did not
   * change (a packed column of float64 on the wire, no record per ghost); a changed type goes
   * with the next refresh.
   */
  moves: number[];
  /**
   * A periodic refresh: creates and updates list every ghost the sender keeps on this peer,
   * with full state; the receiver drops the sender's ghosts not written by this batch.
   */
  full: boolean;
  handoffs: Handoff[];
  interactions: Interaction[];
  transfers: Transfer[];
  acks: TransferAck[];
  /** Handoffs received and adopted (or known already): the sender stops holding them. */
  handoffAcks: HandoffAck[];
  /** Mirror of the sender's owned state, when this worker is its backup. */
  replica: ReplicaOps;
  /** Handoffs the sender adopted from owners this worker backs up. */
  claims: Claim[];
  /**
   * From a backup to its owner: the owner's replica ops up to this tick are applied (0 =
   * none). The owner confirms handoffs to their senders only once its backup has them.
   */
  replicaAck: number;
  /**
   * The instance (room) this batch is about; absent for the open world. An instance is a space
   * of its own, so its transfers, handoffs and mirror ops travel in batches of their own.
   */
  space?: string;
}

/** Empty replica ops. */
export function emptyReplica(): ReplicaOps {
  return { creates: [], updates: [], moves: [], deletes: [], held: [], released: [] };
}

/** True when the replica ops carry nothing. */
export function isEmptyReplica(r: ReplicaOps): boolean {
  return r.creates.length === 0 && r.updates.length === 0 && r.moves.length === 0 &&
    r.deletes.length === 0 && r.held.length === 0 && r.released.length === 0;
}

/** An empty batch for `from` at `tick`. */
export function emptyBatch(from: string, epoch: number, tick: number): Batch {
  return {
    from,
    epoch,
    tick,
    creates: [],
    updates: [],
    deletes: [],
    moves: [],
    full: false,
    handoffs: [],
    interactions: [],
    transfers: [],
    acks: [],
    handoffAcks: [],
    replica: emptyReplica(),
    claims: [],
    replicaAck: 0,
  };
}

/** True when the batch carries nothing. */
export function isEmptyBatch(batch: Batch): boolean {
  return batch.creates.length === 0 && batch.updates.length === 0 &&
    batch.deletes.length === 0 && batch.moves.length === 0 && !batch.full &&
    batch.handoffs.length === 0 &&
    batch.interactions.length === 0 && batch.transfers.length === 0 &&
    batch.acks.length === 0 && batch.handoffAcks.length === 0 && isEmptyReplica(batch.replica) &&
    batch.claims.length === 0 && batch.replicaAck === 0;
}

function handoffToWire(h: Handoff): Wire {
  return h.session
    ? [entityToWire(h.entity), h.tick, h.hops, sessionToWire(h.session)]
    : [entityToWire(h.entity), h.tick, h.hops];
}

function mirroredToWire(e: MirroredEntity): Wire {
  return e.session ? [entityToWire(e), sessionToWire(e.session)] : [entityToWire(e)];
}

/** Encodes a batch once; the result is sent as the payload of one gRPC message. */
export function encodeBatch(batch: Batch): Uint8Array {
  const r = batch.replica;
  const wire: Record<string, unknown> = {
    v: BATCH_VERSION,
    f: batch.from,
    e: batch.epoch,
    t: batch.tick,
    c: batch.creates.map(entityToWire),
    u: batch.updates.map(entityToWire),
    d: batch.deletes,
    h: batch.handoffs.map(handoffToWire),
    i: batch.interactions.map((i) => [i.id, i.source, i.target, i.kind, i.data ?? null, i.hops]),
    m: batch.transfers.map((t) => [t.cell, t.epoch, t.tick, t.count, t.checksum, t.frozenAtMs]),
    a: batch.acks.map((a) => [a.cell, a.epoch, a.ok]),
  };
  // Absent when empty: most batches carry neither.
  if (batch.moves.length > 0) wire.p = packMoves(batch.moves);
  if (batch.full) wire.g = true;
  if (batch.handoffAcks.length > 0) wire.k = batch.handoffAcks.map((k) => [k.entity, k.tick]);
  if (batch.claims.length > 0) wire.o = batch.claims.map((c) => [c.owner, c.entity, c.tick]);
  if (batch.replicaAck > 0) wire.q = batch.replicaAck;
  if (batch.space) wire.s = batch.space;
  if (!isEmptyReplica(r)) {
    wire.r = [
      r.creates.map(mirroredToWire),
      r.updates.map(mirroredToWire),
      r.deletes,
      r.held.map(handoffToWire),
      r.released,
      packMoves(r.moves),
    ];
  }
  return encode(wire);
}

/**
 * Decodes and validates a batch. Throws {@linkcode BatchError} (code BAD_BATCH) for anything
 * that is not a well-formed batch of this version; nothing is applied from a rejected batch.
 *
 * @example
 * ```ts
 * import { decodeBatch, emptyBatch, encodeBatch } from "./batch_codec.ts";
 * const batch = decodeBatch(encodeBatch(emptyBatch("w1", 1, 42)));
 * if (batch.tick !== 42) throw new Error("round trip failed");
 * ```
 */
export function decodeBatch(bytes: Uint8Array): Batch {
  const raw = decodeMap(bytes, BATCH_VERSION);
  const batch: Batch = {
    from: str(raw.f, "from"),
    epoch: int(raw.e, "epoch"),
    tick: int(raw.t, "tick"),
    creates: list(raw.c, "creates").map((w, n) => entityFromWire(w, `creates[${n}]`)),
    updates: list(raw.u, "updates").map((w, n) => entityFromWire(w, `updates[${n}]`)),
    deletes: list(raw.d, "deletes").map((id, n) => int(id, `deletes[${n}]`)),
    moves: raw.p === undefined ? [] : unpackMoves(raw.p),
    full: raw.g === undefined ? false : peerFields.boolean(raw.g, "full"),
    handoffs: list(raw.h, "handoffs").map((value, n) => handoffFromWire(value, `handoffs[${n}]`)),
    interactions: list(raw.i, "interactions").map((value, n) => {
      const i = tuple(value, `interactions[${n}]`, 6);
      return {
        id: str(i[0], `interactions[${n}].id`),
        source: int(i[1], `interactions[${n}].source`),
        target: int(i[2], `interactions[${n}].target`),
        kind: str(i[3], `interactions[${n}].kind`, 64),
        data: plain(i[4], `interactions[${n}].data`),
        hops: int(i[5], `interactions[${n}].hops`),
      };
    }),
    transfers: list(raw.m, "transfers").map((value, n) => {
      const t = tuple(value, `transfers[${n}]`, 6);
      return {
        cell: int(t[0], `transfers[${n}].cell`),
        epoch: int(t[1], `transfers[${n}].epoch`),
        tick: int(t[2], `transfers[${n}].tick`),
        count: int(t[3], `transfers[${n}].count`),
        checksum: int(t[4], `transfers[${n}].checksum`),
        frozenAtMs: finite(t[5], `transfers[${n}].frozenAtMs`),
      };
    }),
    acks: list(raw.a, "acks").map((value, n) => {
      const a = tuple(value, `acks[${n}]`, 3);
      return {
        cell: int(a[0], `acks[${n}].cell`),
        epoch: int(a[1], `acks[${n}].epoch`),
        ok: peerFields.boolean(a[2], `acks[${n}].ok`),
      };
    }),
    handoffAcks: raw.k === undefined ? [] : list(raw.k, "handoffAcks").map((value, n) => {
      const k = list(value, `handoffAcks[${n}]`);
      if (k.length !== 2) fail(`handoffAcks[${n}] must have 2 fields, got ${k.length}`);
      return {
        entity: int(k[0], `handoffAcks[${n}].entity`),
        tick: int(k[1], `handoffAcks[${n}].tick`),
      };
    }),
    replica: raw.r === undefined ? emptyReplica() : replicaFromWire(raw.r),
    replicaAck: raw.q === undefined ? 0 : int(raw.q, "replicaAck"),
    claims: raw.o === undefined ? [] : list(raw.o, "claims").map((value, n) => {
      const c = list(value, `claims[${n}]`);
      if (c.length !== 3) fail(`claims[${n}] must have 3 fields, got ${c.length}`);
      return {
        owner: str(c[0], `claims[${n}].owner`),
        entity: int(c[1], `claims[${n}].entity`),
        tick: int(c[2], `claims[${n}].tick`),
      };
    }),
  };
  if (raw.s !== undefined) batch.space = str(raw.s, "space", 64);
  return batch;
}

function handoffFromWire(value: unknown, what: string): Handoff {
  const h = list(value, what);
  if (h.length !== 3 && h.length !== 4) fail(`${what} must have 3 or 4 fields, got ${h.length}`);
  const handoff: Handoff = {
    entity: entityFromWire(h[0], `${what}.entity`),
    tick: int(h[1], `${what}.tick`),
    hops: int(h[2], `${what}.hops`),
  };
  if (h.length === 4) handoff.session = sessionFromWire(h[3], `${what}.session`);
  return handoff;
}

function mirroredFromWire(value: unknown, what: string): MirroredEntity {
  const m = list(value, what);
  if (m.length !== 1 && m.length !== 2) fail(`${what} must have 1 or 2 fields, got ${m.length}`);
  const entity: MirroredEntity = entityFromWire(m[0], `${what}.entity`);
  if (m.length === 2) entity.session = sessionFromWire(m[1], `${what}.session`);
  return entity;
}

function replicaFromWire(value: unknown): ReplicaOps {
  const r = list(value, "replica");
  if (r.length !== 6) fail(`replica must have 6 fields, got ${r.length}`);
  return {
    creates: list(r[0], "replica.creates").map((v, n) =>
      mirroredFromWire(v, `replica.creates[${n}]`)
    ),
    updates: list(r[1], "replica.updates").map((v, n) =>
      mirroredFromWire(v, `replica.updates[${n}]`)
    ),
    deletes: list(r[2], "replica.deletes").map((id, n) => int(id, `replica.deletes[${n}]`)),
    held: list(r[3], "replica.held").map((v, n) => handoffFromWire(v, `replica.held[${n}]`)),
    released: list(r[4], "replica.released").map((id, n) => int(id, `replica.released[${n}]`)),
    moves: unpackMoves(r[5], "replica.moves"),
  };
}
