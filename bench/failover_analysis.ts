// What the failover scenario measures per kill and how the kills are summed up: pure, so the
// numbers in docs/benchmarks.md can be traced to the samples in bench/results/failover.json.
import { quantile, round } from "./stats.ts";

/** One `kill -9` of a worker under players, as measured. */
export interface KillSample {
  victim: string;
  /** Players whose entity the victim owned when it died. */
  playersOnVictim: number;
  /** Kill → the coordinator's `worker.down` event, ms; null when none came. */
  detectionMs: number | null;
  /** Kill → every cell owned by a live worker, ms; null when that never happened in time. */
  cellsOwnedMs: number | null;
  /** Per player of the victim: kill → its first DIFF after the kill, ms (null: none in time). */
  diffsAgainMs: Array<number | null>;
  /** Kill → the moment the last of all players had a DIFF again, ms. */
  allPlayersMs: number | null;
  /**
   * The longest silence around the kill of a player the victim did not own (they should see
   * only tick-sized gaps), ms; null without such players.
   */
  bystanderSilenceMs: number | null;
  /** Entities (NPCs and players) the workers held before the kill. */
  entitiesBefore: number;
  /** Of those, held by no live worker after the takeover. */
  entitiesLost: number;
  /** Entities held by two live workers after the takeover. */
  duplicated: number;
  /**
   * Per player of the victim: the inputs the dead worker's last DIFF acknowledged that the new
   * owner's first DIFF no longer does, in ticks (players send one input per tick): how far
   * behind the promoted mirror was.
   */
  progressLostTicks: number[];
  /** Players whose connection was closed around the kill (they should keep it). */
  playersClosed: number;
  /** The coordinator's events from the kill on (kind and fields, time relative to the kill). */
  events: Array<Record<string, unknown>>;
}

/** Distribution of one measure over every kill (or every affected player), ms or ticks. */
export interface Spread {
  samples: number;
  p50: number | null;
  p99: number | null;
  max: number | null;
  /** Samples that never came (counted, not hidden in the percentiles). */
  missing: number;
}

/** The scenario's summary over all kills. */
export interface FailoverSummary {
  kills: number;
  detectionMs: Spread;
  cellsOwnedMs: Spread;
  /** Over every player of every victim. */
  diffsAgainMs: Spread;
  /** Kill → the last of all players has DIFFs again, over the kills. */
  allPlayersMs: Spread;
  bystanderSilenceMs: Spread;
  entitiesLost: number;
  duplicated: number;
  progressLostTicks: Spread;
  playersClosed: number;
}

/**
 * Percentiles of `values` with the missing (null) ones counted apart.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * assert.deepEqual(spread([300, null, 100, 200]), {
 *   samples: 3, p50: 200, p99: 300, max: 300, missing: 1,
 * });
 * ```
 */
export function spread(values: ReadonlyArray<number | null>): Spread {
  const present = values.filter((v): v is number => v !== null);
  const q = (p: number) => (present.length > 0 ? round(quantile(present, p), 1) : null);
  return {
    samples: present.length,
    p50: q(0.5),
    p99: q(0.99),
    max: q(1),
    missing: values.length - present.length,
  };
}

/** Sums up the kills of a run. */
export function summarize(kills: readonly KillSample[]): FailoverSummary {
  return {
    kills: kills.length,
    detectionMs: spread(kills.map((k) => k.detectionMs)),
    cellsOwnedMs: spread(kills.map((k) => k.cellsOwnedMs)),
    diffsAgainMs: spread(kills.flatMap((k) => k.diffsAgainMs)),
    allPlayersMs: spread(kills.map((k) => k.allPlayersMs)),
    bystanderSilenceMs: spread(kills.map((k) => k.bystanderSilenceMs)),
    entitiesLost: kills.reduce((n, k) => n + k.entitiesLost, 0),
    duplicated: kills.reduce((n, k) => n + k.duplicated, 0),
    progressLostTicks: spread(kills.flatMap((k) => k.progressLostTicks)),
    playersClosed: kills.reduce((n, k) => n + k.playersClosed, 0),
  };
}

/** The SPEC targets a summary is held to. */
export interface FailoverTargets {
  detectionMs: number;
  diffsAgainMs: number;
  /** One replication interval, in ticks. */
  progressLostTicks: number;
}

/**
 * Whether a run met the targets: detection and DIFFs again within their bounds at p99 with
 * none missing, no entity lost or doubled, no player closed, and at most one replication
 * interval of progress lost.
 */
export function targetsMet(summary: FailoverSummary, targets: FailoverTargets): boolean {
  const within = (s: Spread, bound: number) => s.missing === 0 && s.max !== null && s.max <= bound;
  return summary.kills > 0 &&
    within(summary.detectionMs, targets.detectionMs) &&
    within(summary.diffsAgainMs, targets.diffsAgainMs) &&
    (summary.progressLostTicks.max ?? 0) <= targets.progressLostTicks &&
    summary.entitiesLost === 0 && summary.duplicated === 0 && summary.playersClosed === 0;
}
