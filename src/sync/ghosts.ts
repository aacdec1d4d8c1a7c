// Proxy (ghost) synchronization, the one code path for it: which owned entities sit in the
// border band of another worker's cells, the per-peer create/update/delete diff each tick, and
// applying a peer's batch to the table of read-only ghosts.
import type { Batch, EntityState } from "./batch_codec.ts";
import { assignState, type Entity, makeEntity } from "../world/entity.ts";
import type { Grid } from "../world/grid.ts";
import type { EntityIndex } from "../world/spatial_index.ts";

/**
 * Adds to `out` every owner other than `self` of a cell within `margin` of the point: the
 * workers that must hold a ghost of an entity standing there. Allocates nothing.
 */
export function ownersInBand(
  grid: Grid,
  owners: readonly string[],
  self: string,
  point: { x: number; y: number; z: number; cell: number },
  margin: number,
  out: Set<string>,
): Set<string> {
  out.clear();
  // Fast path: deep inside its cell, no other cell is within reach.
  if (grid.distanceToCellBorder(point.cell, point.x, point.y, point.z) > margin) return out;
  bandScratch.owners = owners;
  bandScratch.self = self;
  bandScratch.out = out;
  grid.forEachCellWithin(point.x, point.y, point.z, margin, addForeignOwner);
  return out;
}

const bandScratch = { owners: [] as readonly string[], self: "", out: new Set<string>() };
function addForeignOwner(cell: number): void {
  const owner = bandScratch.owners[cell];
  if (owner && owner !== bandScratch.self) bandScratch.out.add(owner);
}

/** The op lists a diff writes for one peer (a batch's ghost ops, or its replica ops). */
export interface DiffTarget {
  creates: EntityState[];
  updates: EntityState[];
  deletes: number[];
}

/**
 * The sending side of every interest-driven copy: remembers which entities each peer holds a
 * copy of, and each tick fills that peer's op lists with creates (newly of interest), updates
 * (still of interest) and deletes (no longer). Ghosts use it with interest = the border band;
 * replication uses it with interest = everything owned, for the backup.
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
   * Asks `interest` which peers each owned entity concerns and appends ops to their lists.
   * `updates: false` sends only creates and deletes this tick (a replica between two
   * replication ticks); `changed`, when given, picks which held entities get an update.
   */
  collect(
    owned: Iterable<Entity>,
    interest: (entity: Entity, out: Set<string>) => void,
    targetFor: (peer: string) => DiffTarget,
    options: { updates?: boolean; changed?: (entity: Entity) => boolean } = {},
  ): void {
    const updates = options.updates ?? true;
    const changed = options.changed;
    const peers = this.#peers;
    for (const next of this.#next.values()) next.clear();
    for (const entity of owned) {
      peers.clear();
      interest(entity, peers);
      for (const peer of peers) {
        let next = this.#next.get(peer);
        if (!next) this.#next.set(peer, next = new Set());
        next.add(entity.id);
        if (!this.#sent.get(peer)?.has(entity.id)) targetFor(peer).creates.push(entity);
        else if (updates && (!changed || changed(entity))) targetFor(peer).updates.push(entity);
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

/**
 * Ghost sync's sender: {@linkcode InterestDiff} with interest = the owners of the cells within
 * the ghost margin of an entity.
 */
export class GhostSender extends InterestDiff {
  #borderOf?: readonly string[];
  #border: Uint8Array = new Uint8Array(0);
  #band = {
    grid: undefined as Grid | undefined,
    owners: [] as readonly string[],
    self: "",
    margin: 0,
  };
  #interest = (entity: Entity, out: Set<string>) => {
    // Most entities live in cells with no foreign neighbour: nothing to check.
    if (this.#border[entity.cell] === 0) return;
    const band = this.#band;
    ownersInBand(band.grid!, band.owners, band.self, entity, band.margin, out);
  };

  /** Entity ids `peer` currently holds ghosts of (after the last tick). */
  ghostedOn(peer: string): ReadonlySet<number> {
    return this.heldBy(peer);
  }

  /** The entity moved to `newOwner`: its ghost there becomes the real one, so no delete is sent. */
  handedOff(id: number, newOwner: string): void {
    this.forgetEntity(id, newOwner);
  }

  /** The entity just arrived from `peer`, which kept it as a ghost: diff against that next tick. */
  assumeGhosted(id: number, peer: string): void {
    this.assumeHeld(id, peer);
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
  ): void {
    if (this.#borderOf !== owners) {
      this.#border = borderFlags(grid, owners, self);
      this.#borderOf = owners;
    }
    const band = this.#band;
    band.grid = grid;
    band.owners = owners;
    band.self = self;
    band.margin = margin;
    this.collect(owned, this.#interest, batchFor);
  }
}

const EMPTY: ReadonlySet<number> = new Set();

/**
 * 1 for each cell with a neighbour owned by another worker, per map (cached by the owners
 * array). The band is narrower than a cell, so only neighbours can be within it.
 */
function borderFlags(grid: Grid, owners: readonly string[], self: string): Uint8Array {
  const flags = new Uint8Array(owners.length);
  for (let cell = 0; cell < owners.length; cell++) {
    if (owners[cell] !== self) continue;
    for (const n of grid.neighbours(cell)) {
      if (owners[n] && owners[n] !== self) {
        flags[cell] = 1;
        break;
      }
    }
  }
  return flags;
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
    for (const list of [batch.creates, batch.updates]) {
      for (const state of list) {
        if (ownsHere(state.id)) {
          stats.ignored++;
          continue;
        }
        let ghost = this.ghosts.get(state.id);
        if (ghost && ghost.owner !== from && batch.tick < (this.#writtenAt.get(state.id) ?? 0)) {
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
    for (const id of batch.deletes) {
      const ghost = this.ghosts.get(id);
      if (!ghost || ghost.owner !== from) {
        stats.ignored++;
        continue;
      }
      this.remove(id);
      stats.deleted++;
    }
    return stats;
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
