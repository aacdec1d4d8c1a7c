import assert from "node:assert/strict";
import fc from "fast-check";
import { type Dims, Grid, MAX_CELLS } from "../../src/world/grid.ts";

type Point = [number, number, number];

/** Small random grids (brute-force friendly) with a partial top cell on each axis. */
function gridArb(dims: Dims): fc.Arbitrary<Grid> {
  const count = fc.integer({ min: 1, max: dims === 2 ? 8 : 5 });
  const partial = fc.double({ min: 0.05, max: 1, noNaN: true });
  return fc.record({
    counts: fc.tuple(count, count, count),
    partials: fc.tuple(partial, partial, partial),
    cellSize: fc.double({ min: 0.25, max: 50, noNaN: true }),
  }).map(({ counts, partials, cellSize }) =>
    new Grid({
      dims,
      size: counts.slice(0, dims).map((n, i) => (n - 1 + partials[i]) * cellSize),
      cellSize,
    })
  );
}

/** Points spanning `[lo, hi)` times the world size on each axis; z is 0 in 2D. */
function pointArb(grid: Grid, lo: number, hi: number): fc.Arbitrary<Point> {
  const axis = (i: number) =>
    i < grid.dims
      ? fc.double({
        min: lo * grid.size[i],
        max: hi * grid.size[i],
        maxExcluded: true,
        noNaN: true,
      })
      : fc.constant(0);
  return fc.tuple(axis(0), axis(1), axis(2));
}

const inWorld = (grid: Grid) => pointArb(grid, 0, 1);
const nearWorld = (grid: Grid) => pointArb(grid, -0.5, 1.5);

function gridAndPoint(
  dims: Dims,
  points: (grid: Grid) => fc.Arbitrary<Point>,
): fc.Arbitrary<[Grid, Point]> {
  return gridArb(dims).chain((grid) => fc.tuple(fc.constant(grid), points(grid)));
}

const allIds = (grid: Grid) => Array.from({ length: grid.cellCount }, (_, id) => id);

/** Reference distance: clamp the point into the cell box, then measure the offset. */
function bruteDistance(grid: Grid, id: number, p: Point): number {
  const offsets = p.slice(0, grid.dims).map((v, axis) =>
    v - Math.min(Math.max(v, grid.cellMin(id, axis)), grid.cellMax(id, axis))
  );
  return Math.hypot(...offsets);
}

function bruteCellsWithin(grid: Grid, p: Point, radius: number): number[] {
  const own = grid.cellOf(...p);
  return allIds(grid).filter((id) => id === own || grid.distanceToCell(id, ...p) <= radius);
}

function previousDouble(v: number): number {
  const view = new DataView(new ArrayBuffer(8));
  view.setFloat64(0, v);
  view.setBigUint64(0, view.getBigUint64(0) - 1n);
  return view.getFloat64(0);
}

const isAscending = (ids: number[]) => ids.every((id, i) => i === 0 || ids[i - 1] < id);

const small2d = new Grid({ dims: 2, size: [50, 30], cellSize: 10 });
const small3d = new Grid({ dims: 3, size: [40, 30, 25], cellSize: 10 });

