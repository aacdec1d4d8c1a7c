import assert from "node:assert/strict";
import { Grid } from "../../src/world/grid.ts";
import { Registry } from "../../src/cluster/registry.ts";

const grid = new Grid({ dims: 2, size: [400, 400], cellSize: 100 });
const worker = (nodeId: string, pool = false) => ({
  nodeId,
  grpcAddress: `127.0.0.1:${nodeId.length}`,
  httpAddress: "",
  version: "test",
  pool,
});

function make(minWorkers = 2) {
  let now = 1_000;
  const maps: number[] = [];
  const registry = new Registry({
    grid,
    minWorkers,
    workerTimeoutMs: 3_000,
    now: () => now,
    onMap: (map) => maps.push(map.epoch),
  });
  return { registry, maps, advance: (ms: number) => (now += ms) };
}

const report = { tick: 1, cells: [], ghosts: 0, tickP50Ms: 1, tickP99Ms: 2 };

Deno.test("cells are assigned once minWorkers have registered; later workers wait as spares", () => {
  const { registry, maps } = make(2);
  registry.register(worker("w1"));
  assert.equal(registry.map.epoch, 0);
  registry.register(worker("w2"));
  assert.equal(registry.map.epoch, 1);
  assert.deepEqual(maps, [1]);
  assert.equal(registry.map.cellsOf("w1").length + registry.map.cellsOf("w2").length, 16);
  const late = registry.register(worker("w3"));
  assert.equal(late.state, "spare");
  assert.equal(registry.map.cellsOf("w3").length, 0);
  assert.deepEqual(registry.eventsSince(0).map((e) => e.kind), [
    "worker.joined",
    "worker.joined",
    "map.assigned",
    "worker.joined",
  ]);
});

Deno.test("pool workers never get cells at the initial split", () => {
  const { registry } = make(1);
  registry.register(worker("p1", true));
  assert.equal(registry.map.epoch, 0);
  registry.register(worker("w1"));
  assert.equal(registry.map.cellsOf("w1").length, 16);
  assert.equal(registry.workers.get("p1")?.state, "spare");
});

Deno.test("a worker without heartbeats is marked down, and comes back when they resume", () => {
  const { registry, advance } = make(1);
  const w = registry.register(worker(""));
  assert.equal(w.id, "w1");
  advance(2_000);
  assert.ok(registry.heartbeat("w1", report));
  advance(2_000);
  assert.deepEqual(registry.sweep(), []);
  advance(4_000);
  assert.deepEqual(registry.sweep(), ["w1"]);
  assert.equal(registry.workers.get("w1")?.state, "down");
  assert.ok(registry.heartbeat("w1", report));
  assert.equal(registry.workers.get("w1")?.state, "active");
  assert.equal(registry.heartbeat("nobody", report), false, "unknown workers must register");
});

Deno.test("entities per cell add up the latest reports of live workers", () => {
  const { registry } = make(2);
  registry.register(worker("w1"));
  registry.register(worker("w2"));
  registry.heartbeat("w1", {
    ...report,
    cells: [{ cell: 0, entities: 3, players: 0, interactions: 0 }],
  });
  registry.heartbeat("w2", {
    ...report,
    cells: [{ cell: 15, entities: 2, players: 0, interactions: 0 }, {
      cell: 99,
      entities: 5,
      players: 0,
      interactions: 0,
    }],
  });
  const counts = registry.entitiesPerCell();
  assert.equal(counts[0], 3);
  assert.equal(counts[15], 2);
  assert.equal(counts.reduce((a, b) => a + b, 0), 5, "out-of-range cells are ignored");
});
