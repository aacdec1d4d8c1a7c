// Keepalive for long-lived calls. Deno's fetch and Deno.serve expose no HTTP/2 PING, and a
// paused (SIGSTOP) peer keeps its TCP connection open, so each side of a streaming call that
// negotiated it sends an empty KEEPALIVE frame when it has sent nothing for `intervalMs`, and
// fails the call when it has received nothing for `timeoutMs`.
import { KEEPALIVE_FRAME } from "./grpc_frame.ts";

/** Header the client sends (`interval,timeout` in ms) and the server echoes to agree on it. */
export const KEEPALIVE_HEADER = "zs-keepalive";

/** Keepalive timing of a call. */
export interface KeepaliveOptions {
  /** Send a keepalive frame after this long without sending anything (default 1 s). */
  intervalMs: number;
  /** Fail the call after this long without receiving anything (default 5 s). */
  timeoutMs: number;
}

/** Defaults: a dead or paused peer surfaces within 5 s, far above any tick or GC pause. */
export const DEFAULT_KEEPALIVE: KeepaliveOptions = { intervalMs: 1_000, timeoutMs: 5_000 };

/** The header value for `options`. */
export function formatKeepalive(options: KeepaliveOptions): string {
  return `${options.intervalMs},${options.timeoutMs}`;
}

/** Parses a keepalive header, clamped to sane bounds; undefined when absent or malformed. */
export function parseKeepalive(header: string | null): KeepaliveOptions | undefined {
  const match = header?.match(/^(\d{1,9}),(\d{1,9})$/);
  if (!match) return undefined;
  const intervalMs = Math.min(60_000, Math.max(100, Number(match[1])));
  const timeoutMs = Math.min(600_000, Math.max(2 * intervalMs, Number(match[2])));
  return { intervalMs, timeoutMs };
}

/** Hooks of one call's {@linkcode Liveness}. */
export interface LivenessHooks {
  /** Writes a frame on the call; false when the call can no longer send. */
  send(frame: Uint8Array): boolean;
  /** Called once when nothing arrived for `timeoutMs`. */
  onSilent(silentMs: number): void;
  /** Whether the peer is still expected to send (false once it half-closed). */
  peerSending(): boolean;
}

/** Time as {@linkcode Liveness} sees it; tests pass a fake one. */
export interface LivenessClock {
  now(): number;
  /** Calls `fn` every `ms` until the returned function is called. */
  every(ms: number, fn: () => void): () => void;
}

const REAL_CLOCK: LivenessClock = {
  now: () => performance.now(),
  every(ms, fn) {
    const timer = setInterval(fn, ms);
    return () => clearInterval(timer);
  },
};

/** The keepalive timer of one call; `sent()`/`received()` are called on every frame. */
export class Liveness {
  #options: KeepaliveOptions;
  #hooks: LivenessHooks;
  #clock: LivenessClock;
  #lastSent: number;
  #lastReceived: number;
  #stop: () => void;

  constructor(options: KeepaliveOptions, hooks: LivenessHooks, clock = REAL_CLOCK) {
    this.#options = options;
    this.#hooks = hooks;
    this.#clock = clock;
    this.#lastSent = this.#lastReceived = clock.now();
    const tick = Math.max(50, Math.min(options.intervalMs, options.timeoutMs / 4));
    this.#stop = clock.every(tick, () => this.#check());
  }

  /** Something was written to the peer. */
  sent(): void {
    this.#lastSent = this.#clock.now();
  }

  /** Something arrived from the peer. */
  received(): void {
    this.#lastReceived = this.#clock.now();
  }

  /** Stops the timer. */
  stop(): void {
    this.#stop();
  }

  #check(): void {
    const now = this.#clock.now();
    const silent = now - this.#lastReceived;
    if (this.#hooks.peerSending() && silent > this.#options.timeoutMs) {
      this.stop();
      this.#hooks.onSilent(Math.round(silent));
      return;
    }
    if (now - this.#lastSent >= this.#options.intervalMs) {
      if (this.#hooks.send(KEEPALIVE_FRAME)) this.#lastSent = now;
    }
  }
}
