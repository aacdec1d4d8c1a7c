// Proxy (ghost) synchronization, the one code path for it: which owned entities sit in the
// border band of another worker's cells, the per-peer create/update/delete diff each tick, and
// applying a peer's batch to the table of read-only ghosts.
import type { Batch, EntityState } from "./batch_codec.ts";
import { assignState, type Entity, makeEntity } from "../world/entity.ts";
import type { DataVersions } from "../sim/data_versions.ts";
import type { Grid } from "../world/grid.ts";
import type { EntityIndex } from "../world/spatial_index.ts";

/** The op lists a diff writes for one peer (a batch's ghost ops). */
export interface DiffTarget {
  creates: EntityState[];
  updates: EntityState[];
  deletes: number[];
}

/**
 * The sending side of every interest-driven copy: remembers which entities each peer holds a
 * copy of, and each tick fills that peer's op lists with creates (newly of interest), updates
 * (still of interest, written by an `update` callback) and deletes (no longer). Ghosts use it
 * with interest = the border band. (Replication, interest = everything owned, has a cheaper
 * diff of its own in replica.ts.)
 */
export class InterestDiff {
  #sent = new Map<string, Set<number>>();
  #next = new Map<string, Set<number>>();
  #peers = new Set<string>();

  /** Entity ids `peer` currently holds copies of (after the last tick). */
  heldBy(peer: string): ReadonlySet<number> {
    return this.#sent.get(peer) ?? EMPTY;
  }

  /** `peer` no longer holds a copy of the entity (without a delete being sent). */
  forgetEntity(id: number, peer: string): void {
    this.#sent.get(peer)?.delete(id);
  }

  /** `peer` holds a copy of the entity already: diff against that next tick. */
  assumeHeld(id: number, peer: string): void {
    let sent = this.#sent.get(peer);
    if (!sent) this.#sent.set(peer, sent = new Set());
    sent.add(id);
  }

  /** A peer went away (or stopped being of interest): forget what it held. */
  forgetPeer(peer: string): void {
    this.#sent.delete(peer);
    this.#next.delete(peer);
  }

  /** Peers holding copies now. */
  peers(): IterableIterator<string> {
    return this.#sent.keys();
  }

