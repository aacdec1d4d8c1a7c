// The global tick clock: tick n starts at worldStartMs + n / tickHz on every node, so tick
// numbers agree across workers without any message exchange.

/** Maps wall time to global tick numbers. Time is injected for tests. */
export class TickClock {
  readonly startMs: number;
  readonly periodMs: number;
  #now: () => number;

  constructor(startMs: number, tickHz: number, now: () => number = Date.now) {
    if (!(tickHz > 0)) {
      throw new RangeError(`Cannot build a tick clock: tickHz must be > 0, got ${tickHz}`);
    }
    this.startMs = startMs;
    this.periodMs = 1000 / tickHz;
    this.#now = now;
  }

  /** The tick in progress now. */
  current(): number {
    return Math.max(0, Math.floor((this.#now() - this.startMs) / this.periodMs));
  }

  /** Milliseconds from now until `tick` starts (0 when it already has). */
  msUntil(tick: number): number {
    return Math.max(0, this.startMs + tick * this.periodMs - this.#now());
  }
}

/**
 * Which ticks to run when the loop wakes at tick `now` after running `last`: every missed tick
 * up to `maxCatchUp`, otherwise only the newest ones (the simulation slows rather than spirals).
 */
export function ticksToRun(
  last: number,
  now: number,
  maxCatchUp: number,
): { from: number; to: number } {
  if (now <= last) return { from: last + 1, to: last };
  const from = Math.max(last + 1, now - maxCatchUp + 1);
  return { from, to: now };
}
