// A ZoneScaler load-generator process for the benchmarks: the bots of `--role=bots`
// (src/client/bot_client.ts: guest login, WebSocket, a random walk with INPUT seq N at --rate Hz, PINGs,
// ack latency from the first DIFF with ack ≥ N), plus what the benchmarks need that the bots
// role does not give: a measurement window after a warm-up (so the connect ramp is not in the
// latency) and the bytes each client receives. Writes one BotWindow (bench/bot_result.ts).
//
//   deno run -A bench/zs_bots.ts --gateway http://127.0.0.1:8081 --clients 500 \
//     --ramp 5 --warmup 10 --window 20 --out bots.json
import { parseArgs } from "node:util";
import { BotClient } from "../src/client/bot_client.ts";
import { BotMetrics, Samples } from "../src/client/bot_report.ts";
import { mulberry32 } from "../src/sim/random.ts";
import { percentiles } from "../src/observe/percentiles.ts";
import type { BotWindow } from "./bot_result.ts";

/** Bytes and messages received by every WebSocket of this process. */
const traffic = { bytes: 0, frames: 0 };
const encoder = new TextEncoder();

/**
 * The global WebSocket with a byte counter: BotClient opens its sockets with `new WebSocket`,
 * so replacing the global counts every frame it receives without touching the client.
 */
class CountingWebSocket extends WebSocket {
  constructor(url: string | URL, protocols?: ConstructorParameters<typeof WebSocket>[1]) {
    super(url, protocols);
    this.addEventListener("message", (event: MessageEvent) => {
      const data = event.data;
      traffic.frames++;
      traffic.bytes += typeof data === "string"
        ? encoder.encode(data).byteLength
        : (data as ArrayBuffer).byteLength;
    });
  }
}
(globalThis as { WebSocket: typeof WebSocket }).WebSocket = CountingWebSocket;

const { values } = parseArgs({
  args: Deno.args,
  options: {
    gateway: { type: "string" },
    clients: { type: "string", default: "100" },
    rate: { type: "string", default: "10" },
    ramp: { type: "string", default: "3" },
    warmup: { type: "string", default: "5" },
    window: { type: "string", default: "10" },
    seed: { type: "string", default: "1" },
    name: { type: "string", default: "bot" },
    out: { type: "string" },
  },
});
if (!values.gateway || !values.out) {
  console.error(
    "usage: bench/zs_bots.ts --gateway URL --out FILE [--clients N] [--rate HZ] " +
      "[--ramp S] [--warmup S] [--window S] [--seed N] [--name PREFIX]",
  );
  Deno.exit(2);
}
const clientsWanted = Number(values.clients);
const rampMs = Number(values.ramp) * 1000;
const random = mulberry32(Number(values.seed));
const metrics = new BotMetrics(random);
const clients: BotClient[] = [];
const starts: Promise<void>[] = [];
const timers: ReturnType<typeof setTimeout>[] = [];
const stop = new AbortController();
for (const signal of ["SIGINT", "SIGTERM"] as const) {
  Deno.addSignalListener(signal, () => stop.abort());
}
const sleep = (ms: number) =>
  new Promise<void>((resolve) => {
    const timer = setTimeout(resolve, ms);
    stop.signal.addEventListener("abort", () => (clearTimeout(timer), resolve()), { once: true });
  });

for (let i = 0; i < clientsWanted; i++) {
  timers.push(setTimeout(() => {
    const client = new BotClient({
      gateway: new URL(values.gateway!),
      name: `${values.name}-${i + 1}`,
      format: "msgpack",
      rateHz: Number(values.rate),
      pingMs: 3_000,
      timeoutMs: 20_000,
      metrics,
      random,
    });
    clients.push(client);
    starts.push(client.start());
  }, Math.floor((i * rampMs) / clientsWanted)));
}

await sleep(Number(values.warmup) * 1000);
// The window starts: fresh latency samples (BotClient adds to `metrics.ackMs` as it goes),
// counters read now and at the end.
(metrics as { ackMs: Samples }).ackMs = new Samples(random, 50_000);
const liveAtStart = metrics.connectedNow;
const before = { diffs: metrics.stream.diffs, ...traffic };
const began = performance.now();
await sleep(Number(values.window) * 1000);
const windowS = (performance.now() - began) / 1000;
const after = { diffs: metrics.stream.diffs, ...traffic };
const liveAtEnd = metrics.connectedNow;

for (const timer of timers) clearTimeout(timer);
await Promise.all(clients.map((c) => c.close()));
await Promise.all(starts);

const errors: Record<string, number> = {};
const add = (prefix: string, counts: Record<string, number | undefined>) => {
  for (const [k, v] of Object.entries(counts)) if (v) errors[`${prefix}${k}`] = v;
};
add("frame:", metrics.errorFrames);
add("close:", metrics.closes);
add("connect:", metrics.failedConnects);
add("protocol:", metrics.stream.problems);
if (metrics.stream.extraFullDiffs > 0) errors["extraFullDiffs"] = metrics.stream.extraFullDiffs;
if (metrics.stalls.count > 0) errors["stalls"] = metrics.stalls.count;
if (metrics.lostSessions > 0) errors["lostSessions"] = metrics.lostSessions;
const [c50, c99] = percentiles(metrics.connectMs.values, [0.5, 0.99]);
const result: BotWindow & { maxTickGap: number } = {
  kind: "zonescaler",
  clients: clientsWanted,
  connected: metrics.connected,
  liveAtStart,
  liveAtEnd,
  connectP50Ms: Number.isNaN(c50) ? null : Math.round(c50),
  connectP99Ms: Number.isNaN(c99) ? null : Math.round(c99),
  windowS: Math.round(windowS * 100) / 100,
  ackCount: metrics.ackMs.count,
  ackSamples: metrics.ackMs.values.map((v) => Math.round(v * 10) / 10),
  snapshots: after.diffs - before.diffs,
  frames: after.frames - before.frames,
  bytes: after.bytes - before.bytes,
  errors,
  maxTickGap: metrics.stream.maxTickGap,
};
Deno.writeTextFileSync(values.out, JSON.stringify(result));
Deno.exit(0);
