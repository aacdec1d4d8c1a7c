// Joins and resumes waiting for a worker's answer, each bounded by a timeout on the hub's clock.
import type { TimerId, Timers } from "./timers.ts";

/** A worker's answer to a join or resume: the entity (-1: refused) and who owns it. */
export interface Answer {
  entity: number;
  worker: string;
}

/**
 * Requests by key (a session id) awaiting one {@linkcode Answer}; a request that times out or
 * is cancelled resolves to undefined.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { ManualTimers } from "./timers.ts";
 * const timers = new ManualTimers();
 * const pending = new PendingAnswers(timers);
 * const late = pending.wait("a", 100, () => {});
 * timers.advance(100);
 * assert.equal(await late, undefined);
 * const answered = pending.wait("b", 100, () => pending.settle("b", { entity: 7, worker: "w1" }));
 * assert.deepEqual(await answered, { entity: 7, worker: "w1" });
 * ```
 */
export class PendingAnswers {
  #timers: Timers;
  #waiting = new Map<string, { resolve: (answer: Answer | undefined) => void; timer: TimerId }>();

  constructor(timers: Timers) {
    this.#timers = timers;
  }

  /** Registers `key`, runs `start` (which sends the request) and waits up to `timeoutMs`. */
  wait(key: string, timeoutMs: number, start: () => void): Promise<Answer | undefined> {
    return new Promise((resolve) => {
      const timer = this.#timers.setTimeout(() => {
        this.#waiting.delete(key);
        resolve(undefined);
      }, timeoutMs);
      this.#waiting.set(key, { resolve, timer });
      start();
    });
  }

  /** Answers `key` if it is still waiting. */
  settle(key: string, answer: Answer | undefined): void {
    const pending = this.#waiting.get(key);
    if (!pending) return;
    this.#waiting.delete(key);
    this.#timers.clearTimeout(pending.timer);
    pending.resolve(answer);
  }

  /** Resolves everything still waiting with undefined (shutdown). */
  cancelAll(): void {
    for (const key of [...this.#waiting.keys()]) this.settle(key, undefined);
  }
}
