// Pure decisions about moving cells between workers: rebalancing the hottest worker into a
// cooler neighbour, draining a worker, claiming a spare. No clocks or sockets here: the
// registry calls these with the current map and loads and applies what they return.
import type { Grid } from "../world/grid.ts";
import { workerLoads } from "./load_estimate.ts";

/** One cell to move. */
export interface Move {
  cell: number;
  from: string;
  to: string;
}

/** Inputs of {@linkcode planRebalance}. */
export interface RebalanceInput {
  grid: Grid;
  owners: readonly string[];
  cellLoads: ArrayLike<number>;
  /** Workers that may give or take cells. */
  active: readonly string[];
  /** Workers with a migration in flight or in their cooldown: they neither give nor take. */
  busy: ReadonlySet<string>;
  /** Act only when max load > ratio × min load... */
  ratio: number;
  /** ...and max load ≥ minLoad. */
  minLoad: number;
}

/** True when the most loaded active worker exceeds the least loaded by more than `ratio`. */
export function isImbalanced(input: Omit<RebalanceInput, "grid" | "busy">): boolean {
  const loads = [...workerLoads(input.owners, input.cellLoads, input.active).values()];
  if (loads.length < 2) return false;
  const max = Math.max(...loads), min = Math.min(...loads);
  return max >= input.minLoad && max > input.ratio * min;
}

/**
 * The next cell to move from the hottest worker to its coolest adjacent worker, or undefined.
 * A move is made only if it strictly lowers the larger of the two loads (the receiver ends
 * below where the giver started), so with steady loads the sum of squared worker loads falls
 * with every move and moves cannot oscillate. Cells whose removal keeps the giver's region in
 * one piece are preferred.
 */
export function planRebalance(input: RebalanceInput): Move | undefined {
  const { grid, owners, cellLoads, busy } = input;
  if (!isImbalanced(input)) return undefined;
  const loads = workerLoads(owners, cellLoads, input.active);
  const hottest = [...loads].sort((p, q) => q[1] - p[1] || (p[0] < q[0] ? -1 : 1))[0][0];
  if (busy.has(hottest)) return undefined;
  const giverLoad = loads.get(hottest)!;
  const targets = [...adjacentOwners(grid, owners, hottest)]
    .filter((w) => loads.has(w) && !busy.has(w) && loads.get(w)! < giverLoad)
    .sort((p, q) => loads.get(p)! - loads.get(q)! || (p < q ? -1 : 1));
  for (const to of targets) {
    const takerLoad = loads.get(to)!;
    const ideal = (giverLoad - takerLoad) / 2;
    let best: { cell: number; score: number } | undefined;
    for (const cell of borderCells(grid, owners, hottest, to)) {
      const load = cellLoads[cell] ?? 0;
      if (load <= 0 || takerLoad + load >= giverLoad) continue;
      // Closest to halving the gap, and a big penalty for splitting the giver's region.
      const score = Math.abs(load - ideal) +
        (staysConnected(grid, owners, hottest, cell) ? 0 : giverLoad);
      if (!best || score < best.score || (score === best.score && cell < best.cell)) {
        best = { cell, score };
      }
    }
    if (best) return { cell: best.cell, from: hottest, to };
  }
  return undefined;
}

/**
 * Moves for every cell of `worker` to the other `targets`, each cell to an adjacent target
 * (the least loaded so far), growing the targets' regions into the drained one. Returns
 * undefined when there is no target.
 */
export function planDrain(
  grid: Grid,
  owners: readonly string[],
  cellLoads: ArrayLike<number>,
  worker: string,
  targets: readonly string[],
): Move[] | undefined {
  const others = targets.filter((t) => t !== worker);
  if (others.length === 0) return undefined;
  const next = [...owners];
  const loads = workerLoads(owners, cellLoads, others);
  let remaining = owners.flatMap((o, cell) => (o === worker ? [cell] : []));
  const moves: Move[] = [];
  while (remaining.length > 0) {
    const left: number[] = [];
    for (const cell of remaining) {
      const around = grid.faceNeighbours(cell).map((n) => next[n]).filter((o) => loads.has(o));
      if (around.length === 0) {
        left.push(cell);
        continue;
      }
      const to = around.sort((p, q) => loads.get(p)! - loads.get(q)! || (p < q ? -1 : 1))[0];
      next[cell] = to;
      loads.set(to, loads.get(to)! + (cellLoads[cell] ?? 0));
      moves.push({ cell, from: worker, to });
    }
    if (left.length === remaining.length) {
      // Not adjacent to anyone (the targets own nothing yet): give the rest to the least loaded.
      for (const cell of left) {
        const to = [...loads].sort((p, q) => p[1] - q[1] || (p[0] < q[0] ? -1 : 1))[0][0];
        next[cell] = to;
        loads.set(to, loads.get(to)! + (cellLoads[cell] ?? 0));
        moves.push({ cell, from: worker, to });
      }
      break;
    }
    remaining = left;
  }
  return moves;
}

/**
 * The cell a spare worker should take from `from` when it is claimed: the most loaded cell
 * whose removal keeps `from`'s region in one piece and leaves `from` some load.
 */
export function planClaim(
  grid: Grid,
  owners: readonly string[],
  cellLoads: ArrayLike<number>,
  from: string,
  spare: string,
): Move | undefined {
  const cells = owners.flatMap((o, cell) => (o === from ? [cell] : []));
  if (cells.length < 2) return undefined;
  const total = cells.reduce((sum, c) => sum + (cellLoads[c] ?? 0), 0);
  const candidates = cells
    .filter((c) => (cellLoads[c] ?? 0) < total && staysConnected(grid, owners, from, c))
    .sort((p, q) => (cellLoads[q] ?? 0) - (cellLoads[p] ?? 0) || p - q);
  const cell = candidates[0] ?? cells[cells.length - 1];
  return { cell, from, to: spare };
}

/** Workers owning a cell face-adjacent to one of `worker`'s cells. */
export function adjacentOwners(grid: Grid, owners: readonly string[], worker: string): Set<string> {
  const out = new Set<string>();
  for (let cell = 0; cell < owners.length; cell++) {
    if (owners[cell] !== worker) continue;
    for (const n of grid.faceNeighbours(cell)) {
      if (owners[n] && owners[n] !== worker) out.add(owners[n]);
    }
  }
  return out;
}

/** Cells of `from` face-adjacent to a cell of `to`. */
export function borderCells(
  grid: Grid,
  owners: readonly string[],
  from: string,
  to: string,
): number[] {
  const cells: number[] = [];
  for (let cell = 0; cell < owners.length; cell++) {
    if (owners[cell] === from && grid.faceNeighbours(cell).some((n) => owners[n] === to)) {
      cells.push(cell);
    }
  }
  return cells;
}

/** True when `worker`'s cells other than `without` still form one face-connected region. */
export function staysConnected(
  grid: Grid,
  owners: readonly string[],
  worker: string,
  without: number,
): boolean {
  const cells = owners.flatMap((o, cell) => (o === worker && cell !== without ? [cell] : []));
  if (cells.length <= 1) return true;
  const set = new Set(cells);
  const seen = new Set([cells[0]]);
  const stack = [cells[0]];
  while (stack.length > 0) {
    for (const n of grid.faceNeighbours(stack.pop()!)) {
      if (set.has(n) && !seen.has(n)) {
        seen.add(n);
        stack.push(n);
      }
    }
  }
  return seen.size === set.size;
}
