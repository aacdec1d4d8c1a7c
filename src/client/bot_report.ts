// What the bots measure and how it is reported: the shared counters and samples every
// simulated client adds to, the one-line progress summary, and the final report (text and
// JSON) built from them by pure functions.
import { emptyStreamCounts, type StreamCounts } from "./diff_stream_check.ts";
import { emptyStallCounts, STALL_MS, type StallCounts } from "./stall_meter.ts";
import { percentiles } from "../observe/percentiles.ts";
import type { RoomMetrics } from "./room_cycle.ts";

/** Most samples kept per measurement; beyond it a uniform random subset is kept. */
export const MAX_SAMPLES = 200_000;

/**
 * Samples of one measurement. Past `capacity` it keeps a uniform random subset (reservoir
 * sampling), so long runs keep percentiles honest in bounded memory.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * const samples = new Samples(() => 0.5, 2);
 * for (const v of [1, 2, 3, 4]) samples.add(v);
 * assert.equal(samples.count, 4);
 * assert.equal(samples.values.length, 2);
 * ```
 */
export class Samples {
  readonly values: number[] = [];
  #count = 0;
  #random: () => number;
  #capacity: number;

  constructor(random: () => number, capacity = MAX_SAMPLES) {
    this.#random = random;
    this.#capacity = capacity;
  }

  /** Samples offered so far (kept or not). */
  get count(): number {
    return this.#count;
  }

