import assert from "node:assert/strict";
import fc from "fast-check";
import { Grid } from "../../src/world/grid.ts";
import { assignRegions, PartitionMap } from "../../src/world/partition.ts";

function connected(grid: Grid, cells: number[]): boolean {
  const set = new Set(cells);
  const seen = new Set([cells[0]]);
  const stack = [cells[0]];
  while (stack.length) {
    for (const n of grid.faceNeighbours(stack.pop()!)) {
      if (set.has(n) && !seen.has(n)) (seen.add(n), stack.push(n));
    }
  }
  return seen.size === set.size;
}

Deno.test("initial regions are contiguous, cover every cell and differ in size by at most one", () => {
  fc.assert(
    fc.property(
      fc.constantFrom(2, 3),
      fc.integer({ min: 1, max: 9 }),
      fc.integer({ min: 1, max: 9 }),
      fc.integer({ min: 1, max: 4 }),
      fc.integer({ min: 1, max: 12 }),
      (dims, nx, ny, nz, k) => {
        const size = dims === 2 ? [nx * 10, ny * 10] : [nx * 10, ny * 10, nz * 10];
        const grid = new Grid({ dims: dims as 2 | 3, size, cellSize: 10 });
        const ids = Array.from({ length: Math.min(k, grid.cellCount) }, (_, n) => `w${n}`);
        const owners = assignRegions(grid, ids);
        assert.ok(owners.every((o) => ids.includes(o)));
        const map = new PartitionMap(1, owners);
        const sizes = ids.map((id) => map.cellsOf(id).length);
        assert.ok(Math.max(...sizes) - Math.min(...sizes) <= 1);
        for (const id of ids) assert.ok(connected(grid, map.cellsOf(id)), `${id} contiguous`);
      },
    ),
    { numRuns: 200 },
  );
});

Deno.test("a partition map moves to the next epoch only with the same number of cells", () => {
  const map = PartitionMap.empty(4);
  assert.equal(map.epoch, 0);
  const next = map.next(["a", "a", "b", "b"]);
  assert.equal(next.epoch, 1);
  assert.deepEqual(next.cellsOf("b"), [2, 3]);
  assert.deepEqual([...next.cellCounts()], [["a", 2], ["b", 2]]);
  assert.throws(() => next.next(["a"]), RangeError);
  assert.equal(next.ownerOf(99), "");
});
