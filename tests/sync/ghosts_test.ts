import assert from "node:assert/strict";
import fc from "fast-check";
import { type Batch, decodeBatch, emptyBatch, encodeBatch } from "../../src/sync/batch_codec.ts";
import { type Entity, makeEntity } from "../../src/world/entity.ts";
import { Grid } from "../../src/world/grid.ts";
import { SpatialIndex } from "../../src/world/spatial_index.ts";
import {
  GHOST_REFRESH_TICKS,
  GhostSender,
  GhostTable,
  KEPT_GHOST_TICKS,
} from "../../src/sync/ghosts.ts";
import { DataVersions } from "../../src/sim/data_versions.ts";

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
          const e = makeEntity(1, "npc", { x, y, z });
          e.cell = grid.cellOf(x, y, z);
          const self = owners[e.cell];
          for (const margin of [1, 10, 30, 49]) {
            // A fresh sender: the peers it creates a ghost on are the band's owners.
            const batches = new Map<string, Batch>();
            new GhostSender().collectGhosts(
              new Map([[e.id, e]]),
              grid,
              owners,
              self,
              margin,
              (peer) => {
                if (!batches.has(peer)) batches.set(peer, emptyBatch(self, 1, 1));
                return batches.get(peer)!;
              },
              { tick: 1, versions: new DataVersions() },
            );
            assert.deepEqual(
              [...batches.keys()].sort(),
              [...bruteForceOwners(grid, owners, self, x, y, z, margin)].sort(),
            );
          }
        },
      ),
      { numRuns: 300 },
    );
  });
}

Deno.test("the band's edge: a point exactly the margin from a foreign cell is in it, one just beyond is not", () => {
  // 3×3 cells of 100; "a" owns all but the east middle cell and the north-east corner.
  const grid = new Grid({ dims: 2, size: [300, 300], cellSize: 100 });
  const owners = ["a", "a", "a", "a", "a", "b", "a", "a", "c"];
  const peersOf = (x: number, y: number) => {
    const e = makeEntity(1, "npc", { x, y });
    e.cell = grid.cellOf(x, y, 0);
    const batches = new Map<string, Batch>();
    new GhostSender().collectGhosts(new Map([[e.id, e]]), grid, owners, "a", 30, (peer) => {
      if (!batches.has(peer)) batches.set(peer, emptyBatch("a", 1, 1));
      return batches.get(peer)!;
    }, { tick: 1, versions: new DataVersions() });
    return [...batches.keys()].sort();
  };
  assert.deepEqual(peersOf(170, 150), ["b"], "30 from b's west edge");
  assert.deepEqual(peersOf(169.999, 150), [], "just beyond the margin");
  assert.deepEqual(peersOf(150, 150), []);
  // Centre cell, near its north-east corner: b east, c diagonally north-east.
  assert.deepEqual(peersOf(190, 190), ["b", "c"]);
  // The north middle cell: c to the east, b diagonally to the south-east.
  assert.deepEqual(peersOf(175, 210), ["b", "c"], "25 from c's west edge, 27 from b's corner");
  assert.deepEqual(peersOf(150, 250), [], "far from both");
  assert.deepEqual(peersOf(175, 250), ["c"]);
});