  add(value: number): void {
    this.#count++;
    if (this.values.length < this.#capacity) {
      this.values.push(value);
      return;
    }
    const at = Math.floor(this.#random() * this.#count);
    if (at < this.#capacity) this.values[at] = value;
  }
}

/** Counts by a string key (error code, close code). */
export type CountsBy = Record<string, number>;

/** Adds one to `counts[key]`. */
export function countUp(counts: CountsBy, key: string | number): void {
  counts[key] = (counts[key] ?? 0) + 1;
}

/** Everything the simulated clients of one run add to; `connectedNow` goes up and down. */
export class BotMetrics {
  /** Clients whose login began. */
  started = 0;
  /** Clients that received a first WELCOME. */
  connected = 0;
  /** Clients with a live session right now. */
  connectedNow = 0;
  /** Sessions taken back with a resume token after a dropped connection. */
  resumes = 0;
  /** Sessions a gateway handed to another with REDIRECT (a deploy), each followed by a resume. */
  redirects = 0;
  /**
   * Longest time between two DIFFs of one player, across reconnects and resumes (a session's
   * gap as its player sees it, hand-overs included), ms.
   */
  maxDiffGapMs = 0;
  /** Logins retried after 429 RATE_LIMITED with Retry-After (not an error by themselves). */
  loginRetries = 0;
  /** Milliseconds from the start of POST /login to WELCOME, one per client. */
  readonly connectMs: Samples;
  /** Milliseconds from sending INPUT seq N to the first DIFF with ack >= N. */
  readonly ackMs: Samples;
  /** PING → PONG round trips, ms. */
  readonly rttMs: Samples;
  /** DIFF stream totals and contradictions. */
  readonly stream: StreamCounts = emptyStreamCounts();
  /** ERROR frames received, by code. */
  readonly errorFrames: CountsBy = {};
  /** Connections closed by the server or the network (not by the bot), by close code. */
  readonly closes: CountsBy = {};
  /** Clients that never got a WELCOME, by reason (an error code, CONNECT_FAILED, NO_WELCOME). */
  readonly failedConnects: CountsBy = {};
  /** Server frames the bot could not decode. */
  badServerFrames = 0;
  /** Live streams without a DIFF for longer than STALL_MS (players who froze). */
  readonly stalls: StallCounts = emptyStallCounts();
  /**
   * Sessions that ended without being taken back: closed for good, or the resume failed (a
   * new session from scratch may follow; the old one is still lost).
   */
  lostSessions = 0;
  /** The instances scenario's joins and leaves. */
  readonly rooms: RoomMetrics;

  constructor(random: () => number) {
    this.rooms = {
      joinMs: new Samples(random),
      leaveMs: new Samples(random),
      joins: 0,
      leaves: 0,
      failed: {},
    };
    this.connectMs = new Samples(random);
    this.ackMs = new Samples(random);
    this.rttMs = new Samples(random);
  }
}

/** Percentiles of one measurement, in ms; null without samples. */
export interface Distribution {
  samples: number;
  p50: number | null;
  p99: number | null;
  max: number | null;
}

/** The final report of a bots run (written as JSON with `--report FILE`). */
export interface BotReport {
  clients: number;
  connected: number;
  durationSeconds: number;
  connectMs: Distribution;
  ackLatencyMs: Distribution;
  pingRttMs: Distribution;
  snapshots: number;
  /** DIFFs per second received by all clients together. */
  snapshotsPerSecond: number;
  /** DIFFs per second per connected client (about the tick rate when nothing is dropped). */
  snapshotsPerClientPerSecond: number;
  extraFullSnapshots: number;
  cellCrossings: number;
  maxTickGap: number;
  resumes: number;
  redirects: number;
  maxDiffGapMs: number;
  loginRetries: number;
  /** Gaps of more than 1 s without a DIFF on a live connection, and the longest one. */
  stalls: StallCounts;
  /** Sessions closed without a successful resume. */
  lostSessions: number;
  errors: {
    /** Everything below, plus stalls and lost sessions: 0 means the players really played. */
    total: number;
    /** ERROR frames by code. */
    frames: CountsBy;
    /** Unexpected closes by close code. */
    closes: CountsBy;
    /** Clients that never connected, by reason. */
    connects: CountsBy;
    /** Server frames or DIFF streams that contradict docs/protocol.md, by kind. */
    protocol: CountsBy;
  };
  /** CPU used by the bots process itself, % of one core. */
  botCpuPercent: number;
  /** The instances scenario (absent in the world scenario). */
  rooms?: {
    joins: number;
    leaves: number;
    joinMs: Distribution;
    leaveMs: Distribution;
    /** Joins and leaves refused (ERROR, by code) or not answered in time (NO_ANSWER). */
    failed: CountsBy;
  };
  /** What the less obvious numbers mean. */
  definitions: Record<string, string>;
}

/** Measurement window and process figures that the metrics do not hold. */
export interface ReportContext {
  clients: number;
  /** Wall time of the run, seconds. */
  durationSeconds: number;
  /** Sum over clients of the time each had a live session, seconds. */
  connectedSeconds: number;
  botCpuPercent: number;
  /** Report the instances scenario's figures. */
  rooms?: boolean;
}

const DEFINITIONS: Record<string, string> = {
  connectMs: "start of POST /login until WELCOME, once per client (first session only)",
  ackLatencyMs: "sending INPUT seq N until the first DIFF with ack >= N arrives",
  snapshotsPerSecond: "DIFFs received per second by all clients together",
  cellCrossings: "DIFFs in which a bot's own entity is in another grid cell (WELCOME " +
    "world.cellSize) than in the DIFF before on the same connection. Worker handoffs are " +
    "not visible to clients; a handoff happens only when the new cell has another owner, " +
    "so this is an upper bound on the handoffs the bots lived through",
  maxDiffGapMs: "longest time between two DIFFs of one player, across reconnects, resumes " +
    "and REDIRECT hand-overs",
  maxTickGap: "largest tick difference between two consecutive DIFFs of one connection",
  extraFullSnapshots: "full DIFFs other than the first after each WELCOME: DIFFs the " +
    "gateway dropped because the bot read too slowly",
  stalls: `gaps of more than ${STALL_MS} ms without a DIFF on a live connection (WELCOME to ` +
    "the first DIFF, DIFF to DIFF, last DIFF to the close): players who froze",
  lostSessions: "sessions closed by the server or the network and not resumed (closed for " +
    "good, resume refused or failed); a new session the bot starts instead does not undo it",
  joinMs: "instances scenario: JOIN (quick-join) sent until its TRAVEL arrived",
  leaveMs: "instances scenario: LEAVE sent until its TRAVEL back to the world arrived",
  errors: "ERROR frames + unexpected closes + clients that never connected + protocol " +
    "contradictions (bad server frames, enter of a visible entity, update or leave of an " +
    "unknown one, ticks going back, own entity not visible) + stalls + lost sessions",
};

/**
 * Builds the final report from the metrics of a run.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * const metrics = new BotMetrics(Math.random);
 * metrics.connected = 1;
 * metrics.connectMs.add(12);
 * metrics.stream.diffs = 40;
 * const report = buildReport(metrics, {
 *   clients: 1, durationSeconds: 2, connectedSeconds: 2, botCpuPercent: 3,
 * });
 * assert.equal(report.connectMs.p50, 12);
 * assert.equal(report.snapshotsPerClientPerSecond, 20);
 * assert.equal(report.errors.total, 0);
 * ```
 */
export function buildReport(metrics: BotMetrics, context: ReportContext): BotReport {
  const protocol: CountsBy = { ...metrics.stream.problems };
  if (metrics.badServerFrames > 0) protocol.BAD_SERVER_FRAME = metrics.badServerFrames;
  const errors = {
    frames: { ...metrics.errorFrames },
    closes: { ...metrics.closes },
    connects: { ...metrics.failedConnects },
    protocol,
  };
  const total = [errors.frames, errors.closes, errors.connects, errors.protocol]
    .reduce((sum, counts) => sum + sumOf(counts), 0) +
    metrics.stalls.count +
    metrics.lostSessions;
  const snapshots = metrics.stream.diffs;
  return {
    clients: context.clients,
    connected: metrics.connected,
    durationSeconds: round(context.durationSeconds, 1),
    connectMs: distribution(metrics.connectMs),
    ackLatencyMs: distribution(metrics.ackMs),
    pingRttMs: distribution(metrics.rttMs),
    snapshots,
    snapshotsPerSecond: rate(snapshots, context.durationSeconds),
    snapshotsPerClientPerSecond: rate(snapshots, context.connectedSeconds),
    extraFullSnapshots: metrics.stream.extraFullDiffs,
    cellCrossings: metrics.stream.cellCrossings,
    maxTickGap: metrics.stream.maxTickGap,
    resumes: metrics.resumes,
    redirects: metrics.redirects,
    maxDiffGapMs: round(metrics.maxDiffGapMs, 1),
    loginRetries: metrics.loginRetries,
    stalls: { ...metrics.stalls },
    lostSessions: metrics.lostSessions,
    // Refused rooms requests are ERROR frames already; an unanswered one is not.
    errors: { total: total + (metrics.rooms.failed.NO_ANSWER ?? 0), ...errors },
    botCpuPercent: round(context.botCpuPercent, 1),
    ...(context.rooms
      ? {
        rooms: {
          joins: metrics.rooms.joins,
          leaves: metrics.rooms.leaves,
          joinMs: distribution(metrics.rooms.joinMs),
          leaveMs: distribution(metrics.rooms.leaveMs),
          failed: { ...metrics.rooms.failed },
        },
      }
      : {}),
    definitions: DEFINITIONS,
  };
}

/** Totals at one moment, for {@linkcode progressLine}. */
export interface ProgressSample {
  /** Seconds since the run started. */
  atSeconds: number;
  snapshots: number;
  errors: number;
}

/** Totals of `metrics` now, for {@linkcode progressLine}. */
export function progressSample(metrics: BotMetrics, atSeconds: number): ProgressSample {
  const s = metrics.stream;
  const errors = sumOf(metrics.errorFrames) + sumOf(metrics.closes) +
    sumOf(metrics.failedConnects) + sumOf(s.problems) + metrics.badServerFrames +
    metrics.stalls.count + metrics.lostSessions;
  return { atSeconds, snapshots: s.diffs, errors };
}

/**
 * The progress line printed about once a second while the bots run.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * const line = progressLine(
 *   { atSeconds: 2, snapshots: 300, errors: 1 },
 *   { atSeconds: 1, snapshots: 100, errors: 0 },
 *   { connectedNow: 10, clients: 20 },
 * );
 * assert.equal(line, "bots    2s  connected 10/20  errors 1  snapshots/s 200");
 * ```
 */
export function progressLine(
  now: ProgressSample,
  before: ProgressSample,
  clients: { connectedNow: number; clients: number },
): string {
  const perSecond = rate(now.snapshots - before.snapshots, now.atSeconds - before.atSeconds);
  return `bots ${String(Math.round(now.atSeconds)).padStart(4)}s  ` +
    `connected ${clients.connectedNow}/${clients.clients}  errors ${now.errors}  ` +
    `snapshots/s ${Math.round(perSecond)}`;
}

/**
 * The final report as text for a terminal.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * const report = buildReport(new BotMetrics(Math.random), {
 *   clients: 2, durationSeconds: 1, connectedSeconds: 0, botCpuPercent: 0,
 * });
 * assert.match(formatReport(report), /connected\s+0 \/ 2/);
 * ```
 */
export function formatReport(report: BotReport): string {
  const ms = (d: Distribution) =>
    d.samples === 0 ? "no samples" : `p50 ${d.p50} ms  p99 ${d.p99} ms  max ${d.max} ms` +
      `  (${d.samples} samples)`;
  const counts = (c: CountsBy) =>
    Object.keys(c).length === 0
      ? "none"
      : Object.entries(c).map(([key, n]) => `${key} ×${n}`).join(", ");
  const lines = [
    `bots report (${report.durationSeconds} s)`,
    `  connected            ${report.connected} / ${report.clients}`,
    `  connect time         ${ms(report.connectMs)}`,
    `  input→ack latency    ${ms(report.ackLatencyMs)}`,
    `  ping round trip      ${ms(report.pingRttMs)}`,
    `  snapshots/s          ${report.snapshotsPerSecond} total, ` +
    `${report.snapshotsPerClientPerSecond} per client (${report.snapshots} DIFFs)`,
    `  extra full snapshots ${report.extraFullSnapshots}`,
    `  cell crossings       ${report.cellCrossings}  (own entity into another grid cell; ` +
    `an upper bound on handoffs, which clients cannot see)`,
    `  max tick gap         ${report.maxTickGap}`,
    `  resumes              ${report.resumes}  (${report.redirects} after a REDIRECT)`,
    `  stalls               ${report.stalls.count}  (> ${STALL_MS} ms without a DIFF; ` +
    `longest ${report.stalls.longestMs} ms)`,
    `  lost sessions        ${report.lostSessions}`,
    `  errors               ${report.errors.total}`,
    `    ERROR frames       ${counts(report.errors.frames)}`,
    `    unexpected closes  ${counts(report.errors.closes)}`,
    `    failed connects    ${counts(report.errors.connects)}`,
    `    protocol problems  ${counts(report.errors.protocol)}`,
    `  bots CPU             ${report.botCpuPercent} % of one core`,
  ];
  if (report.rooms) {
    lines.push(
      `  instance joins       ${report.rooms.joins}, ${ms(report.rooms.joinMs)}`,
      `  instance leaves      ${report.rooms.leaves}, ${ms(report.rooms.leaveMs)}`,
      `  failed joins/leaves  ${counts(report.rooms.failed)}`,
    );
  }
  return lines.join("\n");
}

function distribution(samples: Samples): Distribution {
  const [p50, p99, max] = percentiles(samples.values, [0.5, 0.99, 1]);
  const value = (v: number) => Number.isNaN(v) ? null : round(v, 1);
  return { samples: samples.count, p50: value(p50), p99: value(p99), max: value(max) };
}

function rate(count: number, seconds: number): number {
  return seconds > 0 ? round(count / seconds, 1) : 0;
}

function round(value: number, digits: number): number {
  const f = 10 ** digits;
  return Math.round(value * f) / f;
}

function sumOf(counts: Partial<Record<string, number>>): number {
  let sum = 0;
  for (const n of Object.values(counts)) sum += n ?? 0;
  return sum;
}
