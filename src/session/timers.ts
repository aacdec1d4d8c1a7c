// Time for the session gateway: the wall clock and its timers behind one small interface, so the
// hub's HELLO, join, resume, idle and flush timers run on a manual clock in tests.

/** An opaque timer handle from {@linkcode Timers}. */
export type TimerId = ReturnType<typeof setTimeout> | number;

/** A clock with timers. Every timer it starts can be cleared with the matching call. */
export interface Timers {
  /** Current wall time, ms since the epoch. */
  now(): number;
  setTimeout(callback: () => void, ms: number): TimerId;
  clearTimeout(id: TimerId | undefined): void;
  setInterval(callback: () => void, ms: number): TimerId;
  clearInterval(id: TimerId | undefined): void;
}

/** The real clock and the runtime's timers. */
export const systemTimers: Timers = {
  now: () => Date.now(),
  setTimeout: (callback, ms) => setTimeout(callback, ms),
  clearTimeout: (id) => clearTimeout(id),
  setInterval: (callback, ms) => setInterval(callback, ms),
  clearInterval: (id) => clearInterval(id),
};

interface ManualTimer {
  at: number;
  every: number;
  callback: () => void;
}

/**
 * A clock that moves only when told: {@linkcode ManualTimers.advance} runs every timer that
 * falls due, in time order, with `now()` reading each timer's due time while it runs.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * const timers = new ManualTimers(1_000);
 * const fired: number[] = [];
 * timers.setTimeout(() => fired.push(timers.now()), 50);
 * timers.setInterval(() => fired.push(timers.now()), 30);
 * timers.advance(100);
 * assert.deepEqual(fired, [1030, 1050, 1060, 1090]);
 * assert.equal(timers.now(), 1_100);
 * ```
 */
export class ManualTimers implements Timers {
  #now: number;
  #next = 1;
  #timers = new Map<number, ManualTimer>();

  constructor(startMs = 0) {
    this.#now = startMs;
  }

  now(): number {
    return this.#now;
  }

  /** Timers started and not yet cleared or fired (intervals count until cleared). */
  get pending(): number {
    return this.#timers.size;
  }

  setTimeout(callback: () => void, ms: number): number {
    const id = this.#next++;
    this.#timers.set(id, { at: this.#now + Math.max(0, ms), every: 0, callback });
    return id;
  }

  clearTimeout(id: TimerId | undefined): void {
    if (typeof id === "number") this.#timers.delete(id);
  }

  setInterval(callback: () => void, ms: number): number {
    const id = this.#next++;
    const every = Math.max(1, ms);
    this.#timers.set(id, { at: this.#now + every, every, callback });
    return id;
  }

  clearInterval(id: TimerId | undefined): void {
    this.clearTimeout(id);
  }

  /** Moves the clock forward by `ms`, running what falls due on the way. */
  advance(ms: number): void {
    const end = this.#now + ms;
    for (;;) {
      let dueId: number | undefined;
      let due: ManualTimer | undefined;
      for (const [id, timer] of this.#timers) {
        if (timer.at <= end && (!due || timer.at < due.at)) [dueId, due] = [id, timer];
      }
      if (!due || dueId === undefined) break;
      this.#now = due.at;
      if (due.every > 0) due.at += due.every;
      else this.#timers.delete(dueId);
      due.callback();
    }
    this.#now = end;
  }
}
