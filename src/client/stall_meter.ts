// Stalls of a client's state stream: a live session that receives no DIFF for longer than a
// bound (1 s by default) is a player who froze, even if the socket stays open. Counted per gap
// between WELCOME, each DIFF and the end of the connection, on an injected clock.

/** Default bound: a stream with no DIFF for longer than this is stalled, ms. */
export const STALL_MS = 1_000;

/** Stall totals over every stream measured with the same object. */
export interface StallCounts {
  /** Gaps longer than the bound. */
  count: number;
  /** The longest such gap, ms (0 without stalls). */
  longestMs: number;
}

/** Fresh, zeroed {@linkcode StallCounts}. */
export function emptyStallCounts(): StallCounts {
  return { count: 0, longestMs: 0 };
}

/** Options of {@linkcode StallMeter}. */
export interface StallMeterOptions {
  /** Monotonic clock in ms. */
  now: () => number;
  /** Gaps longer than this count, ms (default {@linkcode STALL_MS}). */
  thresholdMs?: number;
}

/**
 * Measures the gaps of one client's DIFF stream: call {@linkcode StallMeter.started} on each
 * WELCOME, {@linkcode StallMeter.diff} on each DIFF and {@linkcode StallMeter.ended} when the
 * connection ends (either side), so a stream that froze until it was closed counts too.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * let now = 0;
 * const counts = emptyStallCounts();
 * const meter = new StallMeter(counts, { now: () => now });
 * meter.started();
 * now = 50; meter.diff();
 * now = 1_550; meter.diff(); // 1.5 s without a DIFF
 * now = 1_600; meter.ended();
 * assert.deepEqual(counts, { count: 1, longestMs: 1_500 });
 * ```
 */
export class StallMeter {
  readonly counts: StallCounts;
  #now: () => number;
  #threshold: number;
  /** Time of the last WELCOME or DIFF of the live stream; -1 without one. */
  #since = -1;

  constructor(counts: StallCounts, options: StallMeterOptions) {
    this.counts = counts;
    this.#now = options.now;
    this.#threshold = options.thresholdMs ?? STALL_MS;
  }

  /** Milliseconds since the last DIFF (or WELCOME) of the live stream; 0 without one. */
  get quietMs(): number {
    return this.#since < 0 ? 0 : this.#now() - this.#since;
  }

  /** A WELCOME opened a live stream: its first DIFF is due. */
  started(): void {
    this.#since = this.#now();
  }

  /** A DIFF arrived. */
  diff(): void {
    if (this.#since < 0) return; // not live (a DIFF before WELCOME is a protocol problem)
    this.#gap();
    this.#since = this.#now();
  }

  /** The connection ended: the gap since the last DIFF counts as well (idempotent). */
  ended(): void {
    if (this.#since < 0) return;
    this.#gap();
    this.#since = -1;
  }

  #gap(): void {
    const gap = this.#now() - this.#since;
    if (gap <= this.#threshold) return;
    this.counts.count++;
    if (gap > this.counts.longestMs) this.counts.longestMs = Math.round(gap);
  }
}
