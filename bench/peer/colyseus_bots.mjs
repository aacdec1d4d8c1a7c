// The peer-comparison load generator for Colyseus, run with Node: the behaviour of ZoneScaler's
// bots (src/bot_client.ts) over @colyseus/sdk. Each client joins the "demo" room, walks a random
// walk (the same turn rule, heading back inwards near an edge) sending `input` {seq, move} at
// --rate Hz, and measures input→ack latency from sending seq N until a state patch shows its own
// entity with ack ≥ N. After --warmup seconds a --window of measurement begins; the result is
// one BotWindow (bench/bot_result.ts) written to --out.
//
//   node bench/peer/colyseus_bots.mjs --endpoint ws://127.0.0.1:2567 --clients 100 \
//     --ramp 3 --warmup 8 --window 15 --out bots.json
import { parseArgs } from "node:util";
import { writeFileSync } from "node:fs";
import { Client } from "@colyseus/sdk";

const { values } = parseArgs({
  options: {
    endpoint: { type: "string" },
    clients: { type: "string", default: "100" },
    rate: { type: "string", default: "10" },
    ramp: { type: "string", default: "3" },
    warmup: { type: "string", default: "5" },
    window: { type: "string", default: "10" },
    seed: { type: "string", default: "1" },
    /** Edge of the square world (the walk turns back near it), as the server's --size. */
    size: { type: "string", default: "200" },
    out: { type: "string" },
  },
});
if (!values.endpoint || !values.out) {
  console.error("usage: colyseus_bots.mjs --endpoint ws://HOST:PORT --out FILE [--clients N] ...");
  process.exit(2);
}
const CLIENTS = Number(values.clients);
const RATE_HZ = Number(values.rate);
const RAMP_MS = Number(values.ramp) * 1000;
/** Largest turn of the walk per input and the edge band, as in src/bot_client.ts. */
const MAX_TURN = 0.8;
const EDGE_SHARE = 0.05;
const SAMPLE_CAPACITY = 50_000;

function mulberry32(seed) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let x = a;
    x = Math.imul(x ^ (x >>> 15), x | 1);
    x ^= x + Math.imul(x ^ (x >>> 7), x | 61);
    return ((x ^ (x >>> 14)) >>> 0) / 4294967296;
  };
}
const random = mulberry32(Number(values.seed));

/** walkHeading of src/bot_client.ts. */
function walkHeading(heading, x, y, size) {
  const turn = (random() - 0.5) * MAX_TURN;
  if (x !== undefined) {
    const near = [x, y].some((v) => v < size * EDGE_SHARE || v > size * (1 - EDGE_SHARE));
    if (near) return Math.atan2(size / 2 - y, size / 2 - x) + turn / 4;
  }
  return heading + turn;
}

/** Reservoir of latency samples, as Samples in src/bot_report.ts. */
class Samples {
  values = [];
  count = 0;
  add(v) {
    this.count++;
    if (this.values.length < SAMPLE_CAPACITY) return void this.values.push(v);
    const at = Math.floor(random() * this.count);
    if (at < SAMPLE_CAPACITY) this.values[at] = v;
  }
}

const m = {
  connected: 0,
  live: 0,
  ack: new Samples(),
  connectMs: [],
  snapshots: 0,
  frames: 0,
  bytes: 0,
  errors: {},
};
const countError = (key) => (m.errors[key] = (m.errors[key] ?? 0) + 1);
const rooms = [];
const timers = [];
let stopping = false;

const WORLD_SIZE = Number(values.size);

async function startClient(index) {
  const began = performance.now();
  let room;
  try {
    room = await new Client(values.endpoint).joinOrCreate("demo", { name: `bot-${index + 1}` });
  } catch (error) {
    countError(`connect:${error?.code ?? error?.name ?? "FAILED"}`);
    return;
  }
  if (stopping) return void room.leave();
  m.connectMs.push(performance.now() - began);
  m.connected++;
  m.live++;
  rooms.push(room);
  const ws = room.connection.transport.ws;
  ws.addEventListener("message", (event) => {
    m.frames++;
    m.bytes += event.data.byteLength ?? Buffer.byteLength(event.data);
  });
  const sent = []; // [seq, time] pairs not yet acknowledged, oldest first
  let head = 0, seq = 0, heading = random() * Math.PI * 2;
  let me;
  room.onStateChange((state) => {
    m.snapshots++;
    me ??= state.entities.get(room.sessionId);
    if (!me) return;
    const now = performance.now();
    while (head < sent.length && sent[head][0] <= me.ack) m.ack.add(now - sent[head++][1]);
    if (head > 1024) (sent.splice(0, head), head = 0);
  });
  room.onLeave((code) => {
    m.live--;
    if (!stopping) countError(`close:${code}`);
  });
  room.onError((code) => countError(`error:${code}`));
  timers.push(setInterval(() => {
    heading = walkHeading(heading, me?.x, me?.y, WORLD_SIZE);
    seq++;
    room.send("input", { seq, move: [Math.cos(heading), Math.sin(heading)] });
    sent.push([seq, performance.now()]);
  }, 1000 / RATE_HZ));
}

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));
for (let i = 0; i < CLIENTS; i++) {
  timers.push(setTimeout(() => void startClient(i), Math.floor((i * RAMP_MS) / CLIENTS)));
}
await sleep(Number(values.warmup) * 1000);
m.ack = new Samples();
const liveAtStart = m.live;
const before = { snapshots: m.snapshots, frames: m.frames, bytes: m.bytes };
const began = performance.now();
await sleep(Number(values.window) * 1000);
const windowS = (performance.now() - began) / 1000;
const after = { snapshots: m.snapshots, frames: m.frames, bytes: m.bytes };
const liveAtEnd = m.live;
stopping = true;
for (const timer of timers) (clearTimeout(timer), clearInterval(timer));
await Promise.race([Promise.allSettled(rooms.map((r) => r.leave())), sleep(5_000)]);

const sorted = [...m.connectMs].sort((a, b) => a - b);
const rank = (q) =>
  sorted.length ? Math.round(sorted[Math.max(0, Math.ceil(q * sorted.length) - 1)]) : null;
writeFileSync(
  values.out,
  JSON.stringify({
    kind: "colyseus",
    clients: CLIENTS,
    connected: m.connected,
    liveAtStart,
    liveAtEnd,
    connectP50Ms: rank(0.5),
    connectP99Ms: rank(0.99),
    windowS: Math.round(windowS * 100) / 100,
    ackCount: m.ack.count,
    ackSamples: m.ack.values.map((v) => Math.round(v * 10) / 10),
    snapshots: after.snapshots - before.snapshots,
    frames: after.frames - before.frames,
    bytes: after.bytes - before.bytes,
    errors: m.errors,
  }),
);
process.exit(0);