  /**
   * Asks `interest` which peers each owned entity concerns and appends ops to their lists:
   * creates and deletes here, and for an entity a peer holds already, `update(entity, peer)`
   * writes whatever update it needs (maybe none).
   */
  collect(
    owned: Iterable<Entity>,
    interest: (entity: Entity, out: Set<string>) => void,
    targetFor: (peer: string) => DiffTarget,
    update: (entity: Entity, peer: string) => void,
  ): void {
    const peers = this.#peers;
    for (const next of this.#next.values()) next.clear();
    for (const entity of owned) {
      peers.clear();
      interest(entity, peers);
      if (peers.size === 0) continue;
      for (const peer of peers) {
        let next = this.#next.get(peer);
        if (!next) this.#next.set(peer, next = new Set());
        next.add(entity.id);
        if (!this.#sent.get(peer)?.has(entity.id)) targetFor(peer).creates.push(entity);
        else update(entity, peer);
      }
    }
    for (const [peer, sent] of this.#sent) {
      const next = this.#next.get(peer);
      for (const id of sent) {
        if (!next?.has(id)) targetFor(peer).deletes.push(id);
      }
    }
    // Swap the double buffers: what was sent this tick is what the peers hold now.
    const previous = this.#sent;
    this.#sent = this.#next;
    this.#next = previous;
    for (const [peer, set] of this.#sent) if (set.size === 0) this.#sent.delete(peer);
  }
}

/** Ticks between full refreshes of every ghost (one second at 20 Hz), by default. */
export const GHOST_REFRESH_TICKS = 20;

/** Options of {@linkcode GhostSender.collectGhosts}. */
export interface GhostTickOptions {
  /** The tick being sent. */
  tick: number;
  /** Data versions of owned entities (shared with the players' views). */
  versions: DataVersions;
  /** Every this many ticks, each ghost goes with full state (default GHOST_REFRESH_TICKS). */
  refreshTicks?: number;
  /** Offsets the refresh ticks, so workers do not all refresh on the same tick. */
  phase?: number;
}

/** What a held ghost needs this tick: nothing, a position-only move, or its full state. */
const NONE = 0, MOVE = 1, FULL = 2;

/**
 * Ghost sync's sender: {@linkcode InterestDiff} with interest = the owners of the cells within
 * the ghost margin of an entity. A ghost already held by a peer is sent only when it changed
 * since the last tick: position and velocity alone (a move) when its data is unchanged, full
 * state when its data changed. Every `refreshTicks` every ghost goes in full and the batch is
 * marked `full`, so a peer that lost a batch (a dropped queue) heals within a refresh.
 */
export class GhostSender extends InterestDiff {
  #borderOf?: readonly string[];
  /** Per cell: the foreign-owned neighbour cells and their owners (empty: not a border cell). */
  #border: Foreign[][] = [];
  #margin = 0;
  /** Per cell: the box (min, max per axis) of points farther than the margin from its foreign neighbours. */
  #safe: Float64Array[] = [];
  /** Per entity in the band: x, y, z, vx, vy, vz and data version as of its last send. */
  #last = new Map<number, Float64Array>();
  #kind = NONE;
  #near: Entity[] = [];
  #refresh = false;
  #tick = 0;
  #versions?: DataVersions;
  /** Peers ghosts were ever sent to (and not gone): each refresh reaches all of them. */
  #known = new Set<string>();
  #interest = (entity: Entity, out: Set<string>) => {
    // Most entities live in cells with no foreign neighbour: nothing to check.
    const foreign = this.#border[entity.cell];
    if (foreign === undefined) return;
    const { x, y, z } = entity;
    // Inside the cell's safe box, farther than the margin from every edge facing another
    // worker: not in the band, whatever the neighbours.
    const safe = this.#safe[entity.cell];
    if (x > safe[0] && x < safe[1] && y > safe[2] && y < safe[3] && z > safe[4] && z < safe[5]) {
      return;
    }
    const margin = this.#margin;
    for (const n of foreign) {
      if (out.has(n.owner)) continue;
      const b = n.box;
      // Distance to the neighbour's closed box, as Grid.distanceToCell computes it.
      const gx = x < b[0] ? b[0] - x : x > b[1] ? x - b[1] : 0;
      const gy = y < b[2] ? b[2] - y : y > b[3] ? y - b[3] : 0;
      const gz = z < b[4] ? b[4] - z : z > b[5] ? z - b[5] : 0;
      const d = gy === 0 && gz === 0
        ? gx
        : gx === 0 && gz === 0
        ? gy
        : gx === 0 && gy === 0
        ? gz
        : Math.sqrt(gx * gx + gy * gy + gz * gz);
      if (d <= margin) out.add(n.owner);
    }
    if (out.size > 0) this.#kind = this.#classify(entity);
  };
  #batchFor: (peer: string) => Batch = () => {
    throw new Error("no tick in progress");
  };
  #update = (entity: Entity, peer: string) => {
    if (this.#kind === FULL) this.#batchFor(peer).updates.push(entity);
    else if (this.#kind === MOVE) {
      this.#batchFor(peer).moves.push(
        entity.id,
        entity.x,
        entity.y,
        entity.z,
        entity.vx,
        entity.vy,
        entity.vz,
      );
    }
  };

  /** Entity ids `peer` currently holds ghosts of (after the last tick). */
  ghostedOn(peer: string): ReadonlySet<number> {
    return this.heldBy(peer);
  }

  /** The entity moved to `newOwner`: its ghost there becomes the real one, so no delete is sent. */
  handedOff(id: number, newOwner: string): void {
    this.forgetEntity(id, newOwner);
    this.#last.delete(id);
  }

  /** The entity just arrived from `peer`, which kept it as a ghost: diff against that next tick. */
  assumeGhosted(id: number, peer: string): void {
    this.assumeHeld(id, peer);
    this.#last.delete(id); // its first update goes in full
  }

  override forgetPeer(peer: string): void {
    super.forgetPeer(peer);
    this.#known.delete(peer);
  }

