// The space's tuning: how long its protocol memories last (in ms, turned into tick counts at the
// space's tick rate, so a faster tick keeps the same wall-clock behaviour) and how its spatial
// indexes are sized relative to the cell.

/** Wall-clock lifetimes of a space's waits and memories; every one has a default. */
export interface SpaceTimings {
  /** A batch stamped with a newer map epoch waits this long for that map, then is applied. */
  epochWaitMs: number;
  /** An unacknowledged cell transfer is sent again after this long. */
  transferResendMs: number;
  /**
   * The new owner of an entity that left is remembered this long, so late interactions and
   * handoffs for it are forwarded; also the cadence at which old memories are dropped.
   */
  forwardMs: number;
  /** Ids of applied interactions are kept this long, so a resent interaction applies once. */
  appliedMemoryMs: number;
  /** Accepted transfers are kept this long, so a resend is acknowledged, not re-applied. */
  acceptedMemoryMs: number;
}

/** Defaults of {@linkcode SpaceTimings} (the values that were 40/200-tick constants at 20 Hz). */
export const SPACE_TIMINGS: Readonly<SpaceTimings> = Object.freeze({
  epochWaitMs: 2_000,
  transferResendMs: 2_000,
  forwardMs: 10_000,
  appliedMemoryMs: 20_000,
  acceptedMemoryMs: 50_000,
});

/** {@linkcode SpaceTimings} as whole ticks at one tick rate (each at least 1). */
export type SpaceTicks = {
  [K in keyof SpaceTimings as K extends `${infer N}Ms` ? N : never]: number;
};

/**
 * Turns timings (defaults filled in) into tick counts at `tickHz`, rounding up so a wait is
 * never shorter than asked.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * assert.equal(spaceTicks({}, 20).epochWait, 40);
 * assert.equal(spaceTicks({}, 60).epochWait, 120);
 * assert.equal(spaceTicks({ forwardMs: 1 }, 20).forward, 1);
 * ```
 */
export function spaceTicks(timings: Partial<SpaceTimings>, tickHz: number): SpaceTicks {
  const t = { ...SPACE_TIMINGS, ...timings };
  const ticks = (ms: number) => Math.max(1, Math.ceil((ms * tickHz) / 1000));
  return {
    epochWait: ticks(t.epochWaitMs),
    transferResend: ticks(t.transferResendMs),
    forward: ticks(t.forwardMs),
    appliedMemory: ticks(t.appliedMemoryMs),
    acceptedMemory: ticks(t.acceptedMemoryMs),
  };
}

/**
 * Bucket edge of the uniform-grid index: a quarter of a cell (at least 4 units), so an AOI or
 * ghost-band query (radius below the cell size) touches a handful of buckets.
 */
export function gridBucketSize(cellSize: number): number {
  return Math.max(4, cellSize / 4);
}

/**
 * Slack of the rbush index's fat boxes: a twentieth of a cell (at least 1 unit), so an entity
 * moving a few units per tick is re-inserted rarely.
 */
export function rbushSlack(cellSize: number): number {
  return Math.max(1, cellSize / 20);
}
