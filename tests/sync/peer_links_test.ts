import assert from "node:assert/strict";
import { PeerLinks } from "../../src/sync/peer_links.ts";
import { Logger, type LogRecord } from "../../src/observe/log.ts";
import { BATCH_VERSION } from "../../src/sync/batch_codec.ts";
import { grpc, requireSecret, startRpcServer } from "../../src/net/rpc.ts";
import { until } from "../../testing/node_process.ts";

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
