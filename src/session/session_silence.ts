// When a live session has gone quiet for too long, on either side: the client sent nothing
// (IDLE_TIMEOUT), or the worker simulating its entity sent no diff (WORLD_STALLED, a worker
// that died or froze). Pure, so the gateway's sweep is tested with a fake clock.
import { ErrorCode } from "../errors.ts";

/** The two bounds, from the gateway config. */
export interface SilenceLimits {
  /** Longest silence of the client after WELCOME, ms. */
  idleTimeoutMs: number;
  /** Longest time without a diff from the entity's worker, ms. */
  ownerSilenceMs: number;
}

/** When a session last heard from each side (same clock as `now`). */
export interface SessionTimes {
  /** Last frame from the client. */
  lastHeard: number;
  /** Last diff from the worker owning the entity (or WELCOME, before the first). */
  lastState: number;
}

/** Why a session must be closed, as an ERROR code and message. */
export interface Silence {
  code: typeof ErrorCode.IDLE_TIMEOUT | typeof ErrorCode.WORLD_STALLED;
  message: string;
}

/**
 * The reason to close a live session at `now`, or undefined while both sides are within their
 * bounds. A silent client wins over a silent world: its session is over either way.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * const limits = { idleTimeoutMs: 30_000, ownerSilenceMs: 3_000 };
 * assert.equal(silenceOf({ lastHeard: 0, lastState: 0 }, 3_000, limits), undefined);
 * assert.equal(silenceOf({ lastHeard: 0, lastState: 0 }, 3_001, limits)?.code, "WORLD_STALLED");
 * ```
 */
export function silenceOf(
  times: SessionTimes,
  now: number,
  limits: SilenceLimits,
): Silence | undefined {
  if (now - times.lastHeard > limits.idleTimeoutMs) {
    return {
      code: ErrorCode.IDLE_TIMEOUT,
      message: `Nothing received for ${limits.idleTimeoutMs} ms`,
    };
  }
  if (now - times.lastState > limits.ownerSilenceMs) {
    return {
      code: ErrorCode.WORLD_STALLED,
      message: `The world sent no state for ${limits.ownerSilenceMs} ms; resume the session`,
    };
  }
  return undefined;
}

/**
 * How often to check every session: a quarter of the shorter bound, so a session is closed at
 * most 25 % late, between 50 ms and 1 s (one sweep per gateway, never a timer per frame).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * assert.equal(sweepIntervalMs({ idleTimeoutMs: 30_000, ownerSilenceMs: 3_000 }), 750);
 * assert.equal(sweepIntervalMs({ idleTimeoutMs: 100, ownerSilenceMs: 100 }), 50);
 * ```
 */
export function sweepIntervalMs(limits: SilenceLimits): number {
  return Math.max(50, Math.min(1_000, limits.idleTimeoutMs / 4, limits.ownerSilenceMs / 4));
}
