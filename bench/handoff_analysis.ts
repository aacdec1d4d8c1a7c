// What a border walker's samples say about a handoff: input→ack latencies and DIFF arrivals
// split into those near a crossing of the worker border and those well away from any, so the
// latency and tick gaps a handoff adds are the difference of the two groups.

/** When a sample counts as near a crossing, and when as away from every crossing, ms. */
export interface Bands {
  nearMs: number;
  awayMs: number;
}

/** Samples of one group (near or away). */
export interface Group {
  /** Input→ack latencies of inputs sent in the group's time, ms. */
  ackMs: number[];
  /** Time between consecutive DIFFs arriving in the group's time, ms. */
  intervalMs: number[];
  diffs: number;
  /** DIFFs whose tick was more than one after the previous DIFF's: snapshots missed. */
  gapsOverOne: number;
  maxTickGap: number;
}

/** An empty group. */
export function emptyGroup(): Group {
  return { ackMs: [], intervalMs: [], diffs: 0, gapsOverOne: 0, maxTickGap: 0 };
}

/** Distance in ms from `t` to the nearest of the sorted `crossings`; Infinity without any. */
export function distanceToCrossing(t: number, crossings: readonly number[]): number {
  let best = Infinity;
  for (const c of crossings) best = Math.min(best, Math.abs(t - c));
  return best;
}

/**
 * Adds one walker's samples to the near and away groups. `acks` are [sent at, latency] and
 * `diffs` [arrived at, tick gap, ms since the previous DIFF] (the first DIFF of a connection
 * has no predecessor and is not passed); times are on one clock with `crossings`, the arrival
 * times of the first DIFF that showed the walker on the other worker's side.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { addWalker, emptyGroup } from "./handoff_analysis.ts";
 * const near = emptyGroup(), away = emptyGroup();
 * addWalker({ near, away }, { nearMs: 500, awayMs: 1500 }, {
 *   crossings: [10_000],
 *   acks: [[9_900, 80], [2_000, 30], [9_000, 40]],
 *   diffs: [[10_000, 2, 100], [3_000, 1, 50]],
 * });
 * assert.deepEqual(near.ackMs, [80]);
 * assert.deepEqual(away.ackMs, [30]);
 * assert.equal(near.gapsOverOne, 1);
 * assert.equal(away.maxTickGap, 1);
 * ```
 */
export function addWalker(
  groups: { near: Group; away: Group },
  bands: Bands,
  walker: {
    crossings: readonly number[];
    acks: ReadonlyArray<readonly [number, number]>;
    diffs: ReadonlyArray<readonly [number, number, number]>;
  },
): void {
  const groupOf = (t: number): Group | undefined => {
    const d = distanceToCrossing(t, walker.crossings);
    return d <= bands.nearMs ? groups.near : d >= bands.awayMs ? groups.away : undefined;
  };
  for (const [sentAt, ms] of walker.acks) groupOf(sentAt)?.ackMs.push(ms);
  for (const [at, gap, interval] of walker.diffs) {
    const group = groupOf(at);
    if (!group) continue;
    group.diffs++;
    group.intervalMs.push(interval);
    if (gap > 1) group.gapsOverOne++;
    if (gap > group.maxTickGap) group.maxTickGap = gap;
  }
}
