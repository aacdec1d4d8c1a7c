// Log replay between an active coordinator's LogShipping and a Standby over a real gRPC
// server in this process, each with its own in-memory state store: snapshot, entries,
// announcements held until acknowledged, resuming from the last applied entry, a divergent
// standby re-sent a snapshot, and the takeover once the active falls silent.
import assert from "node:assert/strict";
import { CoordinatorState } from "../../src/cluster/coordinator_state.ts";
import { GatewayDirectory } from "../../src/cluster/gateway_directory.ts";
import { LogShipping } from "../../src/cluster/log_shipping.ts";
import { Registry } from "../../src/cluster/registry.ts";
import { Standby } from "../../src/cluster/standby.ts";
import { StateStore } from "../../src/cluster/state_store.ts";
import { Logger } from "../../src/observe/log.ts";
import { requireSecret, type RpcServer, startRpcServer } from "../../src/net/rpc.ts";
import { Grid } from "../../src/world/grid.ts";
import { until } from "../../testing/node_process.ts";
import { waitUntil } from "../../testing/wait_until.ts";

const SECRET = "log-shipping-test-secret";
const log = new Logger({ role: "test", node: "t", level: "error" });
const grid = new Grid({ dims: 2, size: [400, 400], cellSize: 100 });

/** An active coordinator's state and log shipping behind a real gRPC server. */
async function active() {
  let state: CoordinatorState | undefined = undefined;
  const registry = new Registry({
    grid,
    minWorkers: 2,
    workerTimeoutMs: 60_000,
    onMap: () => state?.commit(),
  });
  let autoscale = { highWater: 0, lowWater: 0, sustainMs: 0 };
  state = new CoordinatorState({
    store: StateStore.open(":memory:", grid.cellCount),
    registry,
    gateways: new GatewayDirectory({ timeoutMs: 60_000 }),
    autoscale: { get: () => autoscale, set: (v) => (autoscale = v) },
    world: { worldStartMs: 5 },
  });
  state.read();
  const shipping = new LogShipping({
    state,
    log,
    self: { httpAddress: "127.0.0.1:8080" },
    keepaliveMs: 50,
    ackTimeoutMs: 5_000,
  });
  const server: RpcServer = await startRpcServer("127.0.0.1", 0, {
    Coordinator: requireSecret(SECRET, {
      Follow: (call: Parameters<LogShipping["follow"]>[0]) => shipping.follow(call),
    }),
  });
  return { registry, state, shipping, server, address: `127.0.0.1:${server.port}` };
}

function standbyOf(
  address: string,
  store: StateStore,
  initial?: Standby["state"],
  now?: () => number,
) {
  return new Standby({
    now,
    active: address,
    secret: SECRET,
    log,
    store,
    cellCount: grid.cellCount,
    initial,
    takeoverMs: 300,
    address: "127.0.0.1:7071",
    httpAddress: "127.0.0.1:8081",
  });
}

const worker = (id: string) => ({
  nodeId: id,
  grpcAddress: `127.0.0.1:${id.length}`,
  httpAddress: "",
  version: "1",
  pool: false,
  incarnation: id,
});

Deno.test("a standby replays the active's log and takes over with its state when it falls silent", async () => {
  const a = await active();
  const store = StateStore.open(":memory:", grid.cellCount);
  let standby = standbyOf(a.address, store);
  const stores = [store];
  try {
    a.registry.register(worker("w1"));
    a.state.commit();
    let takeover = standby.run();
    // A new standby gets a snapshot, then every entry as it is committed.
    await waitUntil(
      "the standby attached",
      () => a.shipping.standby?.acked === a.state.store.last.index,
    );
    assert.equal(a.state.peer, "127.0.0.1:7071", "the active knows its standby");

    // An announcement waits for the standby's acknowledgement of its entries.
    a.registry.register(worker("w2")); // the map is assigned: entries
    const index = a.state.commit();
    let announced = false;
    a.shipping.after(index, () => (announced = true));
    await waitUntil("the announcement after the acknowledgement", () => announced);
    assert.ok(a.shipping.standby!.acked >= index);
    assert.equal(store.last.index, a.state.store.last.index);
    assert.deepEqual(standby.state?.map.owners, [...a.registry.map.owners]);

    // A standby that comes back resumes after its last entry: no snapshot, the same log.
    standby.close();
    const stored = standby.state!;
    const lastIndex = store.last.index;
    a.registry.moveCells([{ cell: 0, from: a.registry.map.owners[0], to: "w2" }], "test");
    standby = standbyOf(a.address, store, stored);
    takeover = standby.run();
    await waitUntil("caught up again", () => store.last.index === a.state.store.last.index);
    assert.ok(store.last.index > lastIndex);
    assert.equal(standby.state?.map.owners[0], "w2");
    assert.equal(standby.snapshots, 0, "entries only, from where it stood");

    // A standby whose log differs (its last entry has another term) is sent a snapshot.
    standby.close();
    const other = StateStore.open(":memory:", grid.cellCount);
    stores.push(other);
    const divergent = structuredClone(stored);
    other.reset(divergent, store.last.index, 99);
    standby = standbyOf(a.address, other, divergent);
    takeover = standby.run();
    await waitUntil("the snapshot", () => standby.snapshots === 1);
    await waitUntil("caught up", () => other.last.index === a.state.store.last.index);
    assert.equal(other.last.term, a.state.term);

    // The active falls silent: the standby takes over its state in a higher term.
    a.shipping.close();
    await a.server.close();
    const taken = await until("the takeover", () => takeover, 5_000);
    assert.equal(taken.term, 100, "one above the highest term seen");
    assert.deepEqual(taken.state.map.owners, [...a.registry.map.owners]);
    assert.ok(taken.silentMs > 300);
  } finally {
    standby.close();
    a.shipping.close();
    await a.server.close();
    a.state.store.close();
    for (const s of stores) s.close();
  }
});

Deno.test("a standby that never heard from its active does not take over a stored state", async () => {
  const store = StateStore.open(":memory:", grid.cellCount);
  const a = await active();
  const address = a.address;
  a.shipping.close();
  await a.server.close(); // nothing listens there any more
  let t = 0; // the standby's clock
  const standby = standbyOf(address, store, structuredClone(a.state.committed), () => t);
  try {
    let took = false;
    void standby.run().then(() => (took = true));
    t = 1_000_000; // silent for far longer than the bound at once
    // The takeover check runs every takeoverMs / 10 = 30 ms: give it a dozen turns.
    await new Promise((resolve) => setTimeout(resolve, 400));
    assert.equal(took, false);
    assert.equal(standby.state?.map.epoch, a.state.committed.map.epoch, "it kept its state");
  } finally {
    standby.close();
    a.state.store.close();
    store.close();
  }
});
