// When a client tries to reconnect: a bounded number of attempts per outage, each after an
// exponentially growing, capped and jittered pause (so a gateway that drops many players does
// not get them all back in the same millisecond), on timers a test can replace.

/** Options of {@linkcode ReconnectBackoff}; every field has a default. */
export interface BackoffOptions {
  /** Attempts per outage before the client gives up (default 5; 0: never reconnect). */
  maxAttempts: number;
  /** Pause before the first attempt, ms (default 250). */
  baseMs: number;
  /** Cap on one pause, ms (default 5000). */
  maxMs: number;
  /** Share of each pause that is random, 0..1 (default 0.5): pause·(1 − jitter·random). */
  jitter: number;
}

/** The defaults of {@linkcode BackoffOptions}. */
export const DEFAULT_BACKOFF: Readonly<BackoffOptions> = Object.freeze({
  maxAttempts: 5,
  baseMs: 250,
  maxMs: 5000,
  jitter: 0.5,
});

/** Time as a client sees it; tests pass a fake one. */
export interface ClientTimers {
  /** Monotonic ms. */
  now(): number;
  /** Calls `fn` once after `ms`; the returned function cancels it. */
  after(ms: number, fn: () => void): () => void;
}

/** The runtime's timers and `performance.now`. */
export const realTimers: ClientTimers = {
  now: () => performance.now(),
  after(ms, fn) {
    const timer = setTimeout(fn, ms);
    return () => clearTimeout(timer);
  },
};

/**
 * The pauses of one client's reconnect attempts: {@linkcode ReconnectBackoff.next} gives the
 * pause before the next attempt of the current outage, or undefined once they are used up;
 * {@linkcode ReconnectBackoff.reset} starts over after a connection succeeded.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * const backoff = new ReconnectBackoff({ maxAttempts: 4, baseMs: 100, maxMs: 300, jitter: 0.5 }, () => 0);
 * assert.deepEqual([backoff.next(), backoff.next(), backoff.next(), backoff.next()], [100, 200, 300, 300]);
 * assert.equal(backoff.next(), undefined);
 * backoff.reset();
 * assert.equal(backoff.next(), 100);
 * ```
 */
export class ReconnectBackoff {
  readonly options: Readonly<BackoffOptions>;
  #random: () => number;
  #attempt = 0;

  constructor(options: Partial<BackoffOptions> = {}, random: () => number = Math.random) {
    const o = { ...DEFAULT_BACKOFF, ...options };
    if (!Number.isSafeInteger(o.maxAttempts) || o.maxAttempts < 0) {
      throw new RangeError(`Backoff maxAttempts must be an integer >= 0, got ${o.maxAttempts}`);
    }
    if (!(o.baseMs >= 0) || !(o.maxMs >= o.baseMs)) {
      throw new RangeError(`Backoff needs 0 <= baseMs <= maxMs, got ${o.baseMs} and ${o.maxMs}`);
    }
    if (!(o.jitter >= 0 && o.jitter <= 1)) {
      throw new RangeError(`Backoff jitter must be in 0..1, got ${o.jitter}`);
    }
    this.options = Object.freeze(o);
    this.#random = random;
  }

  /** Attempts made in the current outage. */
  get attempts(): number {
    return this.#attempt;
  }

  /** The pause before the next attempt, ms, or undefined when no attempt is left. */
  next(): number | undefined {
    const o = this.options;
    if (this.#attempt >= o.maxAttempts) return undefined;
    const pause = Math.min(o.maxMs, o.baseMs * 2 ** this.#attempt);
    this.#attempt++;
    return Math.round(pause * (1 - o.jitter * this.#random()));
  }

  /** A connection succeeded: the next outage starts from the first pause. */
  reset(): void {
    this.#attempt = 0;
  }
}