Deno.test("the sender emits create, then update while in band, then delete when it leaves", () => {
  const grid = new Grid({ dims: 2, size: [200, 100], cellSize: 100 });
  const owners = ["a", "b"];
  const sender = new GhostSender();
  const e = makeEntity(1, "npc", { x: 90, y: 50 });
  e.cell = grid.cellOf(e.x, e.y);
  const versions = new DataVersions();
  let n = 0;
  const tick = () => {
    const batches = new Map<string, ReturnType<typeof emptyBatch>>();
    n++;
    sender.collectGhosts(new Map([[e.id, e]]), grid, owners, "a", 20, (peer) => {
      if (!batches.has(peer)) batches.set(peer, emptyBatch("a", 1, n));
      return batches.get(peer)!;
    }, { tick: n, versions, phase: 1 });
    return batches.get("b");
  };
  assert.deepEqual(tick()?.creates.map((s) => s.id), [1]);
  e.x = 85;
  const second = tick();
  assert.deepEqual(second?.moves, [1, 85, 50, 0, 0, 0, 0], "moved, same data: a move");
  assert.equal(second?.creates.length, 0);
  assert.equal(second?.updates.length, 0);
  e.data = { hit: 1 };
  assert.deepEqual(tick()?.updates.map((s) => s.id), [1], "data changed: full state");
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

/** A sender "a" and a receiving table "b" over a two-cell world, batches through the codec. */
function link(refreshTicks = GHOST_REFRESH_TICKS) {
  const grid = new Grid({ dims: 2, size: [200, 100], cellSize: 100 });
  const owners = ["a", "b"];
  const sender = new GhostSender();
  const versions = new DataVersions();
  const table = new GhostTable(new SpatialIndex(5));
  let tick = 0;
  /** Runs one tick of the sender; delivers its batch unless `lose`; returns what went. */
  const step = (entities: Entity[], lose = false): Batch | undefined => {
    tick++;
    for (const e of entities) e.cell = grid.cellOf(e.x, e.y);
    let batch: Batch | undefined;
    sender.collectGhosts(new Map(entities.map((e) => [e.id, e])), grid, owners, "a", 20, (peer) => {
      assert.equal(peer, "b");
      return batch ??= emptyBatch("a", 1, tick);
    }, { tick, versions, refreshTicks, phase: 0 });
    if (batch && !lose) table.apply(decodeBatch(encodeBatch(batch)), () => false, grid);
    return batch;
  };
  return { step, table };
}

Deno.test("an unchanged ghost is not resent; a moved one goes as a position-only move", () => {
  const { step, table } = link(1_000);
  const e = makeEntity(1, "npc", { x: 90, y: 50 }, { hp: 3 });
  assert.equal(step([e])?.creates.length, 1);
  assert.equal(step([e]), undefined, "nothing changed: no batch at all");
  e.x = 88;
  e.vx = -2;
  const moved = step([e])!;
  assert.deepEqual([moved.creates.length, moved.updates.length], [0, 0]);
  assert.equal(moved.moves.length, 7);
  const ghost = table.ghosts.get(1)!;
  assert.deepEqual([ghost.x, ghost.vx, ghost.data], [88, -2, { hp: 3 }], "moved, data kept");
  e.data.hp = 2; // changed in place
  assert.deepEqual(step([e])?.updates.map((s) => s.data), [{ hp: 2 }]);
  assert.deepEqual(table.ghosts.get(1)?.data, { hp: 2 });
  assert.equal(step([e]), undefined);
});

Deno.test("a ghost that left the band is dropped on the receiver", () => {
  const { step, table } = link(1_000);
  const e = makeEntity(1, "npc", { x: 90, y: 50 });
  const f = makeEntity(2, "npc", { x: 95, y: 10 });
  step([e, f]);
  assert.deepEqual([...table.ghosts.keys()].sort(), [1, 2]);
  e.x = 40; // deep inside a's cell now
  assert.deepEqual(step([e, f])?.deletes, [1]);
  assert.deepEqual([...table.ghosts.keys()], [2]);
  assert.equal(step([f]), undefined, "f is unchanged: nothing to say");
  assert.deepEqual(step([])?.deletes, [2], "gone from a altogether");
  assert.equal(table.size, 0);
});

Deno.test("the periodic refresh restores a ghost after a lost batch and drops one whose delete was lost", () => {
  const { step, table } = link(4);
  const e = makeEntity(1, "npc", { x: 90, y: 50 }, { hp: 3 });
  const f = makeEntity(2, "npc", { x: 95, y: 10 });
  step([e, f], true); // tick 1: both creates lost
  e.x = 89;
  f.x = 94;
  assert.equal(step([e, f])?.moves.length, 14); // tick 2: moves for ghosts b never had
  assert.equal(table.size, 0, "a move cannot create a ghost");
  f.x = 20;
  assert.deepEqual(step([e, f])?.deletes, [2]); // tick 3
  f.x = 96;
  e.data.hp = 1;
  step([e, f], true); // tick 4, a refresh (lost): f's create and e's full update
  f.x = 30;
  assert.deepEqual(step([e, f])?.deletes, [2]); // tick 5: f left again
  assert.deepEqual([...table.ghosts.keys()], [], "nothing arrived that b could use");
  // A stale ghost of f, as if its delete had been lost:
  table.apply({ ...emptyBatch("a", 1, 5), creates: [{ ...f, x: 96 }] }, () => false, grid2());
  step([e, f]); // tick 6: nothing
  step([e, f]); // tick 7
  const refresh = step([e, f])!; // tick 8: the refresh
  assert.equal(refresh.full, true);
  assert.deepEqual(refresh.updates.map((s) => s.id), [1]);
  assert.deepEqual([...table.ghosts.keys()], [1], "e restored, f dropped");
  assert.deepEqual([table.ghosts.get(1)?.x, table.ghosts.get(1)?.data], [89, { hp: 1 }]);
});

Deno.test("a refresh keeps a ghost kept after a handoff until its new owner had KEPT_GHOST_TICKS to adopt it", () => {
  const grid = grid2();
  const table = new GhostTable(new SpatialIndex(5));
  const kept = makeEntity(5, "npc", { x: 110, y: 50 });
  kept.cell = grid.cellOf(kept.x, kept.y);
  table.keepAsGhost(kept, "b", 10); // handed to b at our tick 10
  // b's refresh of its tick 10 was built before it adopted the entity: it does not list it.
  const stats = table.apply({ ...emptyBatch("b", 1, 10), full: true }, () => false, grid);
  assert.equal(stats.deleted, 0);
  assert.ok(table.ghosts.has(5));
  // A late b adopts it ticks later: its refreshes until then do not list it either.
  table.apply({ ...emptyBatch("b", 1, 11), full: true }, () => false, grid);
  assert.ok(table.ghosts.has(5), "kept while b may still adopt it");
  table.apply({ ...emptyBatch("b", 1, 10 + KEPT_GHOST_TICKS), full: true }, () => false, grid);
  assert.ok(table.ghosts.has(5));
  table.apply({ ...emptyBatch("b", 1, 11 + KEPT_GHOST_TICKS), full: true }, () => false, grid);
  assert.ok(!table.ghosts.has(5), "b never sent it: it does not ghost it here");
});

Deno.test("once its new owner wrote a kept ghost, that owner's refreshes prune it as any other", () => {
  const grid = grid2();
  const table = new GhostTable(new SpatialIndex(5));
  const kept = makeEntity(5, "npc", { x: 110, y: 50 });
  kept.cell = grid.cellOf(kept.x, kept.y);
  table.keepAsGhost(kept, "b", 10);
  // b adopted it and moved it (tick 12), then stopped listing it (its delete lost).
  table.apply({ ...emptyBatch("b", 1, 12), moves: [5, 111, 50, 0, 1, 0, 0] }, () => false, grid);
  assert.equal(table.ghosts.get(5)?.x, 111);
  table.apply({ ...emptyBatch("b", 1, 13), full: true }, () => false, grid);
  assert.ok(!table.ghosts.has(5));
});

function grid2() {
  return new Grid({ dims: 2, size: [200, 100], cellSize: 100 });
}
