// One-way latency of the two directions of a worker link (PeerLinks over Peer.Sync, in one
// process, real HTTP/2 on 127.0.0.1): the dialer sends a payload every 50 ms, the acceptor
// `offset` ms later. Shows that what the dialer writes on its request body waits until the
// connection next reads from the acceptor (so its latency is about `offset`), while the
// acceptor's response-body writes go at once — why handoffs from the smaller worker id arrive
// late (docs/benchmarks.md, handoff).
//
//   deno run -A bench/stream_latency.ts [--bytes 3000] [--offset 10] [--count 200]
import { parseArgs } from "node:util";
import { PeerLinks } from "../src/sync/peer_links.ts";
import { Logger } from "../src/observe/log.ts";
import { grpc, requireSecret, startRpcServer } from "../src/net/rpc.ts";
import { quantile, round } from "./stats.ts";

type ServerSync = grpc.ServerDuplexStream<{ payload: Uint8Array }, { payload: Uint8Array }>;

const { values } = parseArgs({
  args: Deno.args,
  options: {
    bytes: { type: "string", default: "3000" },
    offset: { type: "string", default: "10" },
    count: { type: "string", default: "200" },
  },
});
const bytes = Number(values.bytes), offset = Number(values.offset), count = Number(values.count);
const secret = "stream-latency";
const log = new Logger({ role: "bench", node: "bench", level: "error" });
/** Latencies by sender: "a" dials, "b" accepts. */
const latency: Record<string, number[]> = { a: [], b: [] };
const onPayload = (payload: Uint8Array, peer: string) => {
  const sent = new DataView(payload.buffer, payload.byteOffset).getFloat64(0);
  latency[peer].push(performance.now() - sent);
};
const stamped = () => {
  const payload = new Uint8Array(bytes);
  new DataView(payload.buffer).setFloat64(0, performance.now());
  return payload;
};
const b = new PeerLinks({ self: "b", secret, log, onPayload });
const server = await startRpcServer("127.0.0.1", 0, {
  Peer: requireSecret(secret, { Sync: (call: ServerSync) => b.accept(call) }),
});
const a = new PeerLinks({ self: "a", secret, log, onPayload });
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
try {
  a.update([{ id: "b", grpcAddress: `127.0.0.1:${server.port}`, state: "active" }]);
  for (let n = 0; n < count; n++) {
    a.send("b", stamped());
    if (offset > 0) await sleep(offset);
    if (b.connected().length > 0) b.send("a", stamped());
    await sleep(Math.max(0, 50 - offset));
  }
  await sleep(100);
  for (const [from, direction] of [["a", "dialer → acceptor"], ["b", "acceptor → dialer"]]) {
    const ms = latency[from].slice(10); // the link's first messages include its set-up
    const q = (p: number) => round(quantile(ms, p), 1);
    console.log(
      `${direction}: ${ms.length} payloads of ${bytes} B, p50 ${q(0.5)} ms, p90 ${q(0.9)} ms, ` +
        `max ${q(1)} ms (acceptor sends ${offset} ms after the dialer)`,
    );
  }
} finally {
  a.close();
  b.close();
  await server.close();
}
