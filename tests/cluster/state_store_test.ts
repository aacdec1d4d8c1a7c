import assert from "node:assert/strict";
import { DatabaseSync } from "node:sqlite";
import { StateStore } from "../../src/cluster/state_store.ts";
import { CoordinatorState, TERM_EPOCH_STRIDE } from "../../src/cluster/coordinator_state.ts";
import { GatewayDirectory } from "../../src/cluster/gateway_directory.ts";
import { Registry } from "../../src/cluster/registry.ts";
import { StateFileError } from "../../src/cluster/durable_state_reader.ts";
import { Grid } from "../../src/world/grid.ts";

const grid = new Grid({ dims: 2, size: [400, 400], cellSize: 100 });
const AUTOSCALE = { highWater: 0, lowWater: 0, sustainMs: 5000 };

/** A registry, gateway directory and durable state on `path`, as the coordinator wires them. */
function coordinator(path: string, now: () => number, snapshotEvery?: number) {
  let autoscale = { ...AUTOSCALE };
  let state: CoordinatorState | undefined = undefined;
  const registry = new Registry({
    grid,
    minWorkers: 2,
    workerTimeoutMs: 1000,
    now,
    onMap: () => state?.commit(),
  });
  const gateways = new GatewayDirectory({ timeoutMs: 1000, now });
  state = new CoordinatorState({
    store: StateStore.open(path, grid.cellCount),
    registry,
    gateways,
    autoscale: { get: () => autoscale, set: (v) => (autoscale = v) },
    world: { worldStartMs: now() },
    snapshotEvery,
    now,
  });
  return { registry, gateways, state, autoscale: () => autoscale };
}

function worker(id: string, incarnation = `${id}-1`) {
  return {
    nodeId: id,
    grpcAddress: `127.0.0.1:${id.length}`,
    httpAddress: "127.0.0.1:1",
    version: "1",
    pool: false,
    incarnation,
  };
}

function tempPath(): string {
  return Deno.makeTempFileSync({ prefix: "zs-state-", suffix: ".sqlite" });
}

function removeAll(path: string): void {
  for (const p of [path, `${path}-wal`, `${path}-shm`]) {
    try {
      Deno.removeSync(p);
    } catch { /* not there */ }
  }
}

/** Writes a cluster with a map, a move and a gateway into `path`; returns what it looked like. */
function writeCluster(path: string, snapshotEvery?: number) {
  let t = 1_000;
  const c = coordinator(path, () => t, snapshotEvery);
  c.state.load("test");
  c.registry.register(worker("w1"));
  c.registry.register(worker("w2"));
  c.registry.register(worker("w3"));
  c.gateways.register({ nodeId: "g1", httpAddress: "127.0.0.1:8081", version: "1" });
  c.state.commit();
  const cell = c.registry.map.cellsOf("w1")[0];
  c.registry.moveCells([{ cell, from: "w1", to: "w3" }], "test");
  t += 10;
  const before = {
    epoch: c.registry.map.epoch,
    owners: [...c.registry.map.owners],
    backups: [...c.registry.map.backups],
    indexes: [...c.registry.workers.values()].map((w) => [w.id, w.index, w.state]),
    migrations: [...c.registry.migrations.values()],
  };
  c.state.store.close();
  return before;
}

Deno.test("a restarted coordinator loads the same owners, backups, workers and a higher epoch", () => {
  // Snapshots every 3 entries, so the reload goes through a snapshot and the log after it.
  for (const snapshotEvery of [3, 1_000]) {
    const path = tempPath();
    Deno.removeSync(path);
    try {
      const before = writeCluster(path, snapshotEvery);
      assert.ok(before.epoch >= 2, `epoch ${before.epoch}`);
      const again = coordinator(path, () => 5_000, snapshotEvery);
      assert.equal(again.state.load("restart"), true);
      const map = again.registry.map;
      assert.deepEqual([...map.owners], before.owners);
      assert.deepEqual([...map.backups], before.backups);
      assert.equal(map.epoch, before.epoch + 1, "the epoch goes on counting");
      assert.deepEqual(
        [...again.registry.workers.values()].map((w) => [w.id, w.index, w.state]),
        before.indexes,
      );
      assert.deepEqual([...again.registry.migrations.values()], before.migrations);
      assert.deepEqual([...again.gateways.gateways.keys()], ["g1"]);
      // Re-attaching under the same incarnation is not a restart: nothing is reassigned.
      const record = again.registry.register(worker("w2"));
      assert.equal(record.state, "active");
      assert.deepEqual([...again.registry.map.owners], before.owners);
      // A new worker gets an index no one had.
      assert.equal(again.registry.register(worker("w4")).index, 4);
      again.state.store.close();
    } finally {
      removeAll(path);
    }
  }
});

