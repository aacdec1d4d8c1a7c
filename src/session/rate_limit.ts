// Per-client rate limiting: a token bucket that refills continuously, and a strikes policy that
// turns repeated refusals into "warn once, then drop, then close".

/** A clock in milliseconds; injected so tests control time. */
export type Clock = () => number;

/** Options of {@linkcode TokenBucket}. */
export interface TokenBucketOptions {
  /** Most tokens held: the largest burst. */
  capacity: number;
  /** Tokens added per second, continuously. */
  refillPerSecond: number;
  /** Default `performance.now` (monotonic). */
  now?: Clock;
}

/**
 * A token bucket: starts full, refills at `refillPerSecond` up to `capacity`; each action takes
 * tokens or is refused. No timers: refill is computed from the clock on each call.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * let now = 0;
 * const bucket = new TokenBucket({ capacity: 2, refillPerSecond: 10, now: () => now });
 * assert.equal(bucket.take(), true);
 * assert.equal(bucket.take(), true);
 * assert.equal(bucket.take(), false); // burst used up
 * now += 100; // one token back after 1/10 s
 * assert.equal(bucket.take(), true);
 * ```
 */
export class TokenBucket {
  readonly capacity: number;
  readonly refillPerSecond: number;
  #tokens: number;
  #last: number;
  #now: Clock;

  constructor(options: TokenBucketOptions) {
    const { capacity, refillPerSecond } = options;
    if (!(Number.isFinite(capacity) && capacity > 0)) {
      throw new RangeError(`Cannot create a token bucket: capacity must be > 0, got ${capacity}`);
    }
    if (!(Number.isFinite(refillPerSecond) && refillPerSecond >= 0)) {
      throw new RangeError(
        `Cannot create a token bucket: refillPerSecond must be >= 0, got ${refillPerSecond}`,
      );
    }
    this.capacity = capacity;
    this.refillPerSecond = refillPerSecond;
    this.#now = options.now ?? (() => performance.now());
    this.#tokens = capacity;
    this.#last = this.#now();
  }

  /** Takes `n` tokens if there are that many; false (and nothing taken) otherwise. */
  take(n = 1): boolean {
    if (!(n > 0)) throw new RangeError(`Cannot take tokens: n must be > 0, got ${n}`);
    this.#refill();
    if (this.#tokens < n) return false;
    this.#tokens -= n;
    return true;
  }

  /** Tokens available now (fractional). */
  get available(): number {
    this.#refill();
    return this.#tokens;
  }

  /** Milliseconds until `n` tokens are available: 0 now, Infinity if never (a Retry-After). */
  msUntil(n = 1): number {
    this.#refill();
    if (this.#tokens >= n) return 0;
    if (n > this.capacity || this.refillPerSecond === 0) return Infinity;
    return Math.ceil(((n - this.#tokens) / this.refillPerSecond) * 1000);
  }

  #refill(): void {
    const now = this.#now();
    // A clock that steps back refills nothing rather than draining the bucket.
    if (now > this.#last) {
      this.#tokens = Math.min(
        this.capacity,
        this.#tokens + ((now - this.#last) / 1000) * this.refillPerSecond,
      );
      this.#last = now;
    }
  }
}

/** What to do about a refused action; see {@linkcode Strikes.strike}. */
export type StrikeVerdict = "warn" | "drop" | "close";

/** Options of {@linkcode Strikes}. */
export interface StrikesOptions {
  /** Refusals within `windowMs` that end the connection. */
  limit: number;
  /** Length of the sliding window, ms. */
  windowMs: number;
  /** Default `performance.now` (monotonic). */
  now?: Clock;
}

/**
 * Escalation for refused actions (rate limited or bad frames): the first refusal of a burst
 * says "warn" (send one ERROR), later ones "drop" silently, and the `limit`-th refusal within a
 * sliding `windowMs` says "close". Refusals older than the window are forgotten, so a client
 * that trips the limit now and then is never closed.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * let now = 0;
 * const strikes = new Strikes({ limit: 3, windowMs: 1000, now: () => now });
 * assert.equal(strikes.strike(), "warn");
 * assert.equal(strikes.strike(), "drop");
 * assert.equal(strikes.strike(), "close");
 * ```
 */
export class Strikes {
  readonly limit: number;
  readonly windowMs: number;
  // Times of the most recent `limit` refusals, a ring.
  #times: Float64Array;
  #next = 0;
  #count = 0;
  #now: Clock;

  constructor(options: StrikesOptions) {
    const { limit, windowMs } = options;
    if (!(Number.isSafeInteger(limit) && limit >= 1)) {
      throw new RangeError(`Cannot create strikes: limit must be an integer >= 1, got ${limit}`);
    }
    if (!(Number.isFinite(windowMs) && windowMs > 0)) {
      throw new RangeError(`Cannot create strikes: windowMs must be > 0, got ${windowMs}`);
    }
    this.limit = limit;
    this.windowMs = windowMs;
    this.#times = new Float64Array(limit);
    this.#now = options.now ?? (() => performance.now());
  }

  /** Refusals within the window, as of now. */
  get count(): number {
    this.#forget(this.#now());
    return this.#count;
  }

  /** Records one refusal and says what to do about it. */
  strike(): StrikeVerdict {
    const now = this.#now();
    this.#forget(now);
    const first = this.#count === 0;
    this.#times[this.#next] = now;
    this.#next = (this.#next + 1) % this.limit;
    this.#count = Math.min(this.#count + 1, this.limit);
    if (this.#count >= this.limit) return "close";
    return first ? "warn" : "drop";
  }

  /** Forgets every refusal (e.g. after a resume on a new connection). */
  reset(): void {
    this.#count = 0;
  }

  // Drops refusals that fell out of the window; the oldest live one sits `count` slots back.
  #forget(now: number): void {
    while (this.#count > 0) {
      const oldest = (this.#next - this.#count + this.limit) % this.limit;
      if (now - this.#times[oldest] < this.windowMs) break;
      this.#count--;
    }
  }
}
