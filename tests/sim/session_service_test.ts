import assert from "node:assert/strict";
import { GatewayStreams } from "../../src/sim/session_service.ts";
import { CommandOutbox, sessionStreams } from "../../src/session/hub_transport.ts";
import { encodeCommands } from "../../src/session/session_wire.ts";
import type { GatewayCommand } from "../../src/session/session_messages.ts";
import {
  requireSecret,
  rpcClient,
  type RpcError,
  startRpcServer,
  status,
  unary,
} from "../../src/net/rpc.ts";
import { Logger } from "../../src/observe/log.ts";
import type { Space } from "../../src/sim/space.ts";
import { waitUntil } from "../../testing/wait_until.ts";

const SECRET = "session-service-test-secret";
const log = new Logger({ role: "test", node: "t", level: "error" });

Deno.test("every attach of a gateway's stream, the first and each one after a break, is announced", async () => {
  const attached: string[] = [];
  const worker = new GatewayStreams({
    log,
    space: () => ({ command() {} }) as unknown as Space,
    onAttached: (gateway) => void attached.push(gateway),
  });
  const server = await startRpcServer("127.0.0.1", 0, {
    Sessions: requireSecret(SECRET, worker.service()),
  });
  // The gateway's side as the gateway role builds it: PeerLinks dialing Sessions.Attach.
  const { links } = sessionStreams({
    self: "g1",
    secret: SECRET,
    log,
    countError() {},
    onReport() {},
  });
  try {
    links.update([{ id: "w1", grpcAddress: `127.0.0.1:${server.port}`, state: "active" }]);
    await waitUntil("the first attach", () => attached.length === 1);
    links.cut("w1"); // the stream breaks, as a network fault would
    links.heal("w1");
    await waitUntil("the attach after the break", () => attached.length === 2);
    assert.deepEqual(attached, ["g1", "g1"]);
  } finally {
    links.close();
    worker.close();
    await server.close();
  }
});

Deno.test("commands go by Sessions.Send in order; those sent before the stream attached wait for it", async () => {
  const received: string[] = [];
  const worker = new GatewayStreams({
    log,
    space: () =>
      ({
        command: (gateway: string, c: GatewayCommand) =>
          void received.push(`${gateway}:${c.op}:${c.op === "input" ? c.input.seq : c.session}`),
      }) as unknown as Space,
  });
  const server = await startRpcServer("127.0.0.1", 0, {
    Sessions: requireSecret(SECRET, worker.service()),
  });
  const { links, outbox } = sessionStreams({
    self: "g1",
    secret: SECRET,
    log,
    countError() {},
    onReport() {},
  });
  const input = (seq: number): GatewayCommand => ({
    op: "input",
    entity: 5,
    conn: "j1",
    input: { seq, move: [1, 0] },
  });
  try {
    // No link yet: the detach waits, tried again until the stream is up.
    outbox.send("w1", { op: "detach", entity: 5, session: "s1", conn: "j1" });
    links.update([{ id: "w1", grpcAddress: `127.0.0.1:${server.port}`, state: "active" }]);
    for (let seq = 1; seq <= 50; seq++) {
      outbox.send("w1", input(seq));
      if (seq % 10 === 0) await new Promise((resolve) => setTimeout(resolve, 1));
    }
    await waitUntil(
      "every command",
      () => received.length >= 51 || received.at(-1) === "g1:input:50",
    );
    // Inputs may be dropped while the link was down, never reordered; the detach never.
    assert.equal(received[0], "g1:detach:s1");
    const seqs = received.slice(1).map((r) => Number(r.split(":")[2]));
    assert.deepEqual(seqs, [...seqs].sort((a, b) => a - b));
    assert.equal(seqs.at(-1), 50);
  } finally {
    outbox.close();
    links.close();
    worker.close();
    await server.close();
  }
});

Deno.test("a Send from a gateway with no stream here is UNAVAILABLE; a bad batch is INVALID_ARGUMENT", async () => {
  let rejected = 0;
  const worker = new GatewayStreams({
    log,
    space: () => ({ command() {} }) as unknown as Space,
    onRejected: () => void rejected++,
  });
  const server = await startRpcServer("127.0.0.1", 0, {
    Sessions: requireSecret(SECRET, worker.service()),
  });
  const client = rpcClient("Sessions", `127.0.0.1:${server.port}`, SECRET);
  try {
    const send = (payload: Uint8Array) => unary(client, "Send", { payload });
    await assert.rejects(
      send(encodeCommands("g9", [{ op: "detach", entity: 1, session: "s", conn: "j" }])),
      (error: RpcError) => {
        assert.equal(error.code, status.UNAVAILABLE);
        assert.match(error.details, /gateway g9 has no Attach stream to this worker/);
        return true;
      },
    );
    assert.equal(rejected, 0, "not attached yet is no fault of the batch");
    await assert.rejects(send(new Uint8Array([0xc1])), (error: RpcError) => {
      assert.equal(error.code, status.INVALID_ARGUMENT);
      assert.match(error.details, /Cannot decode batch/);
      return true;
    });
    assert.equal(rejected, 1);
  } finally {
    client.close();
    worker.close();
    await server.close();
  }
});

Deno.test("the outbox keeps one delivery in flight per worker and resends all but inputs of a failed one", async () => {
  const calls: Array<{ worker: string; ops: string[]; done: PromiseWithResolvers<void> }> = [];
  const outbox = new CommandOutbox((worker, commands) => {
    const done = Promise.withResolvers<void>();
    calls.push({
      worker,
      ops: commands.map((c) => c.op === "input" ? `i${c.input.seq}` : c.op),
      done,
    });
    return done.promise;
  }, { retryMs: 1 });
  const input = (seq: number): GatewayCommand => ({
    op: "input",
    entity: 1,
    conn: "j",
    input: { seq, move: [0, 1] },
  });
  try {
    outbox.send("w1", input(1));
    await waitUntil("the first delivery", () => calls.length === 1);
    // While it is in flight, more commands wait, for w1 only.
    outbox.send("w1", input(2));
    outbox.send("w1", { op: "detach", entity: 1, session: "s", conn: "j" });
    outbox.send("w2", input(9));
    await waitUntil("w2's delivery", () => calls.length === 2);
    assert.deepEqual(calls.map((c) => [c.worker, c.ops]), [["w1", ["i1"]], ["w2", ["i9"]]]);
    calls[0].done.resolve();
    await waitUntil("w1's next batch", () => calls.length === 3);
    assert.deepEqual(calls[2].ops, ["i2", "detach"]);
    outbox.send("w1", input(3));
    calls[2].done.reject(new Error("connection reset"));
    await waitUntil("the retry", () => calls.length === 4);
    // The detach goes again, first; the failed input does not, the newer one does.
    assert.deepEqual(calls[3].ops, ["detach", "i3"]);
    assert.equal(outbox.dropped, 1);
  } finally {
    outbox.close();
  }
});
