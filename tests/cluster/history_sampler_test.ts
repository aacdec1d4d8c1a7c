import assert from "node:assert/strict";
import { Grid } from "../../src/world/grid.ts";
import { Registry } from "../../src/cluster/registry.ts";
import { GatewayDirectory } from "../../src/cluster/gateway_directory.ts";
import { HistorySampler } from "../../src/cluster/history_sampler.ts";
import { History } from "../../src/observe/history.ts";

const grid = new Grid({ dims: 2, size: [200, 200], cellSize: 100 });
const worker = (nodeId: string) => ({
  nodeId,
  grpcAddress: `127.0.0.1:${nodeId.length}`,
  httpAddress: "",
  version: "test",
  pool: false,
});

function setup() {
  let now = 1_000;
  const clock = () => now;
  const registry = new Registry({ grid, minWorkers: 2, workerTimeoutMs: 3_000, now: clock });
  const gateways = new GatewayDirectory({ timeoutMs: 3_000, now: clock });
  const history = new History({ now: clock });
  const sampler = new HistorySampler(history, { registry, gateways, now: clock });
  return { registry, gateways, history, sampler, advance: (ms: number) => (now += ms) };
}

const beat = (cells: Array<[number, number, number]>, handoffsOut: number) => ({
  tick: 1,
  cells: cells.map(([cell, entities, players]) => ({ cell, entities, players, interactions: 0 })),
  ghosts: 3,
  tickP50Ms: 1.5,
  tickP99Ms: 4.25,
  handoffsOut,
});

Deno.test("samples carry heartbeat figures, handoffs per second and migrations per interval", () => {
  const { registry, gateways, history, sampler, advance } = setup();
  registry.register(worker("w1"));
  registry.register(worker("w2"));
  const [cell] = registry.map.cellsOf("w1");
  const g = gateways.register({ nodeId: "", httpAddress: "127.0.0.1:1", version: "t" });
  gateways.heartbeat(g.id, 4, 1_000);
  registry.heartbeat("w1", beat([[cell, 10, 2]], 100));
  registry.heartbeat("w2", beat([], 0));
  sampler.sample();
  advance(1_000);
  registry.heartbeat("w1", beat([[cell, 9, 2]], 130));
  gateways.heartbeat(g.id, 4, 6_000);
  registry.moveCells([{ cell, from: "w1", to: "w2" }], "test");
  registry.event("cell.migrated", { cell, from: "w1", to: "w2" });
  sampler.sample();
  advance(1_000);
  sampler.sample();

  const window = history.window(60);
  const w1 = window.workers.find((w) => w.id === "w1")!;
  assert.deepEqual(w1.series.entities, [10, 9, 9]);
  assert.deepEqual(w1.series.players, [2, 2, 2]);
  assert.deepEqual(w1.series.tickP99Ms, [4.25, 4.25, 4.25]);
  assert.deepEqual(w1.series.ghosts, [3, 3, 3]);
  assert.deepEqual(w1.series.handoffsPerS, [0, 30, 0], "30 handoffs in 1 s, then none");
  assert.deepEqual(window.cluster.migrations, [0, 1, 0]);
  assert.deepEqual(window.cluster.workersUp, [2, 2, 2]);
  assert.deepEqual(window.cluster.sessions, [4, 4, 4]);
  assert.deepEqual(window.gateways.map((x) => [x.id, x.series.sessions]), [[g.id, [4, 4, 4]]]);
  const bytes = window.gateways.map((x) => [x.id, x.series.bytesPerS]);
  assert.deepEqual(bytes, [[g.id, [0, 5_000, 0]]], "5,000 bytes written in 1 s, then none");
});

Deno.test("a down worker is sampled with its state and without its stale counts", () => {
  const { registry, history, sampler, advance } = setup();
  registry.register(worker("w1"));
  registry.register(worker("w2"));
  registry.heartbeat("w1", beat([[registry.map.cellsOf("w1")[0], 10, 0]], 0));
  sampler.sample();
  advance(4_000);
  registry.heartbeat("w2", beat([], 0));
  registry.sweep();
  sampler.sample();
  const w1 = history.window(60).workers.find((w) => w.id === "w1")!;
  assert.equal(w1.state, "down");
  assert.deepEqual(w1.series.entities, [10, 0]);
  assert.deepEqual(w1.series.tickP50Ms, [1.5, null]);
  assert.deepEqual(history.window(60).cluster.workersUp, [2, 1]);
});
