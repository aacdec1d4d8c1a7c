import assert from "node:assert/strict";
import { PeerLinks } from "../../src/sync/peer_links.ts";
import { Logger, type LogRecord } from "../../src/observe/log.ts";
import { BATCH_VERSION } from "../../src/sync/batch_codec.ts";
import { grpc, requireSecret, startRpcServer } from "../../src/net/rpc.ts";
import { until } from "../../testing/node_process.ts";
import { PeerChild } from "../../testing/peer_child.ts";
import { waitUntil } from "../../testing/wait_until.ts";

const SECRET = "peer-links-test-secret";
type ServerSync = grpc.ServerDuplexStream<{ payload: Uint8Array }, { payload: Uint8Array }>;

const log = new Logger({ role: "test", node: "a", level: "error" });

Deno.test("a full queue drops ghost-only batches, never those carrying handoffs or mirrors", () => {
  const links = new PeerLinks({ self: "a", secret: "", log, onPayload: () => {}, maxQueue: 10 });
  try {
    // "b" is not connected: everything queues, in order.
    for (let n = 0; n < 30; n++) links.send("b", new Uint8Array([n]), n % 2 === 0);
    assert.equal(links.dropped, 15, "every droppable batch beyond the bound went");
    assert.equal(links.queued("b"), 15, "all 15 batches that must be kept are still queued");
    for (let n = 0; n < 5; n++) links.send("b", new Uint8Array([n]), true);
    assert.equal(links.queued("b"), 20, "kept batches may exceed the bound; none is lost");
    links.discardQueued();
    assert.equal(links.queued("b"), 0);
  } finally {
    links.close();
  }
});

/** Worker "b" accepting Peer.Sync on a real gRPC server, and worker "a" dialing it. */
async function linkedPair(versions: { a: number; b: number }) {
  const records: LogRecord[] = [];
  const sink = (_line: string, record: LogRecord) => void records.push(record);
  const logOf = (node: string) => new Logger({ role: "worker", node, level: "debug", sink });
  const got: Array<[string, number]> = [];
  const onPayload = (payload: Uint8Array, peer: string) => void got.push([peer, payload[0]]);
  const b = new PeerLinks({
    self: "b",
    secret: SECRET,
    log: logOf("b"),
    onPayload,
    version: versions.b,
  });
  const server = await startRpcServer("127.0.0.1", 0, {
    Peer: requireSecret(SECRET, { Sync: (call: ServerSync) => b.accept(call) }),
  });
  const a = new PeerLinks({
    self: "a",
    secret: SECRET,
    log: logOf("a"),
    onPayload,
    version: versions.a,
    retryMs: 50,
  });
  const workers = [
    { id: "a", grpcAddress: "127.0.0.1:1", state: "active" },
    { id: "b", grpcAddress: `127.0.0.1:${server.port}`, state: "active" },
  ];
  a.update(workers);
  return {
    a,
    b,
    records,
    got,
    async close() {
      a.close();
      b.close();
      await server.close();
    },
  };
}

Deno.test("linked workers of the same batch version exchange payloads", async () => {
  const pair = await linkedPair({ a: BATCH_VERSION, b: BATCH_VERSION });
  try {
    pair.a.send("b", new Uint8Array([7]));
    await until("b to receive a's payload", () => Promise.resolve(pair.got.length || undefined));
    assert.deepEqual(pair.got, [["a", 7]]);
    assert.deepEqual(pair.b.connected(), ["a"]);
    assert.equal(pair.records.filter((r) => r.event === "link.refused").length, 0);
  } finally {
    await pair.close();
  }
});

Deno.test("a worker dialing with another batch version is refused with a clear error, and nothing it sends is read", async () => {
  const pair = await linkedPair({ a: BATCH_VERSION - 1, b: BATCH_VERSION });
  try {
    pair.a.send("b", new Uint8Array([7]));
    const refusals = await until("both sides to log the refusal", () => {
      const seen = pair.records.filter((r) => r.event === "link.refused");
      return Promise.resolve(new Set(seen.map((r) => r.node)).size === 2 ? seen : undefined);
    });
    const expected = `a sends payload version ${
      BATCH_VERSION - 1
    }; b reads version ${BATCH_VERSION} only`;
    for (const r of refusals) {
      assert.equal(r.level, "error");
      assert.match(String(r.details), new RegExp(`^(FAILED_PRECONDITION: )?${expected}$`));
    }
    // The dialer keeps retrying (the peer may be upgraded) but says so once, not per retry.
    await until("a to dial again and be refused twice more", () => {
      const onB = pair.records.filter((r) => r.event === "link.refused" && r.node === "b");
      return Promise.resolve(onB.length >= 3 || undefined);
    });
    assert.equal(
      pair.records.filter((r) => r.event === "link.refused" && r.node === "a").length,
      1,
    );
    assert.deepEqual(pair.got, [], "b read nothing from a");
    assert.deepEqual(pair.b.connected(), []);
  } finally {
    await pair.close();
  }
});

/** A 256 KiB payload carrying `seq` in its first four bytes. */
function numbered(seq: number): Uint8Array {
  const bytes = new Uint8Array(256 * 1024);
  new DataView(bytes.buffer).setUint32(0, seq);
  return bytes;
}