Deno.test("the epoch never repeats across restarts without changes", () => {
  const path = tempPath();
  Deno.removeSync(path);
  try {
    const before = writeCluster(path);
    for (let n = 1; n <= 3; n++) {
      const c = coordinator(path, () => 5_000);
      c.state.load("restart");
      assert.equal(c.registry.map.epoch, before.epoch + n);
      c.state.store.close();
    }
  } finally {
    removeAll(path);
  }
});

Deno.test("a truncated, empty, foreign or garbled state file is refused with a StateFileError", () => {
  const cases: Array<[string, (path: string) => void, RegExp]> = [
    ["empty", (p) => Deno.writeFileSync(p, new Uint8Array()), /is empty \(truncated\?\)/],
    [
      "not SQLite",
      (p) => Deno.writeTextFileSync(p, "x".repeat(8192)),
      /cannot read coordinator state/,
    ],
    [
      "truncated",
      (p) => {
        writeCluster(p);
        const bytes = Deno.readFileSync(p);
        assert.ok(bytes.length > 4096, `only ${bytes.length} bytes`);
        Deno.writeFileSync(p, bytes.subarray(0, bytes.length - 4096));
      },
      /cannot read coordinator state|missing|malformed/,
    ],
    [
      "another SQLite file",
      (p) => {
        const db = new DatabaseSync(p);
        db.exec("CREATE TABLE accounts (id INTEGER PRIMARY KEY)");
        db.close();
      },
      /is not a coordinator state file/,
    ],
    [
      "a garbled log entry",
      (p) => {
        writeCluster(p);
        const db = new DatabaseSync(p);
        db.exec('UPDATE log SET change = \'{"kind":"map","map":{"epoch":-1}}\' WHERE idx = 2');
        db.close();
      },
      /log entry 2: map.owners: expected an array/,
    ],
    [
      "a gap in the log",
      (p) => {
        writeCluster(p);
        const db = new DatabaseSync(p);
        db.exec("DELETE FROM log WHERE idx = 3");
        db.close();
      },
      /log entry 3 is missing/,
    ],
  ];
  for (const [name, damage, message] of cases) {
    const path = tempPath();
    Deno.removeSync(path);
    try {
      damage(path);
      assert.throws(
        () => {
          const c = coordinator(path, () => 0);
          try {
            c.state.load("restart");
          } finally {
            c.state.store.close();
          }
        },
        (error: unknown) =>
          error instanceof StateFileError && message.test(error.message) &&
          error.message.startsWith("STATE_INVALID: ") && !error.message.includes("\n"),
        name,
      );
    } finally {
      removeAll(path);
    }
  }
});

Deno.test("a state file of another world size is refused, naming both sizes", () => {
  const path = tempPath();
  Deno.removeSync(path);
  try {
    writeCluster(path);
    assert.throws(
      () => StateStore.open(path, 4),
      /is of a world of 16 cells; this config's world has 4/,
    );
  } finally {
    removeAll(path);
  }
});

Deno.test("entries after an index come back in order, or nothing once compacted away", () => {
  const path = tempPath();
  Deno.removeSync(path);
  try {
    writeCluster(path, 3);
    const store = StateStore.open(path, grid.cellCount);
    const loaded = store.load()!;
    const tail = store.entriesAfter(loaded.index - 1)!;
    assert.equal(tail.length, 1);
    assert.equal(tail[0].index, loaded.index);
    assert.equal(store.entriesAfter(0), undefined, "the start of the log was compacted");
    store.close();
  } finally {
    removeAll(path);
  }
});

Deno.test("a takeover's epochs are above any the old term could announce; tick 0 is kept", () => {
  const path = tempPath();
  Deno.removeSync(path);
  try {
    const before = writeCluster(path);
    const c = coordinator(path, () => 9_000);
    const stored = c.state.read()!;
    assert.equal(stored.worldStartMs, 1_000, "tick 0 of the first run");
    c.state.adopt(stored, "takeover", { term: 2, peer: "a:7070" });
    assert.equal(c.registry.map.epoch, 2 * TERM_EPOCH_STRIDE);
    assert.ok(c.registry.map.epoch > before.epoch + 1_000_000);
    assert.deepEqual([...c.registry.map.owners], before.owners);
    c.state.store.close();
    // The new term and the peer are durable: a restart keeps them and counts on by one.
    const again = coordinator(path, () => 9_500);
    again.state.load("restart");
    assert.equal(again.state.term, 2);
    assert.equal(again.state.peer, "a:7070");
    assert.equal(again.registry.map.epoch, 2 * TERM_EPOCH_STRIDE + 1);
    again.state.store.close();
  } finally {
    removeAll(path);
  }
});
