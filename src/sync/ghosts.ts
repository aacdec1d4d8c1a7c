// Proxy (ghost) synchronization, the one code path for it: which owned entities sit in the
// border band of another worker's cells and what of them each peer gets each tick (on the diff of
// interest_diff.ts and the band geometry of border_band.ts), and applying a peer's batch to the
// table of read-only ghosts.
import type { Batch, EntityState } from "./batch_codec.ts";
import { type Foreign, foreignNeighbours, safeBox } from "./border_band.ts";
import { InterestDiff } from "./interest_diff.ts";
import { appendMove, applyMove } from "./batch_records.ts";
import { assignState, type Entity, recordOf } from "../world/entity.ts";
import type { DataVersions } from "../sim/data_versions.ts";
import type { Grid } from "../world/grid.ts";
import type { EntityIndex } from "../world/spatial_index.ts";

/**
 * How long a ghost kept after a handoff outlives refreshes of its new owner that do not list
 * it: that owner adopts it a tick or more later (several on a late worker) and sends it then.
 */
export const KEPT_GHOST_TICKS = 10;

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
/** Where a sent entity's record in GhostSender's table keeps the tick it was last in the band. */
const LAST_SEEN = 7;

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
  /** True when some cell is a border cell (a worker alone in its world has none). */
  #bordered = false;
  #margin = 0;
  /** Per cell: the box (min, max per axis) of points farther than the margin from its foreign neighbours. */
  #safe: Float64Array[] = [];
  /**
   * Per entity in the band: x, y, z, vx, vy, vz and data version as of its last send, and the
   * tick it was last in the band (LAST_SEEN).
   */
  #last = new Map<number, Float64Array>();
  #kind = NONE;
  #near: Entity[] = [];
  #refresh = false;
  #tick = 0;
  #versions?: DataVersions;
  /** Peers ghosts were ever sent to (and not gone): each refresh reaches all of them. */
  #known = new Set<string>();
  #interest = (entity: Entity, out: string[]): number => {
    // Most entities live in cells with no foreign neighbour: nothing to check.
    const foreign = this.#border[entity.cell];
    if (foreign === undefined) return 0;
    const { x, y, z } = entity;
    // Inside the cell's safe box, farther than the margin from every edge facing another
    // worker: not in the band, whatever the neighbours.
    const safe = this.#safe[entity.cell];
    if (x > safe[0] && x < safe[1] && y > safe[2] && y < safe[3] && z > safe[4] && z < safe[5]) {
      return 0;
    }
    const margin = this.#margin;
    let found = 0;
    next: for (let i = 0; i < foreign.length; i++) {
      const n = foreign[i];
      for (let j = 0; j < found; j++) if (out[j] === n.owner) continue next;
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
      if (d <= margin) out[found++] = n.owner;
    }
    if (found > 0) this.#kind = this.#classify(entity);
    return found;
  };
  #batches: (peer: string) => Batch = () => {
    throw new Error("no tick in progress");
  };
  /** The last peer asked for and its batch: most band entities face one peer, one after another. */
  #lastPeer = "";
  #lastBatch?: Batch;
  #batchFor = (peer: string): Batch => {
    if (peer === this.#lastPeer && this.#lastBatch) return this.#lastBatch;
    this.#lastPeer = peer;
    return this.#lastBatch = this.#batches(peer);
  };
  #update = (entity: Entity, peer: string) => {
    if (this.#kind === FULL) this.#batchFor(peer).updates.push(entity);
    else if (this.#kind === MOVE) appendMove(this.#batchFor(peer).moves, entity);
  };

  /** Entity ids `peer` currently holds ghosts of (after the last tick). */
  ghostedOn(peer: string): ReadonlyMap<number, unknown> {
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
    owned: ReadonlyMap<number, Entity>,
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
      this.#bordered = this.#border.some((foreign) => foreign?.length > 0);
      this.#borderOf = owners;
    }
    this.#margin = margin;
    const every = options.refreshTicks ?? GHOST_REFRESH_TICKS;
    this.#refresh = (options.tick + (options.phase ?? 0)) % every === 0;
    this.#tick = options.tick;
    this.#versions = options.versions;
    this.#batches = batchFor;
    this.#lastPeer = "";
    this.#lastBatch = undefined;
    // Only entities in cells next to another worker's can be in the band: one lookup each.
    // Written by index and cut once (`length = 0` would drop the array's backing store, and
    // the pushes after it grow a new one every tick).
    const near = this.#near;
    const border = this.#border;
    let count = 0;
    if (this.#bordered) {
      for (const e of owned.values()) if (border[e.cell]?.length) near[count++] = e;
    }
    if (near.length !== count) near.length = count;
    this.collect(near, this.#interest, this.#batchFor, this.#update);
    this.#lastBatch = undefined;
    // Forget what was last sent of entities out of the band: after the diff, no peer holds them.
    const tick = options.tick;
    for (const [id, last] of this.#last) if (last[LAST_SEEN] !== tick) this.#last.delete(id);
    for (const peer of this.peers()) this.#known.add(peer);
    if (this.#refresh) { for (const peer of this.#known) batchFor(peer).full = true; }
  }

  /** Compares the entity with its last send and records it; once per entity per tick. */
  #classify(entity: Entity): number {
    const version = this.#versions!.of(entity, this.#tick + 0.5);
    let last = this.#last.get(entity.id);
    if (!last) this.#last.set(entity.id, last = new Float64Array(8).fill(NaN));
    last[LAST_SEEN] = this.#tick;
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

/** Counters of what {@linkcode GhostTable.apply} did, for metrics and tests. */
export interface GhostApplyStats {
  created: number;
  updated: number;
  deleted: number;
  ignored: number;
}

/** What the ghost table remembers of one ghost besides its record. */
interface GhostMark {
  /** Tick of the batch that last wrote it, to ignore stale writes from a former owner. */
  writtenAt: number;
  /**
   * Kept after a handoff until its new owner wrote it (or this tick passed): a refresh from
   * that owner sent before it adopted it does not list it yet. -1: not kept.
   */
  keptUntil: number;
}

/** A write from a worker that no longer owns the ghost: older than the last write. */
function stale(ghost: Entity, mark: GhostMark, batch: Batch): boolean {
  return ghost.owner !== batch.from && batch.tick < mark.writtenAt;
}

/**
 * The receiving side: read-only copies of other workers' entities near this worker's cells,
 * kept in the worker's spatial index so game queries see them.
 */
export class GhostTable {
  readonly ghosts = new Map<number, Entity>();
  #index: EntityIndex;
  /** Per ghost: when it was last written and how long it is kept after a handoff (one lookup). */
  #marks = new Map<number, GhostMark>();

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
      const mark = ghost && this.#marks.get(id);
      // A move needs the ghost's type and data already here; the next refresh brings them.
      if (!ghost || !mark || ownsHere(id) || stale(ghost, mark, batch)) {
        stats.ignored++;
        continue;
      }
      applyMove(ghost, moves, i);
      ghost.owner = from;
      ghost.cell = grid.cellOf(ghost.x, ghost.y, ghost.z);
      mark.writtenAt = batch.tick;
      mark.keptUntil = -1;
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
      // was lost) is gone. Those written later stay, and so do those kept after a handoff to
      // the sender for KEPT_GHOST_TICKS: it sent this before adopting them (a late worker).
      for (const [id, ghost] of this.ghosts) {
        const mark = this.#marks.get(id);
        if (
          ghost.owner === from && (mark?.writtenAt ?? 0) < batch.tick &&
          (mark?.keptUntil ?? -1) < batch.tick
        ) {
          this.remove(id);
          stats.deleted++;
        }
      }
    }
    return stats;
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
      let mark = ghost && this.#marks.get(state.id);
      if (ghost && mark && stale(ghost, mark, batch)) {
        stats.ignored++;
        continue;
      }
      if (!ghost) {
        ghost = recordOf(state, from);
        this.ghosts.set(state.id, ghost);
        stats.created++;
      } else {
        stats.updated++;
      }
      if (!mark) this.#marks.set(state.id, mark = { writtenAt: 0, keptUntil: -1 });
      assignState(ghost, state);
      ghost.owner = from;
      ghost.cell = grid.cellOf(state.x, state.y, state.z);
      mark.writtenAt = batch.tick;
      mark.keptUntil = -1;
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
    this.#marks.set(entity.id, { writtenAt: tick, keptUntil: tick + KEPT_GHOST_TICKS });
    this.#index.upsert(entity);
  }

  /** Drops a ghost (its entity became owned here, or its owner went away). */
  remove(id: number): void {
    if (!this.ghosts.delete(id)) return;
    this.#marks.delete(id);
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