for (const grid of [small2d, small3d]) {
  Deno.test(`cellId and cellCoords round-trip every id of a ${grid.dims}D grid`, () => {
    const [nx, ny, nz] = grid.counts;
    const seen = new Set<number>();
    const out = [9, 9, 9];
    for (let cz = 0; cz < nz; cz++) {
      for (let cy = 0; cy < ny; cy++) {
        for (let cx = 0; cx < nx; cx++) {
          const id = grid.dims === 3 ? grid.cellId(cx, cy, cz) : grid.cellId(cx, cy);
          assert.ok(Number.isInteger(id) && id >= 0 && id < grid.cellCount);
          assert.equal(id, cx + cy * nx + cz * nx * ny);
          assert.ok(!seen.has(id), `id ${id} is unique`);
          seen.add(id);
          assert.deepEqual(grid.cellCoords(id), [cx, cy, cz]);
          assert.equal(grid.cellCoords(id, out), out);
          assert.deepEqual(out, [cx, cy, cz]);
        }
      }
    }
    assert.equal(seen.size, grid.cellCount);
  });

  Deno.test(`a cell's max equals the next cell's min on every axis of a ${grid.dims}D grid`, () => {
    for (const id of allIds(grid)) {
      const coords = grid.cellCoords(id);
      for (let axis = 0; axis < grid.dims; axis++) {
        assert.equal(grid.cellMin(id, axis), coords[axis] * grid.cellSize);
        if (coords[axis] === grid.counts[axis] - 1) {
          assert.equal(grid.cellMax(id, axis), grid.size[axis]);
        } else {
          const next = [...coords];
          next[axis]++;
          assert.equal(
            grid.cellMax(id, axis),
            grid.cellMin(grid.cellId(next[0], next[1], next[2]), axis),
          );
        }
      }
    }
  });
}

Deno.test("counts are ceil(size / cellSize) and top cells are clipped to the world", () => {
  assert.deepEqual(small2d.counts, [5, 3, 1]);
  assert.equal(small2d.cellCount, 15);
  assert.deepEqual(small3d.counts, [4, 3, 3]);
  assert.equal(small3d.cellCount, 36);
  assert.equal(small3d.cellMin(small3d.cellId(3, 2, 2), 2), 20);
  assert.equal(small3d.cellMax(small3d.cellId(3, 2, 2), 2), 25);
  const tenths = new Grid({ dims: 2, size: [0.3, 0.7], cellSize: 0.1 });
  assert.deepEqual(tenths.counts, [3, 7, 1]);
});

Deno.test("counts never leave an empty top cell when float division rounds up", () => {
  // 0.30000000000000004 / 0.1 is 3.0000000000000004, yet 3 * 0.1 already reaches the size.
  const grid = new Grid({ dims: 2, size: [3 * 0.1, 1], cellSize: 0.1 });
  assert.deepEqual(grid.counts, [3, 10, 1]);
  fc.assert(fc.property(gridArb(3), (g) => {
    for (let axis = 0; axis < 3; axis++) {
      const n = g.counts[axis];
      const extent = axis < g.dims ? g.size[axis] : g.cellSize;
      assert.ok((n - 1) * g.cellSize < extent && extent <= n * g.cellSize);
    }
  }));
});

Deno.test("cellId, cellCoords, cellMin and cellMax reject invalid input with RangeError", () => {
  assert.throws(() => small2d.cellId(-1, 0), RangeError);
  assert.throws(() => small2d.cellId(5, 0), RangeError);
  assert.throws(() => small2d.cellId(0, 3), RangeError);
  assert.throws(() => small2d.cellId(0.5, 0), RangeError);
  assert.throws(() => small2d.cellId(0, 0, 1), RangeError);
  assert.throws(() => small3d.cellId(0, 0, 3), RangeError);
  assert.throws(() => small3d.cellId(NaN, 0, 0), RangeError);
  for (const id of [-1, 15, 1.5, NaN, Infinity]) {
    assert.throws(() => small2d.cellCoords(id), RangeError);
    assert.throws(() => small2d.cellMin(id, 0), RangeError);
    assert.throws(() => small2d.neighbours(id), RangeError);
    assert.throws(() => small2d.distanceToCell(id, 1, 1), RangeError);
  }
  assert.throws(() => small2d.cellMin(0, 2), RangeError);
  assert.throws(() => small2d.cellMax(0, -1), RangeError);
  assert.throws(() => small3d.cellMax(0, 3), RangeError);
  assert.equal(small3d.cellMax(0, 2), 10);
});

