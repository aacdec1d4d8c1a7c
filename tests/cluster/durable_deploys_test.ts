// Deploy records in the coordinator's state file (coordinator_state.ts, durable_state.ts): a
// restart mid-deploy loads every version record and the run, which goes on where the stored map
// left it (a paused one stays paused); damaged records stop the load with a StateFileError.
import assert from "node:assert/strict";
import { DatabaseSync } from "node:sqlite";
import { StateStore } from "../../src/cluster/state_store.ts";
import { CoordinatorState } from "../../src/cluster/coordinator_state.ts";
import { GatewayDirectory } from "../../src/cluster/gateway_directory.ts";
import { Registry } from "../../src/cluster/registry.ts";
import { Deploys } from "../../src/cluster/deploys.ts";
import { StateFileError } from "../../src/cluster/durable_state_reader.ts";
import { Grid } from "../../src/world/grid.ts";

const grid = new Grid({ dims: 2, size: [400, 400], cellSize: 100 });

/** A coordinator's registry, deploys and state file at `path`, as the role wires them. */
function coordinator(path: string, clock: { now: number }, snapshotEvery?: number) {
  const now = () => clock.now;
  let autoscale = { highWater: 0, lowWater: 0, sustainMs: 5000 };
  let state: CoordinatorState | undefined = undefined;
  const registry = new Registry({
    grid,
    minWorkers: 2,
    workerTimeoutMs: 60_000,
    now,
    onMap: () => state?.commit(),
  });
  const gateways = new GatewayDirectory({ timeoutMs: 60_000, now });
  const deploys = new Deploys({
    grid,
    registry,
    gateways,
    cellsPerSecond: 2,
    instancesOn: () => 0,
    now,
  });
  state = new CoordinatorState({
    store: StateStore.open(path, grid.cellCount),
    registry,
    gateways,
    autoscale: { get: () => autoscale, set: (v) => (autoscale = v) },
    world: { worldStartMs: 1 },
    deploys,
    snapshotEvery,
    now,
  });
  /** Every worker reports the current epoch with nothing pending: moves complete. */
  const beat = () => {
    for (const w of registry.workers.values()) {
      registry.heartbeat(w.id, {
        tick: 1,
        epoch: registry.map.epoch,
        cells: [],
        ghosts: 0,
        tickP50Ms: 1,
        tickP99Ms: 1,
        pendingTransfers: 0,
      });
    }
  };
  const step = (ms: number) => {
    clock.now += ms;
    deploys.step();
    beat();
    state!.commit();
  };
  const onVersion = (version: string) =>
    registry.map.owners.filter((o) => registry.workers.get(o)?.version === version).length;
  return { registry, deploys, state, beat, step, onVersion };
}

function tempPath(): string {
  const path = Deno.makeTempFileSync({ prefix: "zs-deploys-", suffix: ".sqlite" });
  Deno.removeSync(path);
  return path;
}

function removeAll(path: string): void {
  for (const p of [path, `${path}-wal`, `${path}-shm`]) {
    try {
      Deno.removeSync(p);
    } catch { /* not there */ }
  }
}

/** Writes a cluster of 1.0 and 2.0 workers with a deploy of 2.0 part done; closes the file. */
function writeHalfDeploy(path: string, clock: { now: number }, snapshotEvery?: number) {
  const c = coordinator(path, clock, snapshotEvery);
  c.state.load("test");
  for (const [id, version] of [["w1", "1.0"], ["w2", "1.0"], ["w3", "2.0"], ["w4", "2.0"]]) {
    c.deploys.seen(version, "1");
    c.registry.register({
      nodeId: id,
      grpcAddress: `h:${id}`,
      httpAddress: "",
      version,
      pool: false,
    });
  }
  c.state.commit();
  c.deploys.start("2.0");
  for (let n = 0; n < 40 && c.onVersion("2.0") < 6; n++) c.step(250);
  c.state.commit();
  const stored = { state: c.deploys.state(), moved: c.onVersion("2.0") };
  c.state.store.close();
  return stored;
}