  /**
   * Runs the band selection for every owned entity and appends ghost ops to the peers' batches.
   * `batchFor(peer)` returns that peer's batch for this tick.
   */
  collectGhosts(
    owned: Iterable<Entity>,
    grid: Grid,
    owners: readonly string[],
    self: string,
    margin: number,
    batchFor: (peer: string) => Batch,
    options: GhostTickOptions,
  ): void {
    if (this.#borderOf !== owners || this.#margin !== margin) {
      this.#border = foreignNeighbours(grid, owners, self);
      this.#safe = this.#border.map((foreign, cell) => safeBox(grid, cell, foreign, margin));
      this.#borderOf = owners;
    }
    this.#margin = margin;
    const every = options.refreshTicks ?? GHOST_REFRESH_TICKS;
    this.#refresh = (options.tick + (options.phase ?? 0)) % every === 0;
    this.#tick = options.tick;
    this.#versions = options.versions;
    this.#batchFor = batchFor;
    // Only entities in cells next to another worker's can be in the band: one lookup each.
    const near = this.#near;
    near.length = 0;
    const border = this.#border;
    for (const e of owned) if (border[e.cell]?.length) near.push(e);
    this.collect(near, this.#interest, batchFor, this.#update);
    near.length = 0;
    const last = this.#last;
    if (last.size > 0) {
      // Forget what was last sent of entities no peer holds any more.
      for (const id of last.keys()) {
        let held = false;
        for (const peer of this.peers()) if (this.heldBy(peer).has(id)) held = true;
        if (!held) last.delete(id);
      }
    }
    for (const peer of this.peers()) this.#known.add(peer);
    if (this.#refresh) { for (const peer of this.#known) batchFor(peer).full = true; }
  }

  /** Compares the entity with its last send and records it; once per entity per tick. */
  #classify(entity: Entity): number {
    const version = this.#versions!.of(entity, this.#tick + 0.5);
    let last = this.#last.get(entity.id);
    if (!last) this.#last.set(entity.id, last = new Float64Array(7).fill(NaN));
    const kind = this.#refresh || last[6] !== version
      ? FULL
      : last[0] !== entity.x || last[1] !== entity.y || last[2] !== entity.z ||
          last[3] !== entity.vx || last[4] !== entity.vy || last[5] !== entity.vz
      ? MOVE
      : NONE;
    if (kind !== NONE) {
      last[0] = entity.x;
      last[1] = entity.y;
      last[2] = entity.z;
      last[3] = entity.vx;
      last[4] = entity.vy;
      last[5] = entity.vz;
      last[6] = version;
    }
    return kind;
  }
}

const EMPTY: ReadonlySet<number> = new Set();

/** A neighbour cell owned by another worker: its owner and box (min, max per axis; z 0 in 2D). */
interface Foreign {
  owner: string;
  box: Float64Array;
}

/**
 * For each cell owned by `self`, its neighbours owned by another worker (per map, cached by
 * the owners array). The band is narrower than a cell, so only neighbours can be within it,
 * and only the edges that face another worker are ever checked.
 */
function foreignNeighbours(grid: Grid, owners: readonly string[], self: string): Foreign[][] {
  const out: Foreign[][] = new Array(owners.length);
  const boxes = new Map<number, Float64Array>();
  const boxOf = (cell: number) => {
    let box = boxes.get(cell);
    if (!box) {
      box = new Float64Array(6);
      for (let axis = 0; axis < grid.dims; axis++) {
        box[2 * axis] = grid.cellMin(cell, axis);
        box[2 * axis + 1] = grid.cellMax(cell, axis);
      }
      boxes.set(cell, box);
    }
    return box;
  };
  for (let cell = 0; cell < owners.length; cell++) {
    const list: Foreign[] = [];
    if (owners[cell] === self) {
      for (const n of grid.neighbours(cell)) {
        if (owners[n] && owners[n] !== self) list.push({ owner: owners[n], box: boxOf(n) });
      }
    }
    out[cell] = list;
  }
  return out;
}

/**
 * The part of `cell` (min, max per axis; open bounds) farther than `margin` from every foreign
 * neighbour: pulled in by the margin on each side that faces one (both sides of a diagonal one,
 * which is conservative), unbounded on sides that face none.
 */
function safeBox(grid: Grid, cell: number, foreign: readonly Foreign[], margin: number) {
  const safe = new Float64Array([-Infinity, Infinity, -Infinity, Infinity, -Infinity, Infinity]);
  for (const { box } of foreign) {
    for (let axis = 0; axis < grid.dims; axis++) {
      const min = grid.cellMin(cell, axis), max = grid.cellMax(cell, axis);
      if (box[2 * axis + 1] <= min) safe[2 * axis] = Math.max(safe[2 * axis], min + margin);
      if (box[2 * axis] >= max) safe[2 * axis + 1] = Math.min(safe[2 * axis + 1], max - margin);
    }
  }
  return safe;
}

/** Counters of what {@linkcode GhostTable.apply} did, for metrics and tests. */
export interface GhostApplyStats {
  created: number;
  updated: number;
  deleted: number;
  ignored: number;
}

/**
 * The receiving side: read-only copies of other workers' entities near this worker's cells,
 * kept in the worker's spatial index so game queries see them.
 */
export class GhostTable {
  readonly ghosts = new Map<number, Entity>();
  #index: EntityIndex;
  /** Tick of the batch that last wrote each ghost, to ignore stale writes from a former owner. */
  #writtenAt = new Map<number, number>();

