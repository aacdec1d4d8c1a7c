// The typed-array limit of the worker-tick scenario: the demo game's tick (wander at 40 units/s
// with a 1 % chance of a new heading, reflect off the world's edges, one neighbour query of
// radius 4 per NPC not cooling down, a bump flipping the initiator and pushing the target away)
// written as plain loops over Float64Arrays, with a bucket index of the same 25-unit buckets
// rebuilt every tick as head/next Int32Arrays. No engine: no cells, owners, handoffs, ghosts,
// interactions log or game API. Paced at 20 Hz like a worker, so the CPU runs at the same duty
// cycle. What the engine's tick costs beyond this is what its design and bookkeeping cost.
//
//   deno run -A bench/limit_tick.ts --entities 20000 [--ticks 200] [--warmup 100]
//   (prints one JSON line: { entities, ticks, p50Ms, p99Ms, meanMs })
import { parseArgs } from "node:util";
import { mulberry32 } from "../src/sim/random.ts";
import { quantile, round } from "./stats.ts";
import { CELL_SIZE, TICK_HZ, worldFor } from "./world.ts";

/** The limit's step times at one entity count. */
export interface LimitResult {
  entities: number;
  ticks: number;
  p50Ms: number;
  p99Ms: number;
  meanMs: number;
}

const SPEED = 40, BUMP_RADIUS = 4, COOLDOWN_TICKS = 20, BUCKET = CELL_SIZE / 4;

/** Runs `warmup + ticks` ticks of the reference, paced at the tick rate unless `paced` is false. */
export async function limitTick(
  entities: number,
  options: { ticks: number; warmup: number; paced?: boolean },
): Promise<LimitResult> {
  const [width, height] = worldFor(entities).size;
  const n = entities, dt = 1 / TICK_HZ, periodMs = 1000 / TICK_HZ;
  const random = mulberry32(1);
  const x = new Float64Array(n), y = new Float64Array(n);
  const vx = new Float64Array(n), vy = new Float64Array(n);
  const cooldown = new Int32Array(n), bumps = new Int32Array(n);
  const heading = (i: number) => {
    const angle = random() * Math.PI * 2;
    vx[i] = Math.cos(angle) * SPEED;
    vy[i] = Math.sin(angle) * SPEED;
  };
  for (let i = 0; i < n; i++) {
    x[i] = random() * width;
    y[i] = random() * height;
    heading(i);
  }
  const cols = Math.ceil(width / BUCKET), rows = Math.ceil(height / BUCKET);
  const head = new Int32Array(cols * rows), next = new Int32Array(n);
  const col = (v: number) => Math.min(cols - 1, Math.max(0, Math.floor(v / BUCKET)));
  const row = (v: number) => Math.min(rows - 1, Math.max(0, Math.floor(v / BUCKET)));
  const r2 = BUMP_RADIUS * BUMP_RADIUS;
  const step = (tick: number) => {
    head.fill(-1);
    for (let i = 0; i < n; i++) {
      const b = col(x[i]) + row(y[i]) * cols;
      next[i] = head[b];
      head[b] = i;
    }
    for (let i = 0; i < n; i++) {
      if (random() < 0.01) heading(i);
      x[i] += vx[i] * dt;
      y[i] += vy[i] * dt;
      if (x[i] < 0 || x[i] >= width) {
        (vx[i] = -vx[i], x[i] = Math.min(Math.max(x[i], 0), width - 1e-6));
      }
      if (y[i] < 0 || y[i] >= height) {
        vy[i] = -vy[i];
        y[i] = Math.min(Math.max(y[i], 0), height - 1e-6);
      }
      if (cooldown[i] > tick) continue;
      const c0 = col(x[i] - BUMP_RADIUS), c1 = col(x[i] + BUMP_RADIUS);
      const q0 = row(y[i] - BUMP_RADIUS), q1 = row(y[i] + BUMP_RADIUS);
      search: for (let r = q0; r <= q1; r++) {
        for (let c = c0; c <= c1; c++) {
          for (let j = head[c + r * cols]; j >= 0; j = next[j]) {
            if (j <= i) continue; // the lower index initiates, as the demo's lower id does
            const dx = x[j] - x[i], dy = y[j] - y[i];
            if (dx * dx + dy * dy > r2) continue;
            bumps[j]++;
            const length = Math.hypot(dx, dy) || 1, speed = Math.hypot(vx[j], vy[j]);
            vx[j] = (dx / length) * speed;
            vy[j] = (dy / length) * speed;
            cooldown[i] = tick + COOLDOWN_TICKS;
            vx[i] = -vx[i];
            vy[i] = -vy[i];
            break search;
          }
        }
      }
    }
  };
  const times: number[] = [];
  const start = performance.now();
  for (let tick = 0; tick < options.warmup + options.ticks; tick++) {
    const t = performance.now();
    step(tick);
    if (tick >= options.warmup) times.push(performance.now() - t);
    if (options.paced === false) continue;
    const wait = start + (tick + 1) * periodMs - performance.now();
    if (wait > 0) await new Promise((resolve) => setTimeout(resolve, wait));
  }
  return {
    entities,
    ticks: times.length,
    p50Ms: round(quantile(times, 0.5), 2),
    p99Ms: round(quantile(times, 0.99), 2),
    meanMs: round(times.reduce((a, b) => a + b, 0) / times.length, 2),
  };
}

/** Runs the limit in a process of its own (as a worker runs), and reads its JSON line. */
export async function measureLimit(
  entities: number,
  options: { ticks: number; warmup: number },
): Promise<LimitResult> {
  const output = await new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      "-A",
      new URL(import.meta.url).pathname,
      "--entities",
      String(entities),
      "--ticks",
      String(options.ticks),
      "--warmup",
      String(options.warmup),
    ],
    stdout: "piped",
    stderr: "piped",
    stdin: "null",
  }).output();
  const text = new TextDecoder().decode(output.stdout).trim();
  if (!output.success) {
    throw new Error(`limit_tick.ts failed: ${new TextDecoder().decode(output.stderr).trim()}`);
  }
  return JSON.parse(text.split("\n").at(-1)!) as LimitResult;
}

if (import.meta.main) {
  const { values } = parseArgs({
    args: Deno.args,
    options: {
      entities: { type: "string", default: "20000" },
      ticks: { type: "string", default: "200" },
      warmup: { type: "string", default: "100" },
    },
  });
  const result = await limitTick(Number(values.entities), {
    ticks: Number(values.ticks),
    warmup: Number(values.warmup),
  });
  console.log(JSON.stringify(result));
}
