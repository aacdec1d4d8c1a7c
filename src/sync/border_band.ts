// The geometry of the ghost border band, pure functions GhostSender (src/sync/ghosts.ts) runs once
// per partition map: for each owned cell, its neighbours owned by another worker, and the box of
// points too far from them to be in the band.
import type { Grid } from "../world/grid.ts";

/** A neighbour cell owned by another worker: its owner and box (min, max per axis; z 0 in 2D). */
export interface Foreign {
  owner: string;
  box: Float64Array;
}

/**
 * For each cell owned by `self`, its neighbours owned by another worker (per map, cached by
 * the owners array). The band is narrower than a cell, so only neighbours can be within it,
 * and only the edges that face another worker are ever checked.
 */
export function foreignNeighbours(
  grid: Grid,
  owners: readonly string[],
  self: string,
): Foreign[][] {
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
export function safeBox(grid: Grid, cell: number, foreign: readonly Foreign[], margin: number) {
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