for (const dims of [2, 3] as const) {
  Deno.test(`cellOf returns a cell whose box contains any in-world point in ${dims}D`, () => {
    fc.assert(fc.property(gridAndPoint(dims, inWorld), ([grid, p]) => {
      assert.ok(grid.contains(...p));
      const id = grid.cellOf(...p);
      for (let axis = 0; axis < dims; axis++) {
        assert.ok(grid.cellMin(id, axis) <= p[axis], `min on axis ${axis}`);
        assert.ok(p[axis] < grid.cellMax(id, axis), `max on axis ${axis}`);
      }
      assert.equal(grid.distanceToCell(id, ...p), 0);
    }));
  });

  Deno.test(`cellOf clamps points outside the world to the nearest edge cell in ${dims}D`, () => {
    fc.assert(fc.property(gridAndPoint(dims, nearWorld), ([grid, p]) => {
      const clamped: Point = [0, 0, 0];
      for (let axis = 0; axis < dims; axis++) clamped[axis] = grid.clampAxis(axis, p[axis]);
      assert.ok(grid.contains(...clamped));
      assert.equal(grid.cellOf(...p), grid.cellOf(...clamped));
    }));
  });

  Deno.test(`settle clamps a position in place and gives its cell, as clampAxis and cellOf do in ${dims}D`, () => {
    const far = (grid: Grid) => pointArb(grid, -2, 3);
    fc.assert(fc.property(gridAndPoint(dims, far), ([grid, p]) => {
      const point = { x: p[0], y: p[1], z: dims === 3 ? p[2] : 7 };
      const cell = grid.settle(point);
      const clamped = [0, 1, 2].map((axis) => axis < dims ? grid.clampAxis(axis, p[axis]) : 0);
      assert.deepEqual([point.x, point.y, point.z], clamped);
      assert.equal(cell, grid.cellOf(clamped[0], clamped[1], clamped[2]));
    }));
  });
}

Deno.test("cellOf maps far and infinite points to edge cells and rejects NaN", () => {
  assert.equal(small2d.cellOf(-5, -1e300), 0);
  assert.equal(small2d.cellOf(Infinity, 1e9), small2d.cellId(4, 2));
  assert.equal(small2d.cellOf(50, 15), small2d.cellId(4, 1));
  assert.equal(small3d.cellOf(-Infinity, 35, 1e12), small3d.cellId(0, 2, 2));
  assert.equal(small2d.cellOf(12, 25, NaN), small2d.cellId(1, 2), "z is ignored in 2D");
  assert.throws(() => small2d.cellOf(NaN, 1), RangeError);
  assert.throws(() => small2d.cellOf(1, NaN), RangeError);
  assert.throws(() => small3d.cellOf(1, 1, NaN), RangeError);
  assert.throws(() => small2d.settle({ x: NaN, y: 1, z: 0 }), /NaN on axis 0/);
  assert.throws(() => small3d.settle({ x: 1, y: 1, z: NaN }), /NaN on axis 2/);
  const top = { x: 50, y: -0, z: 0 };
  assert.equal(small2d.settle(top), small2d.cellId(4, 0));
  assert.ok(top.x < 50 && Object.is(top.y, 0), "the top folds below size, -0 into 0");
});

Deno.test("contains is true exactly on [0, size) of every axis and ignores z in 2D", () => {
  assert.ok(small2d.contains(0, 0));
  assert.ok(small2d.contains(-0, 29.999));
  assert.ok(small2d.contains(previousDouble(50), previousDouble(30)));
  assert.ok(small2d.contains(1, 1, -100));
  assert.ok(!small2d.contains(50, 1));
  assert.ok(!small2d.contains(1, 30));
  assert.ok(!small2d.contains(-1e-9, 1));
  assert.ok(!small2d.contains(NaN, 1));
  assert.ok(small3d.contains(39, 29, 24.5));
  assert.ok(!small3d.contains(1, 1, 25));
  assert.ok(!small3d.contains(1, 1, -1));
});

