// Whether a worker may write after its process was stopped: one stopped (SIGSTOP, a long stall)
// for longer than the coordinator waits for a heartbeat may have been declared down and its
// cells given away, so it writes nothing until a heartbeat sent since then is acknowledged. A
// coordinator that is merely unreachable does not stop a worker that keeps running. Times are
// performance.now() values handed in by the tick loop.
import type { Logger } from "../observe/log.ts";

/**
 * The stall state of one worker's tick loop.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * const watch = new StallWatch(0);
 * assert.equal(watch.mayWrite(100, 1000), true);
 * assert.equal(watch.mayWrite(5000, 1000), false); // stopped 4.9 s: suspect
 * watch.acknowledged(4000); // a heartbeat sent before the stall was noticed says nothing
 * assert.equal(watch.mayWrite(5010, 1000), false);
 * watch.acknowledged(5000);
 * assert.equal(watch.mayWrite(5020, 1000), true);
 * ```
 */
export class StallWatch {
  /** Last turn of the tick loop, to notice that this process was stopped. */
  #lastTurn: number;
  /** Set when it was stopped too long: the time from which a heartbeat must be acknowledged. */
  #suspectSince?: number;
  #log?: Logger;

  constructor(now: number, log?: Logger) {
    this.#lastTurn = now;
    this.#log = log;
  }

  /**
   * A turn of the tick loop at `now`: false once the time since the last turn exceeded
   * `timeoutMs`, until {@linkcode acknowledged} or {@linkcode clear}. A loop that is frozen on
   * purpose (paused) skips this call, so its resumed turn sees how long it was stopped.
   */
  mayWrite(now: number, timeoutMs: number): boolean {
    if (now - this.#lastTurn > timeoutMs && this.#suspectSince === undefined) {
      this.#suspectSince = now;
      this.#log?.warn("worker.stalled", { ms: Math.round(now - this.#lastTurn) });
    }
    this.#lastTurn = now;
    return this.#suspectSince === undefined;
  }

  /** A heartbeat sent at `sentAt` was acknowledged: still a member if sent since the stall. */
  acknowledged(sentAt: number): void {
    if (this.#suspectSince !== undefined && sentAt >= this.#suspectSince) {
      this.#suspectSince = undefined; // still a member: carry on
    }
  }

  /** Registered again: whatever was suspect is of a former incarnation. */
  clear(): void {
    this.#suspectSince = undefined;
  }
}
