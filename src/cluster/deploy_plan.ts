// The pure step of a deploy: which cells of old-version workers move to which new-version
// workers next. No clocks or sockets here: src/cluster/deploys.ts calls it with the map, the
// loads and its rate budget, and applies the moves through the registry's live migration.
import type { Grid } from "../world/grid.ts";
import type { Move } from "./balance_plan.ts";
import { workerLoads } from "./load_estimate.ts";

/** Inputs of {@linkcode planDeployMoves}. */
export interface DeployPlanInput {
  grid: Grid;
  owners: readonly string[];
  cellLoads: ArrayLike<number>;
  /** Workers of the version the world moves to: they take cells. */
  targets: readonly string[];
  /** Cells already moving: they are left alone. */
  moving: ReadonlySet<number>;
  /** At most this many moves. */
  count: number;
}

/**
 * Up to `count` moves of cells not owned by a target to the targets. Cells next to a target's
 * region go first and go to that neighbour (the least loaded one when several), so the new
 * version's regions grow as connected pieces and ghosts cross few version boundaries; a cell
 * next to no target goes to the least loaded target.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { Grid } from "../world/grid.ts";
 * const grid = new Grid({ size: [300, 100], cellSize: 100 });
 * const moves = planDeployMoves({
 *   grid, owners: ["a", "a", "b"], cellLoads: [1, 1, 1], targets: ["b"], moving: new Set(), count: 1,
 * });
 * assert.deepEqual(moves, [{ cell: 1, from: "a", to: "b" }]);
 * ```
 */
export function planDeployMoves(input: DeployPlanInput): Move[] {
  const { grid, cellLoads, targets, moving } = input;
  if (targets.length === 0 || input.count <= 0) return [];
  const owners = [...input.owners];
  const isTarget = new Set(targets);
  const loads = workerLoads(owners, cellLoads, targets);
  const moves: Move[] = [];
  const least = (candidates: Iterable<string>) =>
    [...candidates].sort((p, q) => loads.get(p)! - loads.get(q)! || (p < q ? -1 : 1))[0];
  while (moves.length < input.count) {
    let best: { cell: number; to: string } | undefined;
    for (let cell = 0; cell < owners.length; cell++) {
      if (isTarget.has(owners[cell]) || moving.has(cell) || owners[cell] === "") continue;
      const around = new Set(
        grid.faceNeighbours(cell).map((n) => owners[n]).filter((o) => isTarget.has(o)),
      );
      if (around.size > 0) {
        best = { cell, to: least(around) };
        break;
      }
      best ??= { cell, to: least(targets) };
    }
    if (!best) break;
    moves.push({ cell: best.cell, from: owners[best.cell], to: best.to });
    owners[best.cell] = best.to;
    loads.set(best.to, loads.get(best.to)! + (cellLoads[best.cell] ?? 0));
  }
  return moves;
}