  constructor(index: EntityIndex) {
    this.#index = index;
  }

  get size(): number {
    return this.ghosts.size;
  }

  /**
   * Applies a peer's ghost ops. Entities owned here are never shadowed by a ghost; a write from
   * a worker that no longer owns a ghost (an older tick than the last write) is ignored.
   */
  apply(batch: Batch, ownsHere: (id: number) => boolean, grid: Grid): GhostApplyStats {
    const stats: GhostApplyStats = { created: 0, updated: 0, deleted: 0, ignored: 0 };
    const from = batch.from;
    this.#write(batch.creates, batch, ownsHere, grid, stats);
    this.#write(batch.updates, batch, ownsHere, grid, stats);
    const moves = batch.moves;
    for (let i = 0; i + 6 < moves.length; i += 7) {
      const id = moves[i];
      const ghost = this.ghosts.get(id);
      // A move needs the ghost's type and data already here; the next refresh brings them.
      if (!ghost || ownsHere(id) || this.#stale(ghost, batch)) {
        stats.ignored++;
        continue;
      }
      ghost.x = moves[i + 1];
      ghost.y = moves[i + 2];
      ghost.z = moves[i + 3];
      ghost.vx = moves[i + 4];
      ghost.vy = moves[i + 5];
      ghost.vz = moves[i + 6];
      ghost.owner = from;
      ghost.cell = grid.cellOf(ghost.x, ghost.y, ghost.z);
      this.#writtenAt.set(id, batch.tick);
      this.#index.upsert(ghost);
      stats.updated++;
    }
    for (const id of batch.deletes) {
      const ghost = this.ghosts.get(id);
      if (!ghost || ghost.owner !== from) {
        stats.ignored++;
        continue;
      }
      this.remove(id);
      stats.deleted++;
    }
    if (batch.full) {
      // A refresh lists every ghost the sender keeps here: one it did not write (its delete
      // was lost) is gone. Those written later (kept after a handoff) stay.
      for (const [id, ghost] of this.ghosts) {
        if (ghost.owner === from && (this.#writtenAt.get(id) ?? 0) < batch.tick) {
          this.remove(id);
          stats.deleted++;
        }
      }
    }
    return stats;
  }

  /** A write from a worker that no longer owns the ghost: older than the last write. */
  #stale(ghost: Entity, batch: Batch): boolean {
    return ghost.owner !== batch.from && batch.tick < (this.#writtenAt.get(ghost.id) ?? 0);
  }

  #write(
    states: EntityState[],
    batch: Batch,
    ownsHere: (id: number) => boolean,
    grid: Grid,
    stats: GhostApplyStats,
  ): void {
    const from = batch.from;
    for (const state of states) {
      if (ownsHere(state.id)) {
        stats.ignored++;
        continue;
      }
      let ghost = this.ghosts.get(state.id);
      if (ghost && this.#stale(ghost, batch)) {
        stats.ignored++;
        continue;
      }
      if (!ghost) {
        ghost = makeEntity(state.id, state.type, state, state.data, from);
        this.ghosts.set(state.id, ghost);
        stats.created++;
      } else {
        stats.updated++;
      }
      assignState(ghost, state);
      ghost.owner = from;
      ghost.cell = grid.cellOf(state.x, state.y, state.z);
      this.#writtenAt.set(state.id, batch.tick);
      this.#index.upsert(ghost);
    }
  }

  /**
   * Keeps an entity this worker just handed off as a ghost of its new owner, so nearby game
   * logic (and players' views) never lose sight of it while the handoff is in flight. The new
   * owner follows up with an update or a delete on its next tick.
   */
  keepAsGhost(entity: Entity, newOwner: string, tick: number): void {
    entity.owner = newOwner;
    this.ghosts.set(entity.id, entity);
    this.#writtenAt.set(entity.id, tick);
    this.#index.upsert(entity);
  }

  /** Drops a ghost (its entity became owned here, or its owner went away). */
  remove(id: number): void {
    if (!this.ghosts.delete(id)) return;
    this.#writtenAt.delete(id);
    this.#index.remove(id);
  }

  /** Drops every ghost owned by `peer`; returns how many. */
  dropOwner(peer: string): number {
    let dropped = 0;
    for (const [id, ghost] of this.ghosts) {
      if (ghost.owner === peer) {
        this.remove(id);
        dropped++;
      }
    }
    return dropped;
  }
}
