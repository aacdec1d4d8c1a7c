// A bots run: starts the simulated clients evenly over the ramp, reports progress once a
// second, stops them all after the duration (or when told to), and builds the report.
import process from "node:process";
import { BotClient } from "./bot_client.ts";
import type { BotOptions } from "./bot_options.ts";
import {
  BotMetrics,
  type BotReport,
  buildReport,
  progressLine,
  type ProgressSample,
  progressSample,
} from "./bot_report.ts";
import { mulberry32 } from "../sim/random.ts";

/** How often the progress line is printed, ms. */
export const PROGRESS_INTERVAL_MS = 1000;

/** Hooks of a run. */
export interface SwarmHooks {
  /** Receives the progress line about once a second. */
  onProgress?: (line: string) => void;
  /** Ends the run early (the report still covers what ran). */
  signal?: AbortSignal;
}

/**
 * When client `index` of `clients` starts, ms after the run began: evenly spread over
 * `rampMs`, the first at once.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * assert.deepEqual([0, 1, 2, 3].map((i) => startDelay(i, 4, 1000)), [0, 250, 500, 750]);
 * ```
 */
export function startDelay(index: number, clients: number, rampMs: number): number {
  return clients > 0 ? Math.floor((index * rampMs) / clients) : 0;
}

/** Runs the bots described by `options` and resolves with the report once all are closed. */
export async function runBotSwarm(options: BotOptions, hooks: SwarmHooks = {}): Promise<BotReport> {
  const random = mulberry32(options.seed);
  const metrics = new BotMetrics(random);
  const clients: BotClient[] = [];
  const starts: Promise<void>[] = [];
  const timers: ReturnType<typeof setTimeout>[] = [];
  const began = performance.now();
  const cpuBefore = process.cpuUsage();
  const seconds = () => (performance.now() - began) / 1000;

  for (let i = 0; i < options.clients; i++) {
    timers.push(setTimeout(() => {
      const client = new BotClient({
        gateway: options.gateway,
        name: `${options.name}-${i + 1}`,
        format: options.format,
        rateHz: options.rateHz,
        pingMs: options.pingMs,
        timeoutMs: options.timeoutMs,
        metrics,
        random,
        ...(options.scenario === "instances"
          ? { rooms: { mode: options.mode, stayMs: options.stayMs, pauseMs: options.stayMs / 2 } }
          : {}),
      });
      clients.push(client);
      starts.push(client.start());
    }, startDelay(i, options.clients, options.rampMs)));
  }
  let before: ProgressSample = progressSample(metrics, 0);
  const progress = setInterval(() => {
    const now = progressSample(metrics, seconds());
    hooks.onProgress?.(
      progressLine(now, before, { connectedNow: metrics.connectedNow, clients: options.clients }),
    );
    before = now;
  }, PROGRESS_INTERVAL_MS);

  await new Promise<void>((resolve) => {
    const done = () => (clearTimeout(timer), resolve());
    const timer = setTimeout(done, options.durationMs);
    if (hooks.signal?.aborted) done();
    hooks.signal?.addEventListener("abort", done, { once: true });
  });
  for (const timer of timers) clearTimeout(timer);
  clearInterval(progress);
  const durationSeconds = seconds();
  await Promise.all(clients.map((client) => client.close()));
  await Promise.all(starts);
  const cpu = process.cpuUsage(cpuBefore);
  const wallMicros = (performance.now() - began) * 1000;
  return buildReport(metrics, {
    clients: options.clients,
    durationSeconds,
    connectedSeconds: clients.reduce((sum, c) => sum + c.connectedMs, 0) / 1000,
    botCpuPercent: wallMicros > 0 ? ((cpu.user + cpu.system) / wallMicros) * 100 : 0,
    rooms: options.scenario === "instances",
  });
}
