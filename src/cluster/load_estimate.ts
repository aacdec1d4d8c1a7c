// The load estimate, the one code path for it: load of a cell = a·entities + b·players +
// c·interactions/s, summed per worker over the cells it owns.
import type { LoadWeights } from "../config/config.ts";

/** What a worker reports for one cell. */
export interface CellReport {
  cell: number;
  entities: number;
  players: number;
  /** Interactions applied per second. */
  interactions: number;
}

/** Load of one cell under the given weights. */
export function cellLoad(report: CellReport, weights: LoadWeights): number {
  return weights.entities * report.entities + weights.players * report.players +
    weights.interactions * report.interactions;
}

/**
 * Load per cell from the workers' latest reports (cells outside the map are ignored).
 *
 * @example
 * ```ts
 * import { loadPerCell } from "./load_estimate.ts";
 * const loads = loadPerCell([[{ cell: 1, entities: 3, players: 1, interactions: 2 }]], 2, {
 *   entities: 1,
 *   players: 10,
 *   interactions: 0.5,
 * });
 * if (loads[1] !== 14) throw new Error(String(loads[1]));
 * ```
 */
export function loadPerCell(
  reports: Iterable<readonly CellReport[]>,
  cellCount: number,
  weights: LoadWeights,
): Float64Array {
  const loads = new Float64Array(cellCount);
  for (const cells of reports) {
    for (const report of cells) {
      if (report.cell >= 0 && report.cell < cellCount) {
        loads[report.cell] += cellLoad(report, weights);
      }
    }
  }
  return loads;
}

/** Load per worker: the sum over the cells it owns (workers without cells get 0). */
export function workerLoads(
  owners: readonly string[],
  cellLoads: ArrayLike<number>,
  workers: Iterable<string>,
): Map<string, number> {
  const loads = new Map<string, number>();
  for (const worker of workers) loads.set(worker, 0);
  for (let cell = 0; cell < owners.length; cell++) {
    const owner = owners[cell];
    if (loads.has(owner)) loads.set(owner, loads.get(owner)! + (cellLoads[cell] ?? 0));
  }
  return loads;
}
