// Border walkers for the handoff benchmark, one process: each walker (a GameClient of the client
// SDK, without reconnect) logs in as a guest, reads the partition map, and walks straight along
// y back and forth across the border between the two workers' regions in its column (turning
// --turn units past it), sending INPUT seq N at --rate Hz. It records when it crosses (the first DIFF showing it on the other owner's side), every
// input→ack latency and every DIFF's tick gap; after --warmup s and for --window s the samples
// are split into near a crossing and away from any (bench/handoff_analysis.ts) and written.
//
//   deno run -A bench/border_walkers.ts --gateway http://127.0.0.1:8081 \
//     --api http://127.0.0.1:8080 --walkers 40 --warmup 8 --window 60 --out walkers.json
import { parseArgs } from "node:util";
import { AckTimer } from "../src/client/bot_client.ts";
import { GameClient } from "../src/client/game_client.ts";
import type { DiffMessage } from "../src/protocol/client_protocol.ts";
import { DiffStreamCheck, emptyStreamCounts } from "../src/client/diff_stream_check.ts";
import { Grid } from "../src/world/grid.ts";
import { addWalker, emptyGroup } from "./handoff_analysis.ts";

const { values } = parseArgs({
  args: Deno.args,
  options: {
    gateway: { type: "string" },
    api: { type: "string" },
    walkers: { type: "string", default: "10" },
    rate: { type: "string", default: "10" },
    turn: { type: "string", default: "150" },
    warmup: { type: "string", default: "8" },
    window: { type: "string", default: "30" },
    near: { type: "string", default: "500" },
    away: { type: "string", default: "1500" },
    out: { type: "string" },
  },
});
if (!values.gateway || !values.api || !values.out) {
  console.error("usage: bench/border_walkers.ts --gateway URL --api URL --out FILE [...]");
  Deno.exit(2);
}
const RATE_HZ = Number(values.rate);
const TURN = Number(values.turn);
const stream = emptyStreamCounts();
let recording = false;
const errors: Record<string, number> = {};
const countError = (key: string) => (errors[key] = (errors[key] ?? 0) + 1);

const state = await (await fetch(`${values.api}/api/state`)).json() as {
  map: { owners: string[] };
};
const owners = state.map.owners;

/** One walker: its own samples (times from performance.now()). */
class BorderWalker {
  crossings: number[] = [];
  acks: Array<[number, number]> = [];
  diffs: Array<[number, number, number]> = [];
  connected = false;
  #client: GameClient | undefined;
  #check: DiffStreamCheck | undefined;
  #acks = new AckTimer();
  #grid: Grid | undefined;
  #dir = 0;
  #borderY: number | undefined;
  #side = "";
  #lastTick = -1;
  #lastAt = 0;
  #timer: ReturnType<typeof setInterval> | undefined;

  /** Logs in and plays over the client SDK; a walker whose connection ends stays stopped. */
  async start(name: string): Promise<void> {
    const client = this.#client = new GameClient({
      servers: [values.gateway!],
      login: { guest: true, name },
      timeoutMs: 20_000,
      reconnect: { maxAttempts: 0 },
    });
    const check = this.#check = new DiffStreamCheck(stream, client.world);
    client.on("protocolError", (error) => {
      if (error.kind === "BAD_FRAME" || error.kind === "UNEXPECTED_WELCOME") {
        countError(`frame:${error.kind}`);
      } else check.problem(error.kind);
    });
    client.on("welcome", (message) => {
      check.welcome(message);
      this.#grid = new Grid(message.world);
      this.connected = true;
      this.#timer = setInterval(() => this.#step(), 1000 / RATE_HZ);
    });
    client.on("serverError", (message) => countError(`frame:${message.code}`));
    client.on("diff", (message) => this.#onDiff(message));
    client.on("close", (close) => {
      if (this.#timer !== undefined && !close.requested) countError(`close:${close.code}`);
      clearInterval(this.#timer);
      this.#timer = undefined;
    });
    await client.connect();
  }

  async stop(): Promise<void> {
    clearInterval(this.#timer);
    this.#timer = undefined;
    await this.#client?.close();
  }

  #onDiff(message: DiffMessage): void {
    const now = performance.now();
    this.#check!.diff(message);
    this.#acks.acked(message.ack, now, (ms) => {
      if (recording) this.acks.push([now - ms, ms]);
    });
    if (this.#lastTick >= 0 && recording) {
      this.diffs.push([now, message.tick - this.#lastTick, now - this.#lastAt]);
    }
    this.#lastTick = message.tick;
    this.#lastAt = now;
    const p = this.#check!.position;
    if (!p || !this.#grid) return;
    const side = owners[this.#grid.cellOf(p[0], p[1])] ?? "";
    if (this.#side && side !== this.#side) this.crossings.push(now);
    this.#side = side;
  }

  /** The y of the owner change nearest to (x, y) in the walker's column of cells. */
  #findBorder(x: number, y: number): number | undefined {
    const grid = this.#grid!;
    const cell = grid.cellOf(x, y);
    const [cx] = grid.cellCoords(cell);
    let best: number | undefined;
    for (let cy = 1; cy < grid.counts[1]; cy++) {
      if (owners[grid.cellId(cx, cy)] === owners[grid.cellId(cx, cy - 1)]) continue;
      const border = cy * grid.cellSize;
      if (best === undefined || Math.abs(border - y) < Math.abs(best - y)) best = border;
    }
    return best;
  }

  #step(): void {
    const p = this.#check!.position;
    if (p) {
      this.#borderY ??= this.#findBorder(p[0], p[1]);
      const border = this.#borderY;
      if (border !== undefined) {
        if (this.#dir === 0) this.#dir = p[1] < border ? 1 : -1;
        if (this.#dir > 0 && p[1] > border + TURN) this.#dir = -1;
        if (this.#dir < 0 && p[1] < border - TURN) this.#dir = 1;
      }
    }
    const seq = this.#client!.input({ move: [0, this.#dir] });
    if (seq !== undefined) this.#acks.sent(seq, performance.now());
  }
}

const walkers = Array.from({ length: Number(values.walkers) }, () => new BorderWalker());
await Promise.all(
  walkers.map((w, i) =>
    w.start(`walker-${i + 1}`).catch((error) => countError(`connect:${(error as Error).name}`))
  ),
);
await new Promise((resolve) => setTimeout(resolve, Number(values.warmup) * 1000));
recording = true;
const windowStart = performance.now();
await new Promise((resolve) => setTimeout(resolve, Number(values.window) * 1000));
recording = false;
const windowEnd = performance.now();
// Samples near the window's end need the crossings that follow them: one more second.
await new Promise((resolve) => setTimeout(resolve, Number(values.near) + 500));
await Promise.all(walkers.map((w) => w.stop()));

const near = emptyGroup(), away = emptyGroup();
const bands = { nearMs: Number(values.near), awayMs: Number(values.away) };
let crossings = 0;
for (const w of walkers) {
  addWalker({ near, away }, bands, w);
  crossings += w.crossings.filter((t) => t >= windowStart && t <= windowEnd).length;
}
for (const [k, v] of Object.entries(stream.problems)) errors[`protocol:${k}`] = v ?? 0;
Deno.writeTextFileSync(
  values.out,
  JSON.stringify({
    walkers: walkers.length,
    connected: walkers.filter((w) => w.connected).length,
    /** Crossings within the window. */
    crossings,
    windowS: Math.round((windowEnd - windowStart) / 10) / 100,
    bands,
    near,
    away,
    errors,
  }),
);
Deno.exit(0);