Deno.test("clampAxis maps into [0, size) with the largest double below size at the top", () => {
  assert.equal(small3d.clampAxis(2, 25), previousDouble(25));
  assert.equal(small3d.clampAxis(2, 1e9), previousDouble(25));
  assert.equal(small3d.clampAxis(0, -3), 0);
  assert.ok(Object.is(small3d.clampAxis(0, -0), 0));
  assert.equal(small3d.clampAxis(1, 12.5), 12.5);
  assert.equal(small3d.clampAxis(1, -Infinity), 0);
  assert.ok(small3d.contains(small3d.clampAxis(0, 40), 0, 0));
  assert.throws(() => small3d.clampAxis(0, NaN), RangeError);
  assert.throws(() => small2d.clampAxis(2, 1), RangeError);
  assert.throws(() => small2d.clampAxis(0.5, 1), RangeError);
});

for (
  const grid of [
    new Grid({ dims: 2, size: [4, 4], cellSize: 1 }),
    new Grid({ dims: 3, size: [4, 4, 4], cellSize: 1 }),
  ]
) {
  Deno.test(`neighbours are symmetric, exclude self and shrink at edges in ${grid.dims}D`, () => {
    const interiorCount = grid.dims === 2 ? 8 : 26;
    const cornerCount = grid.dims === 2 ? 3 : 7;
    const sets = allIds(grid).map((id) => new Set(grid.neighbours(id)));
    for (const id of allIds(grid)) {
      const list = grid.neighbours(id);
      assert.ok(!list.includes(id));
      assert.ok(isAscending(list));
      for (const other of list) assert.ok(sets[other].has(id), `${other} lists ${id}`);
      const coords = grid.cellCoords(id);
      let expected = 1;
      for (let axis = 0; axis < grid.dims; axis++) {
        const c = coords[axis];
        expected *= 1 + (c > 0 ? 1 : 0) + (c < grid.counts[axis] - 1 ? 1 : 0);
      }
      assert.equal(list.length, expected - 1);
      for (const other of list) {
        const o = grid.cellCoords(other);
        assert.ok(coords.every((c, axis) => Math.abs(c - o[axis]) <= 1));
      }
    }
    assert.equal(
      grid.neighbours(grid.dims === 2 ? grid.cellId(1, 2) : grid.cellId(1, 2, 1)).length,
      interiorCount,
    );
    assert.equal(grid.neighbours(0).length, cornerCount);
    assert.equal(grid.neighbours(grid.cellCount - 1).length, cornerCount);
  });

  Deno.test(`faceNeighbours are the neighbours one step along one axis in ${grid.dims}D`, () => {
    for (const id of allIds(grid)) {
      const faces = grid.faceNeighbours(id);
      const all = new Set(grid.neighbours(id));
      assert.ok(isAscending(faces));
      const coords = grid.cellCoords(id);
      const expected = grid.neighbours(id).filter((other) =>
        grid.cellCoords(other).reduce((sum, c, axis) => sum + Math.abs(c - coords[axis]), 0) === 1
      );
      assert.deepEqual(faces, expected);
      for (const other of faces) assert.ok(all.has(other));
    }
    const interior = grid.dims === 2 ? grid.cellId(1, 2) : grid.cellId(2, 1, 2);
    assert.equal(grid.faceNeighbours(interior).length, grid.dims === 2 ? 4 : 6);
    assert.equal(grid.faceNeighbours(0).length, grid.dims);
  });
}

Deno.test("a one-cell world has no neighbours", () => {
  const grid = new Grid({ dims: 3, size: [5, 5, 5], cellSize: 10 });
  assert.deepEqual(grid.neighbours(0), []);
  assert.deepEqual(grid.faceNeighbours(0), []);
});

