import assert from "node:assert/strict";
import fc from "fast-check";
import { emptyBatch } from "../../src/sync/batch_codec.ts";
import { makeEntity } from "../../src/world/entity.ts";
import { Grid } from "../../src/world/grid.ts";
import { SpatialIndex } from "../../src/world/spatial_index.ts";
import { GhostSender, GhostTable, ownersInBand } from "../../src/sync/ghosts.ts";

const workers = ["a", "b", "c", "d"];

function bruteForceOwners(
  grid: Grid,
  owners: string[],
  self: string,
  x: number,
  y: number,
  z: number,
  margin: number,
) {
  const out = new Set<string>();
  for (let c = 0; c < grid.cellCount; c++) {
    if (owners[c] !== self && owners[c] && grid.distanceToCell(c, x, y, z) <= margin) {
      out.add(owners[c]);
    }
  }
  return out;
}

for (const dims of [2, 3] as const) {
  Deno.test(`border-band selection matches a brute-force scan in ${dims}D`, () => {
    const grid = new Grid({ dims, size: dims === 2 ? [500, 300] : [300, 200, 200], cellSize: 50 });
    fc.assert(
      fc.property(
        fc.array(fc.constantFrom(...workers), {
          minLength: grid.cellCount,
          maxLength: grid.cellCount,
        }),
        fc.double({ min: 0, max: 499.99, noNaN: true }),
        fc.double({ min: 0, max: 299.99, noNaN: true }),
        fc.double({ min: 0, max: 199.99, noNaN: true }),
        (owners, x0, y, z0) => {
          const x = Math.min(x0, grid.size[0] - 0.01);
          const z = dims === 3 ? z0 : 0;
          const cell = grid.cellOf(x, y, z);
          const self = owners[cell];
          for (const margin of [1, 10, 30, 49]) {
            const out = ownersInBand(grid, owners, self, { x, y, z, cell }, margin, new Set());
            assert.deepEqual(
              [...out].sort(),
              [...bruteForceOwners(grid, owners, self, x, y, z, margin)].sort(),
            );
            assert.ok(!out.has(self));
          }
        },
      ),
      { numRuns: 300 },
    );
  });
}

Deno.test("the sender emits create, then update while in band, then delete when it leaves", () => {
  const grid = new Grid({ dims: 2, size: [200, 100], cellSize: 100 });
  const owners = ["a", "b"];
  const sender = new GhostSender();
  const e = makeEntity(1, "npc", { x: 90, y: 50 });
  e.cell = grid.cellOf(e.x, e.y);
  const tick = () => {
    const batches = new Map<string, ReturnType<typeof emptyBatch>>();
    sender.collectGhosts([e], grid, owners, "a", 20, (peer) => {
      if (!batches.has(peer)) batches.set(peer, emptyBatch("a", 1, 0));
      return batches.get(peer)!;
    });
    return batches.get("b");
  };
  assert.deepEqual(tick()?.creates.map((s) => s.id), [1]);
  e.x = 85;
  const second = tick();
  assert.deepEqual(second?.updates.map((s) => s.id), [1]);
  assert.equal(second?.creates.length, 0);
  e.x = 50;
  e.cell = grid.cellOf(e.x, e.y);
  assert.deepEqual(tick()?.deletes, [1]);
  assert.equal(tick(), undefined, "nothing more to say");
  assert.equal(sender.ghostedOn("b").size, 0);
});

Deno.test("the ghost table ignores writes for entities owned here and stale writes from a former owner", () => {
  const grid = new Grid({ dims: 2, size: [300, 100], cellSize: 100 });
  const index = new SpatialIndex(5);
  const table = new GhostTable(index);
  const state = { id: 9, type: "npc", x: 150, y: 50, z: 0, vx: 0, vy: 0, vz: 0, data: {} };
  table.apply({ ...emptyBatch("b", 1, 10), creates: [state] }, () => false, grid);
  assert.equal(table.ghosts.get(9)?.owner, "b");
  // c now owns it and says so at tick 12; a late update from b stamped tick 11 is ignored.
  table.apply({ ...emptyBatch("c", 1, 12), creates: [{ ...state, x: 210 }] }, () => false, grid);
  const stale = table.apply(
    { ...emptyBatch("b", 1, 11), updates: [{ ...state, x: 160 }] },
    () => false,
    grid,
  );
  assert.equal(stale.ignored, 1);
  assert.equal(table.ghosts.get(9)?.x, 210);
  // A delete from a worker that does not own the ghost is ignored too.
  assert.equal(
    table.apply({ ...emptyBatch("b", 1, 13), deletes: [9] }, () => false, grid).ignored,
    1,
  );
  assert.ok(table.ghosts.has(9));
  assert.equal(index.query(210, 50, 0, 1, []).length, 1, "ghosts are in the spatial index");
  // Never shadow an owned entity.
  const owned = table.apply(
    { ...emptyBatch("c", 1, 14), updates: [{ ...state, id: 5 }] },
    (id) => id === 5,
    grid,
  );
  assert.equal(owned.ignored, 1);
  assert.ok(!table.ghosts.has(5));
  assert.equal(table.dropOwner("c"), 1);
  assert.equal(table.size, 0);
  assert.equal(index.size, 0);
});
