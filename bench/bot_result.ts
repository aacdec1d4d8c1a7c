// What one load-generator process reports over its measurement window (the JSON file written by
// bench/zs_bots.ts for ZoneScaler and bench/peer/colyseus_bots.mjs for Colyseus, in the same
// shape), and how the files of several such processes are merged into one row.
import { array, num, object } from "./json_fields.ts";
import { round } from "./stats.ts";

/**
 * One bot process's window. `ackSamples` is a uniform subset (reservoir) of the `ackCount`
 * input→ack latencies measured in the window, in ms; merging weights each process's subset by
 * `ackCount / ackSamples.length`, so processes of different sizes merge fairly.
 */
export interface BotWindow {
  /** Which server the bots spoke to: "zonescaler" or "colyseus". */
  kind: string;
  clients: number;
  /** Clients that got a first session (WELCOME, or a joined Colyseus room). */
  connected: number;
  /** Clients with a live session when the window began and when it ended. */
  liveAtStart: number;
  liveAtEnd: number;
  /** Median and p99 time from the first request to a live session, ms. */
  connectP50Ms: number | null;
  connectP99Ms: number | null;
  windowS: number;
  ackCount: number;
  ackSamples: number[];
  /** State frames received in the window: DIFFs (ZoneScaler) or state patches (Colyseus). */
  snapshots: number;
  /** WebSocket messages and their payload bytes received in the window (every kind). */
  frames: number;
  bytes: number;
  /** Errors, closes and failed connects by reason over the whole run. */
  errors: Record<string, number>;
}

/** Reads a bot process's JSON file, checking every field. */
export function parseBotWindow(text: string, where: string): BotWindow {
  const r = object(JSON.parse(text), where);
  const nullable = (key: string) => (r[key] === null ? null : num(r, key));
  const errors: Record<string, number> = {};
  for (const [key, value] of Object.entries(object(r.errors, `${where} errors`))) {
    if (typeof value === "number") errors[key] = value;
  }
  return {
    kind: String(r.kind),
    clients: num(r, "clients"),
    connected: num(r, "connected"),
    liveAtStart: num(r, "liveAtStart"),
    liveAtEnd: num(r, "liveAtEnd"),
    connectP50Ms: nullable("connectP50Ms"),
    connectP99Ms: nullable("connectP99Ms"),
    windowS: num(r, "windowS"),
    ackCount: num(r, "ackCount"),
    ackSamples: array(r.ackSamples, `${where} ackSamples`).filter((v): v is number =>
      typeof v === "number" && Number.isFinite(v)
    ),
    snapshots: num(r, "snapshots"),
    frames: num(r, "frames"),
    bytes: num(r, "bytes"),
    errors,
  };
}

/** Several bot processes as one load: totals, per-client rates and merged latency. */
export interface MergedBots {
  processes: number;
  clients: number;
  connected: number;
  liveAtEnd: number;
  connectP99Ms: number | null;
  ackSamples: number;
  ackP50Ms: number | null;
  ackP99Ms: number | null;
  ackMaxMs: number | null;
  /** State frames per second, all clients together and per live client. */
  snapshotsPerS: number;
  snapshotsPerClientPerS: number;
  /** Bytes received per live client per second (WebSocket payloads). */
  bytesPerClientPerS: number;
  errors: Record<string, number>;
}

/**
 * Weighted nearest-rank quantiles: each value stands for `weight` samples.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { weightedQuantiles } from "./bot_result.ts";
 * assert.deepEqual(weightedQuantiles([[1, 1], [10, 9]], [0.05, 0.5]), [1, 10]);
 * ```
 */
export function weightedQuantiles(
  pairs: Array<[value: number, weight: number]>,
  qs: readonly number[],
): Array<number | null> {
  const sorted = [...pairs].sort((a, b) => a[0] - b[0]);
  const total = sorted.reduce((n, [, w]) => n + w, 0);
  return qs.map((q) => {
    if (total <= 0) return null;
    let seen = 0;
    for (const [value, weight] of sorted) {
      seen += weight;
      if (seen >= q * total - 1e-9) return value;
    }
    return sorted[sorted.length - 1][0];
  });
}

/** Merges the windows of the bot processes that made one load. */
export function mergeBotWindows(windows: readonly BotWindow[]): MergedBots {
  const pairs: Array<[number, number]> = [];
  for (const w of windows) {
    const weight = w.ackSamples.length > 0 ? w.ackCount / w.ackSamples.length : 0;
    for (const v of w.ackSamples) pairs.push([v, weight]);
  }
  const [p50, p99, max] = weightedQuantiles(pairs, [0.5, 0.99, 1]);
  const sum = (f: (w: BotWindow) => number) => windows.reduce((n, w) => n + f(w), 0);
  const seconds = windows.length > 0 ? Math.max(...windows.map((w) => w.windowS)) : 0;
  const live = sum((w) => (w.liveAtStart + w.liveAtEnd) / 2);
  const perS = (n: number) => (seconds > 0 ? n / seconds : 0);
  const errors: Record<string, number> = {};
  for (const w of windows) {
    for (const [k, v] of Object.entries(w.errors)) errors[k] = (errors[k] ?? 0) + v;
  }
  const connectP99 = windows.map((w) => w.connectP99Ms).filter((v): v is number => v !== null);
  const rounded = (v: number | null) => (v === null ? null : round(v, 1));
  return {
    processes: windows.length,
    clients: sum((w) => w.clients),
    connected: sum((w) => w.connected),
    liveAtEnd: sum((w) => w.liveAtEnd),
    connectP99Ms: connectP99.length > 0 ? round(Math.max(...connectP99), 0) : null,
    ackSamples: sum((w) => w.ackCount),
    ackP50Ms: rounded(p50),
    ackP99Ms: rounded(p99),
    ackMaxMs: rounded(max),
    snapshotsPerS: round(perS(sum((w) => w.snapshots)), 0),
    snapshotsPerClientPerS: live > 0 ? round(perS(sum((w) => w.snapshots)) / live, 1) : 0,
    bytesPerClientPerS: live > 0 ? round(perS(sum((w) => w.bytes)) / live, 0) : 0,
    errors,
  };
}
