// The partition map: which worker owns each cell, versioned by an epoch, and the initial
// split of the world into contiguous regions.
import type { Grid } from "./grid.ts";

/** Owner of every cell ("" = unassigned) at one epoch. Immutable once built. */
export class PartitionMap {
  readonly epoch: number;
  readonly owners: readonly string[];

  constructor(epoch: number, owners: readonly string[]) {
    this.epoch = epoch;
    this.owners = owners;
  }

  /** An unassigned map of `cellCount` cells at epoch 0. */
  static empty(cellCount: number): PartitionMap {
    return new PartitionMap(0, new Array<string>(cellCount).fill(""));
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

  /** A new map at epoch + 1 with the given owners. */
  next(owners: readonly string[]): PartitionMap {
    if (owners.length !== this.owners.length) {
      throw new RangeError(
        `Cannot build the next map: ${owners.length} owners for ${this.owners.length} cells`,
      );
    }
    return new PartitionMap(this.epoch + 1, owners);
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
