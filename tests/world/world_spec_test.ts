// The world spec: built once from the config, turned into the one grid every node agrees on.
import assert from "node:assert/strict";
import { DEFAULTS, parseConfig } from "../../src/config/config.ts";
import {
  boundsOf,
  gridOf,
  spaceWorldOf,
  worldSpecOf,
  worldSummary,
} from "../../src/world/world_spec.ts";

Deno.test("a config's world spec carries the grid shape, timings and radii, and its start", () => {
  const config = parseConfig({
    world: { dims: 3, size: [300, 200, 100], cellSize: 50 },
    tickHz: 30,
    aoiRadius: 20,
    ghostMargin: 40,
  });
  const spec = worldSpecOf(config, 1234);
  assert.deepEqual(spec, {
    dims: 3,
    size: [300, 200, 100],
    cellSize: 50,
    tickHz: 30,
    aoiRadius: 20,
    ghostMargin: 40,
    worldStartMs: 1234,
    snapshotHz: 30, // snapshotHz 0 in the config: every tick
  });
  const halved = worldSpecOf(parseConfig({ tickHz: 30, snapshotHz: 15 }), 0);
  assert.equal(halved.snapshotHz, 15);
  assert.equal(spaceWorldOf(halved).snapshotEvery, 2);
  // The spec owns its size: the (frozen) config is not shared with the wire message.
  assert.notEqual(spec.size, config.world.size);
  assert.deepEqual(worldSummary(spec), {
    dims: 3,
    size: [300, 200, 100],
    cellSize: 50,
    tickHz: 30,
    aoiRadius: 20,
    ghostMargin: 40,
    snapshotHz: 30,
  });
});

Deno.test("gridOf builds the grid of the spec and refuses a dims that came off the wire wrong", () => {
  const spec = worldSpecOf(DEFAULTS, 0);
  const grid = gridOf(spec);
  assert.equal(grid.dims, 2);
  assert.equal(grid.cellCount, 100);
  assert.deepEqual(boundsOf(spec), { dims: 2, size: [1000, 1000], cellSize: 100 });
  assert.throws(() => gridOf({ ...spec, dims: 4 }), RangeError);
  const { grid: spaceGrid, ...timings } = spaceWorldOf(spec);
  assert.equal(spaceGrid.cellCount, grid.cellCount);
  assert.deepEqual(timings, { tickHz: 20, aoiRadius: 50, ghostMargin: 60, snapshotEvery: 1 });
});