const seqOf = (payload: Uint8Array) =>
  new DataView(payload.buffer, payload.byteOffset, payload.byteLength).getUint32(0);

Deno.test("a peer that stops reading (SIGSTOP) blocks its link: batches queue under the bound, ghost-only ones drop, and every kept one arrives in order after SIGCONT", async () => {
  // A real peer process echoing every Sync batch back; stopped, it reads nothing, so HTTP/2
  // flow control fills and the stream's write() says false. Its keepalive (5 s) would end the
  // stream, so the test resumes it well before.
  const child = new PeerChild(["serve", SECRET]);
  const echoed: number[] = [];
  const records: LogRecord[] = [];
  const links = new PeerLinks({
    self: "a",
    secret: SECRET,
    log: new Logger({
      role: "worker",
      node: "a",
      level: "debug",
      sink: (_l, r) => void records.push(r),
    }),
    onPayload: (payload) => void echoed.push(seqOf(payload)),
    maxQueue: 20,
    retryMs: 50,
  });
  try {
    const { grpcPort } = await child.waitFor("peer.listening");
    links.update([{ id: "b", grpcAddress: `127.0.0.1:${grpcPort}`, state: "active" }]);
    const kept = [0];
    links.send("b", numbered(0), true);
    await waitUntil("the first batch echoed", () => echoed.length === 1);

    child.child.kill("SIGSTOP");
    let seq = 1;
    // Kept batches until the stream is full (the link starts queueing): at most 64 MiB.
    while (links.queued("b") === 0) {
      assert.ok(seq < 256, `the link never blocked after ${seq} batches of 256 KiB`);
      links.send("b", numbered(seq), true);
      kept.push(seq++);
      await new Promise((resolve) => setTimeout(resolve, 0)); // let the stream take what it can
    }
    assert.equal(links.queued("b"), 1, "the batch the full stream refused waits in the queue");
    assert.ok(records.some((r) => r.event === "link.blocked"));
    for (let n = 0; n < 40; n++) links.send("b", numbered(seq++), false);
    assert.deepEqual([links.queued("b"), links.dropped], [20, 21], "ghost-only batches over 20 go");
    for (let n = 0; n < 10; n++) {
      links.send("b", numbered(seq), true);
      kept.push(seq++);
    }
    assert.deepEqual([links.queued("b"), links.dropped], [20, 31], "each kept one pushes one out");
    assert.deepEqual(links.connected(), ["b"], "the stream is still up: nothing failed");

    child.child.kill("SIGCONT");
    const last = seq - 1;
    await waitUntil("the last batch echoed", () => echoed.at(-1) === last, 20_000);
    assert.equal(links.queued("b"), 0);
    for (let n = 1; n < echoed.length; n++) {
      assert.ok(echoed[n] > echoed[n - 1], `out of order: ${echoed[n - 1]} then ${echoed[n]}`);
    }
    const got = new Set(echoed);
    assert.deepEqual(kept.filter((k) => !got.has(k)), [], "every kept batch arrived");
    assert.equal(echoed.length, seq - 31, "everything but the 31 dropped arrived");
    assert.ok(records.some((r) => r.event === "link.drained"));
  } finally {
    links.close();
    await child.stop();
  }
});

Deno.test("with sendOnAccepted both sides dial, and each writes only on the stream its peer dialed", async () => {
  const got: Array<[string, string, number]> = [];
  const make = (self: string) =>
    new PeerLinks({
      self,
      secret: SECRET,
      log,
      sendOnAccepted: true,
      retryMs: 50,
      onPayload: (payload, peer) => void got.push([self, peer, payload[0]]),
    });
  const a = make("a"), b = make("b");
  const serve = (links: PeerLinks) =>
    startRpcServer("127.0.0.1", 0, {
      Peer: requireSecret(SECRET, { Sync: (call: ServerSync) => links.accept(call) }),
    });
  const [serverA, serverB] = await Promise.all([serve(a), serve(b)]);
  const workers = [
    { id: "a", grpcAddress: `127.0.0.1:${serverA.port}`, state: "active" },
    { id: "b", grpcAddress: `127.0.0.1:${serverB.port}`, state: "active" },
  ];
  try {
    a.update(workers); // a dials b; b has not dialed a yet
    await waitUntil("b to accept a's stream", () => b.connected().length === 1);
    a.send("b", new Uint8Array([1]));
    assert.equal(a.queued("b"), 1, "a has no stream dialed by b to write on: it waits");
    b.send("a", new Uint8Array([2])); // on the stream a dialed
    await waitUntil("a to get b's payload", () => got.length === 1);
    b.update(workers); // b dials a: a's queued payload goes on that stream
    await waitUntil("b to get a's payload", () => got.length === 2);
    assert.deepEqual(got, [["a", "b", 2], ["b", "a", 1]]);
    assert.equal(a.queued("b"), 0);
    a.cut("b");
    a.heal("b");
    a.send("b", new Uint8Array([3]));
    await waitUntil("a's payload after a cut and heal", () => got.length === 3);
    assert.deepEqual(got[2], ["b", "a", 3]);
  } finally {
    a.close();
    b.close();
    await Promise.all([serverA.close(), serverB.close()]);
  }
});
