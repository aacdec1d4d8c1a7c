import assert from "node:assert/strict";
import { waitUntil } from "../../testing/wait_until.ts";
import { until } from "../../testing/node_process.ts";
import { CoordinatorClient, FENCED } from "../../src/cluster/coordinator_client.ts";
import { Logger } from "../../src/observe/log.ts";
import { grpc, type MapUpdate, requireSecret, startRpcServer } from "../../src/net/rpc.ts";

const SECRET = "coordinator-client-test-secret";
const log = new Logger({ role: "test", node: "t", level: "error" });

const STANDBY_REFUSAL = {
  code: grpc.status.UNAVAILABLE,
  details: "STANDBY: this coordinator is the standby; the active is elsewhere",
};

/** A fake coordinator whose answers the test scripts. */
async function fakeCoordinator() {
  const calls: string[] = [];
  const script = {
    registerFailures: 0,
    heartbeat: "ok" as "ok" | "unknown" | "fenced",
    /** Refuse every call as a standby coordinator does. */
    standby: false,
    watchers: [] as grpc.ServerWritableStream<unknown, MapUpdate>[],
  };
  const reply = {
    workerId: "w1",
    workerIndex: 1,
    world: {
      dims: 2,
      size: [100, 100],
      cellSize: 50,
      tickHz: 20,
      aoiRadius: 10,
      ghostMargin: 20,
      worldStartMs: 0,
    },
    game: new Uint8Array(),
    heartbeatMs: 250,
    workerTimeoutMs: 1000,
    replicationTicks: 2,
    epoch: 4,
  };
  const server = await startRpcServer("127.0.0.1", 0, {
    Coordinator: requireSecret(SECRET, {
      Register(_call: unknown, callback: grpc.sendUnaryData<unknown>) {
        calls.push("Register");
        if (script.standby) return callback(STANDBY_REFUSAL);
        if (script.registerFailures-- > 0) {
          return callback({ code: grpc.status.UNAVAILABLE, details: "not yet" });
        }
        callback(null, reply);
      },
      Heartbeat(_call: unknown, callback: grpc.sendUnaryData<unknown>) {
        calls.push("Heartbeat");
        if (script.standby) return callback(STANDBY_REFUSAL);
        if (script.heartbeat === "unknown") {
          return callback({ code: grpc.status.NOT_FOUND, details: "NOT_FOUND: who?" });
        }
        if (script.heartbeat === "fenced") {
          return callback({
            code: grpc.status.FAILED_PRECONDITION,
            details: `${FENCED}: declared down`,
          });
        }
        callback(null, { epoch: 3 });
      },
      WatchMap(call: grpc.ServerWritableStream<unknown, MapUpdate>) {
        calls.push("WatchMap");
        call.on("error", () => {});
        if (script.standby) return void call.emit("error", STANDBY_REFUSAL);
        script.watchers.push(call);
        call.write({
          epoch: script.watchers.length,
          owners: [],
          workers: [],
          gateways: [],
          backups: {},
        });
      },
    }),
  });
  return { server, calls, script };
}

Deno.test("the client registers through refusals, follows the map again after the stream ends, and tells fenced from forgotten", async () => {
  const { server, calls, script } = await fakeCoordinator();
  const client = new CoordinatorClient({
    address: `127.0.0.1:${server.port}`,
    secret: SECRET,
    log,
    retryMs: 20,
  });
  try {
    script.registerFailures = 2;
    const reply = await client.register("Register", { nodeId: "w1", grpcAddress: "x:1" });
    assert.equal(reply.workerId, "w1");
    assert.equal(calls.filter((c) => c === "Register").length, 3, "two refusals, then success");

    const epochs: number[] = [];
    client.watch("w1", (update) => epochs.push(update.epoch));
    await waitUntil("the first map", () => epochs.length >= 1, 5_000);
    script.watchers[0].end(); // the coordinator ends the stream: the client opens another
    await waitUntil("the map again", () => epochs.length >= 2, 5_000);
    assert.deepEqual(epochs, [1, 2]);

    assert.equal(await client.beat("Heartbeat", { workerId: "w1" }), "ok");
    script.heartbeat = "fenced";
    assert.equal(await client.beat("Heartbeat", { workerId: "w1" }), "fenced");
    script.heartbeat = "unknown";
    const registers = calls.filter((c) => c === "Register").length;
    assert.equal(await client.beat("Heartbeat", { workerId: "w1" }), "failed");
    assert.equal(
      calls.filter((c) => c === "Register").length,
      registers + 1,
      "a forgotten node registers again with its last registration",
    );
  } finally {
    client.close();
    for (const w of script.watchers) w.end();
    await server.close();
  }
});

Deno.test("a wrong secret stops registration with a clear error", async () => {
  const { server } = await fakeCoordinator();
  const client = new CoordinatorClient({
    address: `127.0.0.1:${server.port}`,
    secret: "another-secret-entirely",
    log,
    retryMs: 20,
  });
  try {
    await assert.rejects(
      client.register("Register", { nodeId: "w1", grpcAddress: "x:1" }),
      /the cluster secret was refused/,
    );
  } finally {
    client.close();
    await server.close();
  }
});

Deno.test("given a pair, the client follows whichever coordinator is active", async () => {
  const [a, b] = [await fakeCoordinator(), await fakeCoordinator()];
  a.script.standby = true; // b is active first
  const client = new CoordinatorClient({
    address: `127.0.0.1:${a.server.port},127.0.0.1:${b.server.port}`,
    secret: SECRET,
    log,
    retryMs: 20,
  });
  try {
    const reply = await client.register("Register", { nodeId: "w1", grpcAddress: "x:1" });
    assert.equal(reply.workerId, "w1");
    assert.deepEqual(a.calls, ["Register"], "the standby refused");
    assert.deepEqual(b.calls, ["Register"], "the active answered");
    const epochs: number[] = [];
    client.watch("w1", (update) => epochs.push(update.epoch));
    await waitUntil("the map from the active", () => epochs.length >= 1, 5_000);
    assert.equal(await client.beat("Heartbeat", { workerId: "w1" }), "ok");

    // a takes over, b steps down: the stream ends, heartbeats are refused.
    a.script.standby = false;
    b.script.standby = true;
    for (const w of b.script.watchers) w.end();
    await waitUntil("the map from the new active", () => a.script.watchers.length >= 1, 5_000);
    // The first beat may still go to b (refused: the client switches), the next one to a.
    await until(
      "a beat to reach the new active",
      async () => await client.beat("Heartbeat", { workerId: "w1" }) === "ok" || undefined,
      5_000,
    );
    assert.ok(a.calls.includes("Heartbeat"));
    assert.equal(client.address, `127.0.0.1:${a.server.port}`);
  } finally {
    client.close();
    for (const w of [...a.script.watchers, ...b.script.watchers]) w.end();
    await Promise.all([a.server.close(), b.server.close()]);
  }
});
