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
 * Up to `count` moves of cells not owned by a target to the targets. Each move goes to the
 * least loaded target (fewest cells on a tie), which takes a cell next to its region when one
 * is left, so the new version's workers fill up evenly and their regions grow as connected
 * pieces (few ghosts across version boundaries); a target with no region yet takes the first
 * cell it can.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { Grid } from "../world/grid.ts";
 * const grid = new Grid({ dims: 2, size: [300, 100], cellSize: 100 });
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
  const cells = new Map(targets.map((t) => [t, owners.filter((o) => o === t).length]));
  const moves: Move[] = [];
  while (moves.length < input.count) {
    const to = [...targets].sort((p, q) =>
      loads.get(p)! - loads.get(q)! || cells.get(p)! - cells.get(q)! || (p < q ? -1 : 1)
    )[0];
    let pick: number | undefined;
    for (let cell = 0; cell < owners.length; cell++) {
      if (isTarget.has(owners[cell]) || moving.has(cell) || owners[cell] === "") {
        continue;
      }
      if (
        grid.faceNeighbours(cell).some((n) =>
          owners[n] === to
        )
      ) {
        pick = cell;
        break;
      }
      pick ??= cell;
    }
    if (pick === undefined) break;
    moves.push({ cell: pick, from: owners[pick], to });
    owners[pick] = to;
    loads.set(to, loads.get(to)! + (cellLoads[pick] ?? 0));
    cells.set(to, cells.get(to)! + 1);
  }
  return moves;
}
