// The partition map: which worker owns each cell and which worker mirrors each owner (its
// backup), versioned by an epoch, and the initial split of the world into contiguous regions.
import type { Grid } from "./grid.ts";

/** What a map says besides the owners: backups and the workers declared down (fenced). */
export interface MapRoles {
  /** Backup of each owner: the worker that mirrors its owned state. */
  backups?: ReadonlyMap<string, string>;
  /** Workers declared down: their batches are refused, their cells belong to others. */
  down?: ReadonlySet<string>;
}

const NO_BACKUPS: ReadonlyMap<string, string> = new Map();
const NO_ONE: ReadonlySet<string> = new Set();

/** Owner of every cell ("" = unassigned) at one epoch. Immutable once built. */
export class PartitionMap {
  readonly epoch: number;
  readonly owners: readonly string[];
  readonly backups: ReadonlyMap<string, string>;
  readonly down: ReadonlySet<string>;

  constructor(epoch: number, owners: readonly string[], roles: MapRoles = {}) {
    this.epoch = epoch;
    this.owners = owners;
    this.backups = roles.backups ?? NO_BACKUPS;
    this.down = roles.down ?? NO_ONE;
  }

  /** The worker mirroring `owner`'s state, or "" when it has none. */
  backupOf(owner: string): string {
    return this.backups.get(owner) ?? "";
  }

  /** Owners `worker` is the backup of. */
  mirroredBy(worker: string): string[] {
    const owners: string[] = [];
    for (const [owner, backup] of this.backups) if (backup === worker) owners.push(owner);
    return owners;
  }

  /** An unassigned map of `cellCount` cells at `epoch` (0 before any split). */
  static empty(cellCount: number, epoch = 0): PartitionMap {
    return new PartitionMap(epoch, new Array<string>(cellCount).fill(""));
  }

  /** Owner of a cell, or "" when unassigned or out of range. */
  ownerOf(cell: number): string {
    return this.owners[cell] ?? "";
  }

  /** Cells owned by `worker`, ascending. */
  cellsOf(worker: string): number[] {
    const cells: number[] = [];
    for (let c = 0; c < this.owners.length; c++) if (this.owners[c] === worker) cells.push(c);
    return cells;
  }

  /** Number of cells per owner (unassigned cells are not counted). */
  cellCounts(): Map<string, number> {
    const counts = new Map<string, number>();
    for (const owner of this.owners) {
      if (owner) counts.set(owner, (counts.get(owner) ?? 0) + 1);
    }
    return counts;
  }

  /** A new map at epoch + 1 with the given owners (and roles; default: these). */
  next(owners: readonly string[], roles: MapRoles = {}): PartitionMap {
    if (owners.length !== this.owners.length) {
      throw new RangeError(
        `Cannot build the next map: ${owners.length} owners for ${this.owners.length} cells`,
      );
    }
    return new PartitionMap(this.epoch + 1, owners, {
      backups: roles.backups ?? this.backups,
      down: roles.down ?? this.down,
    });
  }
}

/**
 * Splits the world into one contiguous region per worker, in the given worker order: cells are
 * walked in serpentine order (consecutive cells are face-adjacent) and cut into runs whose
 * sizes differ by at most one cell.
 *
 * @example
 * ```ts
 * import { Grid } from "./grid.ts";
 * import { assignRegions } from "./partition.ts";
 * const owners = assignRegions(new Grid({ dims: 2, size: [400, 100], cellSize: 100 }), ["a", "b"]);
 * if (owners.join() !== "a,a,b,b") throw new Error(owners.join());
 * ```
 */
export function assignRegions(grid: Grid, workerIds: readonly string[]): string[] {
  if (workerIds.length === 0) throw new RangeError("Cannot assign regions: no workers");
  const order = grid.serpentineOrder();
  const owners = new Array<string>(grid.cellCount).fill("");
  const k = workerIds.length;
  const base = Math.floor(order.length / k);
  const extra = order.length % k;
  let at = 0;
  for (let w = 0; w < k; w++) {
    const run = base + (w < extra ? 1 : 0);
    for (let n = 0; n < run; n++) owners[order[at++]] = workerIds[w];
  }
  return owners;
}
