// The floor under the gateway: what Deno's own WebSocket server costs for the traffic of a
// gateway-fanout row and nothing else. `server` accepts WebSockets and every 1000/hz ms sends
// each open socket one frame of --bytes (the size of the row's mean DIFF); inputs it receives
// are counted and dropped. `clients` opens --clients sockets over --ramp seconds, sends each an
// input frame of a ZoneScaler INPUT's size at --rate Hz, and writes one BotWindow
// (bench/bot_result.ts) of its measurement window, so runLoad measures it like the bots. The
// gateway's CPU beside the floor's, for the same clients and frames in the same run, is what
// the gateway itself adds.
//
//   deno run -A bench/ws_floor.ts server --bytes 600 --hz 10
//   deno run -A bench/ws_floor.ts clients --url ws://127.0.0.1:PORT --clients 1000 --rate 10 \
//     --ramp 4 --warmup 12 --window 20 --out floor.json
import { parseArgs } from "node:util";
import { encodeClientFrame } from "../src/client/client_codec.ts";
import { Op } from "../src/protocol/client_protocol.ts";
import type { BotWindow } from "./bot_result.ts";

const { positionals, values } = parseArgs({
  args: Deno.args,
  allowPositionals: true,
  options: {
    bytes: { type: "string", default: "600" },
    hz: { type: "string", default: "10" },
    url: { type: "string" },
    clients: { type: "string", default: "100" },
    rate: { type: "string", default: "10" },
    ramp: { type: "string", default: "3" },
    warmup: { type: "string", default: "5" },
    window: { type: "string", default: "10" },
    out: { type: "string" },
  },
});

function positive(name: string, text: string | undefined): number {
  const value = Number(text);
  if (!Number.isFinite(value) || value <= 0) {
    console.error(`ws_floor: --${name} must be a positive number, got ${text}`);
    Deno.exit(2);
  }
  return value;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Sends every open socket one frame per period, until the harness kills it. */
function server(): void {
  const frame = new Uint8Array(positive("bytes", values.bytes)).fill(0x90);
  const periodMs = 1000 / positive("hz", values.hz);
  const sockets = new Set<WebSocket>();
  Deno.serve({
    port: 0,
    hostname: "127.0.0.1",
    onListen: ({ port }) => console.log(JSON.stringify({ event: "listening", port })),
  }, (request) => {
    const { socket, response } = Deno.upgradeWebSocket(request);
    socket.binaryType = "arraybuffer";
    socket.onopen = () => sockets.add(socket);
    socket.onclose = () => sockets.delete(socket);
    socket.onmessage = () => {};
    return response;
  });
  setInterval(() => {
    for (const socket of sockets) if (socket.readyState === WebSocket.OPEN) socket.send(frame);
  }, periodMs);
}

/** Opens the sockets, sends inputs, counts what arrives in the window; writes a BotWindow. */
async function clients(): Promise<void> {
  if (!values.url || !values.out) {
    console.error("usage: bench/ws_floor.ts clients --url WS_URL --out FILE [--clients N] ...");
    Deno.exit(2);
  }
  const wanted = positive("clients", values.clients);
  const rampMs = positive("ramp", values.ramp) * 1000;
  // An INPUT as the bots send it: the floor's inputs are as large as theirs.
  const input = encodeClientFrame(
    { op: Op.INPUT, seq: 123_456, intent: { move: [0.6, -0.8] } },
    "msgpack",
  );
  const traffic = { frames: 0, bytes: 0 };
  const errors: Record<string, number> = {};
  const sockets: WebSocket[] = [];
  let connected = 0;
  for (let i = 0; i < wanted; i++) {
    const socket = new WebSocket(values.url);
    socket.binaryType = "arraybuffer";
    socket.onopen = () => connected++;
    socket.onmessage = (event) => {
      traffic.frames++;
      traffic.bytes += (event.data as ArrayBuffer).byteLength;
    };
    socket.onclose = (event) => {
      errors[`close:${event.code}`] = (errors[`close:${event.code}`] ?? 0) + 1;
    };
    socket.onerror = () => {};
    sockets.push(socket);
    await sleep(rampMs / wanted);
  }
  const timer = setInterval(() => {
    for (const socket of sockets) if (socket.readyState === WebSocket.OPEN) socket.send(input);
  }, 1000 / positive("rate", values.rate));
  const open = () => sockets.filter((s) => s.readyState === WebSocket.OPEN).length;
  await sleep(Math.max(0, positive("warmup", values.warmup) * 1000 - rampMs));
  const liveAtStart = open();
  const before = { ...traffic };
  const began = performance.now();
  await sleep(positive("window", values.window) * 1000);
  const windowS = (performance.now() - began) / 1000;
  const frames = traffic.frames - before.frames, bytes = traffic.bytes - before.bytes;
  const liveAtEnd = open();
  clearInterval(timer);
  for (const socket of sockets) socket.close();
  const result: BotWindow = {
    kind: "floor",
    clients: wanted,
    connected,
    liveAtStart,
    liveAtEnd,
    connectP50Ms: null,
    connectP99Ms: null,
    windowS: Math.round(windowS * 100) / 100,
    ackCount: 0,
    ackSamples: [],
    snapshots: frames,
    frames,
    bytes,
    errors,
  };
  Deno.writeTextFileSync(values.out, JSON.stringify(result));
  Deno.exit(0);
}

if (positionals[0] === "server") server();
else if (positionals[0] === "clients") await clients();
else {
  console.error("usage: bench/ws_floor.ts server|clients [options] (see the module's comment)");
  Deno.exit(2);
}