for (const dims of [2, 3] as const) {
  Deno.test(`distanceToCell is exactly 0 for points inside the cell box in ${dims}D`, () => {
    fc.assert(fc.property(gridAndPoint(dims, inWorld), ([grid, p]) => {
      const id = grid.cellOf(...p);
      assert.ok(Object.is(grid.distanceToCell(id, ...p), 0));
      // The closed box also holds its max corner.
      const corner: Point = [0, 0, 0];
      for (let axis = 0; axis < dims; axis++) corner[axis] = grid.cellMax(id, axis);
      assert.equal(grid.distanceToCell(id, ...corner), 0);
    }));
  });

  Deno.test(`distanceToCell matches a brute-force clamp formula in ${dims}D`, () => {
    const arb = gridAndPoint(dims, nearWorld).chain(([grid, p]) =>
      fc.tuple(fc.constant(grid), fc.constant(p), fc.integer({ min: 0, max: grid.cellCount - 1 }))
    );
    fc.assert(fc.property(arb, ([grid, p, id]) => {
      const actual = grid.distanceToCell(id, ...p);
      const expected = bruteDistance(grid, id, p);
      assert.ok(
        Math.abs(actual - expected) <= 1e-12 * Math.max(1, expected),
        `${actual} vs ${expected}`,
      );
    }));
  });

  Deno.test(`cellsWithin matches a brute-force scan in ${dims}D`, () => {
    const arb = gridAndPoint(dims, nearWorld).chain(([grid, p]) =>
      fc.tuple(
        fc.constant(grid),
        fc.constant(p),
        fc.oneof(fc.double({ min: 0, max: 3 * grid.cellSize, noNaN: true }), fc.constant(Infinity)),
      )
    );
    fc.assert(fc.property(arb, ([grid, p, radius]) => {
      const cells = grid.cellsWithin(...p, radius);
      assert.deepEqual(cells, bruteCellsWithin(grid, p, radius));
      assert.ok(cells.includes(grid.cellOf(...p)));
      assert.ok(isAscending(cells));
      const visited: number[] = [];
      grid.forEachCellWithin(...p, radius, (id) => visited.push(id));
      assert.deepEqual(visited, cells);
    }));
  });
}

Deno.test("cellsWithin of an outside point holds only its clamped cell until the world is in reach", () => {
  assert.deepEqual(small2d.cellsWithin(-100, 5, 0, 50), [0]);
  assert.deepEqual(small2d.cellsWithin(-100, 5, 0, 100), [0]);
  assert.deepEqual(small2d.cellsWithin(-100, 5, 0, 100.5), [0, 5]);
  assert.deepEqual(small2d.cellsWithin(5, 5, 99, 0), [0], "z is ignored in 2D");
  assert.equal(small3d.cellsWithin(5, 5, 5, Infinity).length, small3d.cellCount);
  assert.throws(() => small2d.cellsWithin(1, 1, 0, -1), RangeError);
  assert.throws(() => small2d.cellsWithin(1, 1, 0, NaN), RangeError);
  assert.throws(() => small2d.cellsWithin(NaN, 1, 0, 1), RangeError);
});

for (const dims of [2, 3] as const) {
  Deno.test(`distanceToCellBorder is the radius at which another cell comes into reach in ${dims}D`, () => {
    const arb = gridAndPoint(dims, nearWorld).chain(([grid, p]) =>
      fc.tuple(
        fc.constant(grid),
        fc.constant(p),
        fc.double({ min: 0, max: 2 * grid.cellSize, noNaN: true }),
      )
    );
    fc.assert(fc.property(arb, ([grid, p, r]) => {
      const id = grid.cellOf(...p);
      const border = grid.distanceToCellBorder(id, ...p);
      assert.ok(border >= 0);
      if (border < r) assert.ok(grid.cellsWithin(...p, r).length > 1);
      if (border > r) assert.deepEqual(grid.cellsWithin(...p, r), [id]);
      if (Number.isFinite(border)) {
        assert.ok(grid.cellsWithin(...p, border).length > 1);
        if (border > 0) assert.deepEqual(grid.cellsWithin(...p, previousDouble(border)), [id]);
      } else {
        assert.equal(grid.cellCount, 1);
      }
    }));
  });
}