Deno.test("a coordinator restarted mid-deploy loads the versions and the run, which goes on", () => {
  for (const snapshotEvery of [3, 1_000]) {
    const path = tempPath();
    try {
      const clock = { now: 10_000 };
      const before = writeHalfDeploy(path, clock, snapshotEvery);
      assert.ok(before.moved >= 6 && before.moved < 16, `half done: ${before.moved} cells`);
      const after = coordinator(path, clock, snapshotEvery);
      assert.equal(after.state.load("restart"), true);
      assert.deepEqual(after.deploys.state(), before.state, `snapshotEvery ${snapshotEvery}`);
      assert.equal(after.deploys.current?.state, "running");
      assert.equal(after.deploys.versions.get("2.0")?.state, "rolling_out");
      assert.equal(after.deploys.live, "1.0");
      assert.equal(after.onVersion("2.0"), before.moved);
      // It goes on from there to the end; the run keeps its id and counts every move.
      for (let n = 0; n < 100 && after.deploys.current; n++) after.step(250);
      const run = after.deploys.runs.at(-1)!;
      assert.deepEqual({ id: run.id, state: run.state, moves: run.moves }, {
        id: 1,
        state: "done",
        moves: 16,
      });
      assert.equal(after.deploys.live, "2.0");
      assert.equal(after.onVersion("2.0"), 16);
      after.state.store.close();
    } finally {
      removeAll(path);
    }
  }
});

Deno.test("a paused deploy is still paused after a restart, and the next run's id follows", () => {
  const path = tempPath();
  try {
    const clock = { now: 10_000 };
    writeHalfDeploy(path, clock);
    const c = coordinator(path, clock);
    c.state.load("restart");
    c.deploys.pause();
    c.state.commit();
    c.state.store.close();
    const again = coordinator(path, clock);
    again.state.load("restart");
    assert.equal(again.deploys.current?.state, "paused");
    const held = again.onVersion("2.0");
    again.step(5_000);
    assert.equal(again.onVersion("2.0"), held, "a paused run moves nothing");
    again.deploys.abort();
    again.state.commit();
    assert.equal(again.deploys.versions.get("2.0")?.state, "staged");
    again.state.store.close();
    const third = coordinator(path, clock);
    third.state.load("restart");
    assert.equal(third.deploys.runs.at(-1)?.state, "aborted");
    assert.equal(third.deploys.start("2.0").id, 2);
    third.state.store.close();
  } finally {
    removeAll(path);
  }
});

Deno.test("damaged deploy records stop the load with a StateFileError naming them", () => {
  const cases: Array<[string, RegExp]> = [
    [
      "json_set(state, '$.deploys.versions.\"2.0\".state', 'shipping')",
      /snapshot \d+: deploys\.versions\.2\.0\.state: unknown state "shipping"/,
    ],
    [
      "json_set(state, '$.deploys.versions.\"2.0\".version', '3.0')",
      /deploys\.versions\.2\.0: the record is of 3\.0/,
    ],
    [
      "json_set(state, '$.deploys.runs[0].moves', -1)",
      /deploys\.runs\[0\]\.moves: expected an integer >= 0/,
    ],
    ["json_set(state, '$.deploys.runs', 'all')", /deploys\.runs: expected an array/],
  ];
  for (const [edit, message] of cases) {
    const path = tempPath();
    try {
      const clock = { now: 10_000 };
      writeHalfDeploy(path, clock);
      const c = coordinator(path, clock);
      c.state.store.snapshot(c.state.read()!);
      c.state.store.close();
      const db = new DatabaseSync(path);
      db.exec(`UPDATE snapshot SET state = ${edit}`);
      db.close();
      const again = coordinator(path, clock);
      assert.throws(() => again.state.load("restart"), (error: unknown) => {
        assert.ok(error instanceof StateFileError, String(error));
        assert.match(error.message, message);
        return true;
      });
      again.state.store.close();
    } finally {
      removeAll(path);
    }
  }
});

Deno.test("a state written before deploys were durable loads with the versions seen anew", () => {
  const path = tempPath();
  try {
    const clock = { now: 10_000 };
    writeHalfDeploy(path, clock);
    const c = coordinator(path, clock);
    c.state.store.snapshot(c.state.read()!);
    c.state.store.close();
    const db = new DatabaseSync(path);
    db.exec("UPDATE snapshot SET state = json_remove(state, '$.deploys')");
    db.exec("DELETE FROM log");
    db.close();
    const again = coordinator(path, clock);
    assert.equal(again.state.load("restart"), true);
    assert.deepEqual([...again.deploys.versions.keys()], []);
    assert.equal(again.deploys.current, undefined);
    again.state.store.close();
  } finally {
    removeAll(path);
  }
});
