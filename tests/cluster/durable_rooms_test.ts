// The instance and user directories in the coordinator's state file (coordinator_state.ts,
// durable_state.ts): a restart loads every instance with its seats, owner, options, emptiness
// and worker (moves included), the users with where they are, the creation counter, and
// rebuilds the indexes; a standby replaying the log ends with the same directories; damaged
// records are refused.
import assert from "node:assert/strict";
import { DatabaseSync } from "node:sqlite";
import { StateStore } from "../../src/cluster/state_store.ts";
import { CoordinatorState } from "../../src/cluster/coordinator_state.ts";
import { GatewayDirectory } from "../../src/cluster/gateway_directory.ts";
import { InstanceDirectory, instanceRow } from "../../src/cluster/instance_directory.ts";
import { Registry } from "../../src/cluster/registry.ts";
import { applyChange } from "../../src/cluster/durable_state.ts";
import { parseState, StateFileError } from "../../src/cluster/durable_state_reader.ts";
import { Grid } from "../../src/world/grid.ts";
import { decode, encode } from "../../src/protocol/msgpack.ts";

const grid = new Grid({ dims: 2, size: [400, 400], cellSize: 100 });
const AUTOSCALE = { highWater: 0, lowWater: 0, sustainMs: 5000 };

/** A coordinator's live objects on the state file at `path`, as the role wires them. */
function coordinator(path: string, now: () => number, snapshotEvery?: number) {
  let autoscale = { ...AUTOSCALE };
  let state: CoordinatorState | undefined = undefined;
  const registry = new Registry({
    grid,
    minWorkers: 1,
    workerTimeoutMs: 1000,
    now,
    onMap: () => state?.commit(),
  });
  const directory = new InstanceDirectory({ emptyGraceMs: 1_000, lostGraceMs: 500, now });
  state = new CoordinatorState({
    store: StateStore.open(path, grid.cellCount),
    registry,
    gateways: new GatewayDirectory({ timeoutMs: 1000, now }),
    autoscale: { get: () => autoscale, set: (v) => (autoscale = v) },
    world: { worldStartMs: 1 },
    instances: directory,
    snapshotEvery,
    now,
  });
  return { registry, directory, state };
}