for (const dims of [2, 3] as const) {
  Deno.test(`distanceToCellBorder is the distance to the nearest interior face in ${dims}D`, () => {
    fc.assert(fc.property(gridAndPoint(dims, inWorld), ([grid, p]) => {
      const id = grid.cellOf(...p);
      const coords = grid.cellCoords(id);
      let expected = Infinity;
      for (let axis = 0; axis < dims; axis++) {
        if (coords[axis] > 0) expected = Math.min(expected, p[axis] - grid.cellMin(id, axis));
        if (coords[axis] < grid.counts[axis] - 1) {
          expected = Math.min(expected, grid.cellMax(id, axis) - p[axis]);
        }
      }
      assert.equal(grid.distanceToCellBorder(id, ...p), expected);
    }));
  });
}

Deno.test("distanceToCellBorder ignores faces on the world boundary", () => {
  const strip = new Grid({ dims: 2, size: [20, 10], cellSize: 10 });
  assert.equal(strip.distanceToCellBorder(0, 3, 5), 7);
  assert.equal(strip.distanceToCellBorder(1, 19, 0.5), 9);
  const single = new Grid({ dims: 3, size: [8, 8, 8], cellSize: 10 });
  assert.equal(single.distanceToCellBorder(0, 1, 2, 3), Infinity);
  assert.equal(small3d.distanceToCellBorder(small3d.cellId(1, 1, 1), 12, 18, 15), 2);
  assert.throws(() => small3d.distanceToCellBorder(0, 1, 1, NaN), RangeError);
});

Deno.test("serpentineOrder is a face-adjacent walk over every cell, including odd counts", () => {
  const shapes: [Dims, number, number, number][] = [];
  for (let nx = 1; nx <= 5; nx++) {
    for (let ny = 1; ny <= 5; ny++) {
      shapes.push([2, nx, ny, 1]);
      for (let nz = 1; nz <= 4; nz++) shapes.push([3, nx, ny, nz]);
    }
  }
  for (const [dims, nx, ny, nz] of shapes) {
    const size = dims === 2 ? [nx * 2, ny * 2] : [nx * 2, ny * 2, nz * 2];
    const grid = new Grid({ dims, size, cellSize: 2 });
    const order = grid.serpentineOrder();
    assert.deepEqual([...order].sort((a, b) => a - b), allIds(grid), `${nx}x${ny}x${nz}`);
    for (let i = 1; i < order.length; i++) {
      assert.ok(
        grid.faceNeighbours(order[i - 1]).includes(order[i]),
        `${nx}x${ny}x${nz} step ${i}`,
      );
    }
  }
});

Deno.test("constructor rejects each invalid option with RangeError", () => {
  const bad: unknown[] = [
    { dims: 1, size: [10], cellSize: 1 },
    { dims: 4, size: [10, 10, 10, 10], cellSize: 1 },
    { dims: "2", size: [10, 10], cellSize: 1 },
    { dims: 2, size: [10, 10, 10], cellSize: 1 },
    { dims: 3, size: [10, 10], cellSize: 1 },
    { dims: 2, size: [0, 10], cellSize: 1 },
    { dims: 2, size: [10, -1], cellSize: 1 },
    { dims: 3, size: [10, 10, NaN], cellSize: 1 },
    { dims: 2, size: [Infinity, 10], cellSize: 1 },
    { dims: 2, size: [10, 10], cellSize: 0 },
    { dims: 2, size: [10, 10], cellSize: -2 },
    { dims: 2, size: [10, 10], cellSize: NaN },
    { dims: 2, size: [10, 10], cellSize: Infinity },
    { dims: 2, size: [1001, 1000], cellSize: 1 },
    { dims: 3, size: [1e300, 1e300, 1e300], cellSize: 1e-300 },
  ];
  for (const options of bad) {
    assert.throws(() => new Grid(options as never), RangeError, JSON.stringify(options));
  }
  assert.equal(new Grid({ dims: 2, size: [1000, 1000], cellSize: 1 }).cellCount, MAX_CELLS);
});

Deno.test("a grid keeps its own copy of size", () => {
  const size = [30, 20];
  const grid = new Grid({ dims: 2, size, cellSize: 10 });
  size[0] = 1000;
  assert.deepEqual(grid.size, [30, 20]);
  assert.ok(Object.isFrozen(grid.size) && Object.isFrozen(grid.counts));
});
