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
    "backup.assigned",
    "backup.assigned",
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

Deno.test("a worker without heartbeats is marked down, and is fenced when it comes back", () => {
  const { registry, advance } = make(1);
  const w = registry.register(worker(""));
  assert.equal(w.id, "w1");
  advance(2_000);
  assert.equal(registry.heartbeat("w1", report), "ok");
  advance(2_000);
  assert.deepEqual(registry.sweep(), [], "one late beat is not death");
  advance(4_000);
  assert.deepEqual(registry.sweep(), ["w1"]);
  assert.equal(registry.workers.get("w1")?.state, "down");
  assert.equal(registry.heartbeat("w1", report), "fenced");
  assert.equal(registry.workers.get("w1")?.state, "fenced");
  assert.equal(registry.heartbeat("nobody", report), "unknown", "unknown workers must register");
  // It registers again: a spare with a fresh index (its old entity ids stay unique).
  const again = registry.register(worker("w1"));
  assert.equal(again.state, "spare");
  assert.notEqual(again.index, w.index);
  assert.ok(registry.eventsSince(0).some((e) => e.kind === "worker.fenced"));
});

Deno.test("a dead worker's cells go to its backup in one new epoch; every worker gets a backup", () => {
  const { registry, advance } = make(3);
  for (const id of ["w1", "w2", "w3"]) registry.register(worker(id));
  const before = registry.map;
  assert.equal(before.backups.size, 3, "every active worker has a backup");
  for (const [owner, backup] of before.backups) assert.notEqual(owner, backup);
  const backup = before.backupOf("w1");
  const cells = before.cellsOf("w1");
  advance(2_000);
  registry.heartbeat("w2", report);
  registry.heartbeat("w3", report);
  advance(1_500);
  assert.deepEqual(registry.sweep(), ["w1"]);
  const after = registry.map;
  assert.equal(after.epoch, before.epoch + 1, "one epoch for the whole failover");
  for (const c of cells) assert.equal(after.owners[c], backup);
  assert.ok(after.down.has("w1"));
  assert.ok(!after.owners.includes("w1"));
  assert.equal(after.backups.size, 2);
  for (const [owner, b] of after.backups) (assert.notEqual(owner, b), assert.notEqual(b, "w1"));
  const kinds = registry.eventsSince(0).map((e) => e.kind);
  assert.ok(kinds.includes("worker.down") && kinds.includes("cells.reassigned"));
  assert.ok(kinds.includes("backup.assigned"));
  // The taker is promoting until it reports running the new epoch.
  assert.equal(registry.workers.get(backup)?.promotingEpoch, after.epoch);
  registry.heartbeat(backup, { ...report, epoch: after.epoch });
  assert.equal(registry.workers.get(backup)?.promotingEpoch, undefined);
  assert.ok(registry.eventsSince(0).some((e) => e.kind === "promoted" && e.worker === backup));
});

Deno.test("with a warm spare, the spare takes the dead worker's cells", () => {
  const { registry, advance } = make(2);
  registry.register(worker("w1"));
  registry.register(worker("w2"));
  registry.register(worker("p1", true));
  const cells = registry.map.cellsOf("w1");
  advance(2_000);
  registry.heartbeat("w2", report);
  registry.heartbeat("p1", report);
  advance(1_500);
  registry.sweep();
  for (const c of cells) assert.equal(registry.map.owners[c], "p1");
  assert.equal(registry.workers.get("p1")?.state, "active");
  const reassigned = registry.eventsSince(0).find((e) => e.kind === "cells.reassigned");
  assert.equal(reassigned?.adoption, "transfer", "the backup sends its mirror to the spare");
});

Deno.test("a broken map stream means down after the grace, unless the worker comes back", () => {
  let now = 1_000;
  const registry = new Registry({
    grid,
    minWorkers: 2,
    workerTimeoutMs: 3_000,
    streamGraceMs: 300,
    now: () => now,
  });
  registry.register(worker("w1"));
  registry.register(worker("w2"));
  registry.streamLost("w1");
  now += 200;
  assert.deepEqual(registry.sweep(), []);
  registry.streamAttached("w1"); // it re-attached in time
  now += 200;
  assert.deepEqual(registry.sweep(), []);
  registry.streamLost("w2");
  now += 301;
  assert.deepEqual(registry.sweep(), ["w2"], "a kill -9 resets the stream: down long before 3 s");
  assert.equal(registry.eventsSince(0).find((e) => e.kind === "worker.down")?.reason, "stream");
});

Deno.test("a down worker's last report is not counted as live entities", () => {
  const { registry, advance } = make(2);
  registry.register(worker("w1"));
  registry.register(worker("w2"));
  registry.heartbeat("w1", {
    ...report,
    cells: [{ cell: 0, entities: 7, players: 1, interactions: 0 }],
  });
  advance(3_500);
  registry.heartbeat("w2", report);
  registry.sweep();
  assert.equal(registry.entitiesPerCell()[0], 0);
  assert.equal(registry.cellLoads()[0], 0);
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

Deno.test("a worker restarted under the same id before its death was noticed: the old one's cells go", () => {
  const { registry } = make(2);
  registry.register(worker("w1"));
  registry.register(worker("w2"));
  const cells = registry.map.cellsOf("w1");
  const epoch = registry.map.epoch;
  const again = registry.register({ ...worker("w1"), grpcAddress: "127.0.0.1:9999" });
  assert.equal(again.state, "spare", "the new process owns nothing");
  for (const c of cells) assert.equal(registry.map.owners[c], "w2");
  assert.ok(registry.map.epoch > epoch);
  const down = registry.eventsSince(0).find((e) => e.kind === "worker.down");
  assert.equal(down?.reason, "restarted");
});

Deno.test("a registration retried by the same process (same incarnation) is not a restart", () => {
  const { registry } = make(2);
  const first = registry.register({ ...worker("w1"), incarnation: "a" });
  registry.register({ ...worker("w2"), incarnation: "b" });
  const cells = registry.map.cellsOf("w1");
  const epoch = registry.map.epoch;
  assert.ok(cells.length > 0);
  // Its first answer came after its deadline: it asks again, as the same process.
  const retry = registry.register({ ...worker("w1"), incarnation: "a" });
  assert.equal(retry, first, "the same record, answered again");
  assert.equal(retry.state, "active");
  assert.deepEqual(registry.map.cellsOf("w1"), cells);
  assert.equal(registry.map.epoch, epoch);
  assert.equal(registry.eventsSince(0).some((e) => e.kind === "worker.down"), false);
  // A new process under that id (another incarnation) is a restart, as before.
  const restarted = registry.register({ ...worker("w1"), incarnation: "c" });
  assert.equal(restarted.state, "spare");
  assert.equal(registry.eventsSince(0).find((e) => e.kind === "worker.down")?.reason, "restarted");
});