function tempPath(): string {
  const path = Deno.makeTempFileSync({ prefix: "zs-rooms-", suffix: ".sqlite" });
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

const spec = (mode: string, worker: string, owner: string, extra = {}) => ({
  mode,
  // As the instance service keeps them: through msgpack and back.
  options: decode(encode({ rounds: 3, map: "dunes", bytes: new Uint8Array([1, 2, 255]) })),
  maxPlayers: 2,
  private: false,
  tags: ["eu", mode],
  version: "1.0.0",
  worker,
  owner,
  ...extra,
});

/** Writes rooms of every kind into `path`, committing after each step; returns the directory. */
function writeRooms(path: string, snapshotEvery?: number) {
  let t = 10_000;
  const c = coordinator(path, () => t, snapshotEvery);
  c.state.load("test");
  const d = c.directory;
  const full = d.create(spec("duel", "w1", "ann"));
  d.reserve(full.id, "ann", "g1", { world: { x: 5, y: 6, z: 0 } });
  d.reserve(full.id, "bob", "g1");
  c.state.commit();
  t += 10;
  const open = d.create(spec("duel", "w2", "cat"));
  d.reserve(open.id, "cat", "g2");
  c.state.commit();
  const hidden = d.create(spec("arena", "w2", "dan", { private: true, maxPlayers: 4 }));
  d.reserve(hidden.id, "dan", "g2");
  c.state.commit();
  d.relocate(hidden.id, "w1"); // moved live (or failed over) to w1
  c.state.commit();
  const emptied = d.create(spec("arena", "w1", "eve"));
  d.reserve(emptied.id, "eve", "g1");
  c.state.commit();
  t += 100;
  d.release("eve"); // empty since t
  d.online("fay", "g2", { world: { x: 1, y: 2, z: 3 } }); // in the world
  c.state.commit();
  const gone = d.create(spec("duel", "w1", "gus")); // the newest creation, destroyed
  c.state.commit();
  d.destroy(gone.id);
  d.gatewayDown("g2"); // its users go offline after the grace unless they resume
  c.state.commit();
  c.state.store.close();
  return { t, d, ids: { full: full.id, open: open.id, hidden: hidden.id, emptied: emptied.id } };
}

/** Everything a client or the coordinator can read back of a directory. */
function view(d: InstanceDirectory) {
  return {
    seq: d.seq,
    size: d.size,
    users: d.users,
    records: [...d.all()].map((r) => ({
      ...instanceRow(r),
      seq: r.seq,
      owner: r.owner,
      worker: r.worker,
      moves: r.moves,
      options: r.options,
      seats: [...r.players].sort(),
      emptySince: r.emptySince,
    })),
    who: ["ann", "bob", "cat", "dan", "eve", "fay"].map((u) => JSON.stringify(d.user(u) ?? u)),
    seatsOn: [d.seatsOn("w1"), d.seatsOn("w2")],
    countOn: [d.countOn("w1"), d.countOn("w2")],
  };
}

Deno.test("a restart loads every instance, its seats, owner and options, the users and the counter", () => {
  for (const snapshotEvery of [2, 1_000]) {
    const path = tempPath();
    try {
      const { t, d: before, ids } = writeRooms(path, snapshotEvery);
      const after = coordinator(path, () => t, snapshotEvery);
      assert.equal(after.state.load("restart"), true);
      const d = after.directory;
      assert.deepEqual(view(d), view(before), `snapshotEvery ${snapshotEvery}`);
      assert.equal(d.get(ids.full)!.owner, "ann");
      const options = d.get(ids.full)!.options as { rounds: number; bytes: Uint8Array };
      assert.equal(options.rounds, 3);
      assert.deepEqual([...options.bytes], [1, 2, 255], "binary options survive exactly");
      // The indexes are rebuilt: searches, quick-join and seats work on the loaded records.
      assert.deepEqual(d.search({ mode: "duel" }).instances.map((r) => r.id), [ids.full, ids.open]);
      assert.deepEqual(d.search({ tags: ["eu"], open: true }).instances.map((r) => r.id), [
        ids.open,
        ids.emptied,
      ]);
      assert.deepEqual(d.search({ worker: "w2" }).instances.map((r) => r.id), [ids.open]);
      const moved = d.get(ids.hidden)!;
      assert.deepEqual([moved.worker, moved.moves], ["w1", 1], "a move is durable");
      assert.ok(d.search({ worker: "w1" }, "all").instances.some((r) => r.id === ids.hidden));
      assert.equal(d.findOpen("duel")?.id, ids.open);
      assert.throws(() => d.reserve(ids.full, "zed", "g1"), /is full/);
      d.reserve(ids.open, "zed", "g1");
      assert.equal(d.findOpen("duel"), undefined, "the last duel seat is taken");
      // A new instance never reuses an id, not even the destroyed newest one's.
      assert.equal(d.create(spec("duel", "w1", "hal")).seq, before.seq + 1);
      // The downed gateway's users go offline after the grace, as before the restart.
      const swept = coordinator(path, () => t + 1_000, snapshotEvery);
      swept.state.load("restart");
      swept.directory.sweep();
      assert.equal(swept.directory.user("cat"), undefined, "cat's gateway stayed down");
      assert.equal(swept.directory.get(ids.open)!.players.size, 0, "and her seat is free");
      assert.equal(swept.directory.get(ids.emptied), undefined, "empty past its grace: destroyed");
      swept.state.store.close();
      after.state.store.close();
    } finally {
      removeAll(path);
    }
  }
});

Deno.test("a standby replaying the log ends with the same directories as the active", () => {
  const path = tempPath();
  try {
    const active = coordinator(path, () => 10_000);
    active.state.read();
    // The standby starts from the active's snapshot, as log shipping sends it.
    const replayed = parseState(
      JSON.parse(JSON.stringify(active.state.committed)),
      grid.cellCount,
      "snapshot",
    );
    active.state.onAppend((entries) => {
      // Through the wire format, as log shipping sends them.
      for (const e of entries) applyChange(replayed, JSON.parse(JSON.stringify(e.change)));
    });
    const d = active.directory;
    const a = d.create(spec("duel", "w1", "ann"));
    d.reserve(a.id, "ann", "g1");
    active.state.commit();
    d.reserve(a.id, "bob", "g1");
    d.destroy(d.create(spec("arena", "w1", "cat")).id);
    d.online("cat", "g1");
    active.state.commit();
    d.offline("bob");
    active.state.commit();
    assert.deepEqual(replayed.rooms, active.state.committed.rooms);
    const standby = coordinator(":memory:", () => 10_000);
    standby.state.adopt(replayed, "takeover", { term: 2, peer: "a:7070" });
    assert.deepEqual(view(standby.directory), view(d));
    active.state.store.close();
  } finally {
    removeAll(path);
  }
});

Deno.test("a commit logs the rooms that changed, and nothing when none did", () => {
  const c = coordinator(":memory:", () => 0);
  c.state.read();
  c.directory.reserve(c.directory.create(spec("duel", "w1", "ann")).id, "ann", "g1");
  const first = c.state.commit();
  assert.equal(c.state.commit(), first, "nothing changed, nothing appended");
  c.directory.search({ mode: "duel" });
  c.directory.findOpen("duel");
  assert.equal(c.state.commit(), first, "reads change nothing");
  // A seat taken among many instances logs that instance and that user, nothing else.
  const ids = Array.from({ length: 100 }, () => c.directory.create(spec("duel", "w1", "x")).id);
  c.state.commit();
  const logged: string[] = [];
  c.state.onAppend((entries) => logged.push(...entries.map((e) => e.change.kind)));
  c.directory.reserve(ids[50], "bob", "g1");
  c.state.commit();
  assert.deepEqual(logged.sort(), ["instance", "user"]);
});

Deno.test("damaged instance or user records stop the load with a StateFileError naming them", () => {
  const cases: Array<[string, string, RegExp]> = [
    [
      "$.rooms.instances.i1.maxPlayers",
      '"many"',
      /rooms\.instances\.i1\.maxPlayers: expected an integer/,
    ],
    ["$.rooms.instances.i1.players", '"ann"', /rooms\.instances\.i1\.players: expected an array/],
    ["$.rooms.instances.i1.moves", "-1", /rooms\.instances\.i1\.moves: expected an integer >= 0/],
    ["$.rooms.instances.i1.options", '"@@@"', /rooms\.instances\.i1\.options: expected msgpack/],
    ["$.rooms.instances.i1.id", '"i9"', /rooms\.instances\.i1: the record is of i9/],
    ["$.rooms.seq", "0", /creation number 1 is above the counter 0/],
    ["$.rooms.users.ann.world", '"here"', /rooms\.users\.ann\.world: expected an object/],
    ["$.rooms.instances", "7", /rooms\.instances: expected an object/],
  ];
  for (const [at, value, message] of cases) {
    const path = tempPath();
    try {
      writeRooms(path, 1_000);
      const db = new DatabaseSync(path);
      // Damage the snapshot (the log's entries start from it).
      const c = coordinator(path, () => 0, 1_000);
      c.state.store.snapshot(c.state.read()!);
      c.state.store.close();
      db.exec(`UPDATE snapshot SET state = json_set(state, '${at}', json('${value}'))`);
      db.close();
      assert.throws(
        () => {
          const again = coordinator(path, () => 0);
          try {
            again.state.load("restart");
          } finally {
            again.state.store.close();
          }
        },
        (error: unknown) =>
          error instanceof StateFileError && message.test(error.message) &&
          error.message.startsWith("STATE_INVALID: ") && !error.message.includes("\n"),
        at,
      );
    } finally {
      removeAll(path);
    }
  }
  // A log entry of a damaged instance is refused the same way.
  const path = tempPath();
  try {
    writeRooms(path, 1_000);
    const db = new DatabaseSync(path);
    db.exec(
      `UPDATE log SET change = json_set(change, '$.instance.seq', -1) WHERE idx = (SELECT MIN(idx) FROM log WHERE json_extract(change, '$.kind') = 'instance')`,
    );
    db.close();
    assert.throws(
      () => {
        const again = coordinator(path, () => 0);
        try {
          again.state.load("restart");
        } finally {
          again.state.store.close();
        }
      },
      /STATE_INVALID: .*log entry \d+: instance\.seq: expected an integer >= 1/,
    );
  } finally {
    removeAll(path);
  }
});

Deno.test("a state written before rooms were durable loads with empty directories", () => {
  const path = tempPath();
  try {
    writeRooms(path, 1_000);
    const c = coordinator(path, () => 0, 1_000);
    const stored = c.state.read()!;
    c.state.store.snapshot(stored);
    c.state.store.close();
    const db = new DatabaseSync(path);
    db.exec("UPDATE snapshot SET state = json_remove(state, '$.rooms')");
    db.exec("DELETE FROM log");
    db.close();
    const again = coordinator(path, () => 0);
    assert.equal(again.state.load("restart"), true);
    assert.equal(again.directory.size, 0);
    assert.equal(again.directory.seq, 0);
    again.state.store.close();
  } finally {
    removeAll(path);
  }
});
