// The bots' instances scenario for one player: quick-join a mode, play there for a while, leave
// back to the world, wait a moment, and again — timing each JOIN → TRAVEL and LEAVE → TRAVEL
// into the shared metrics and counting refused requests by code.
import { type ClientMessage, Op, type ServerMessage } from "../protocol/client_protocol.ts";
import type { Samples } from "./bot_report.ts";

/** What one player's cycle counts, shared by every bot of a run. */
export interface RoomMetrics {
  /** JOIN sent → TRAVEL into the instance, ms. */
  readonly joinMs: Samples;
  /** LEAVE sent → TRAVEL back to the world, ms. */
  readonly leaveMs: Samples;
  joins: number;
  leaves: number;
  /** Requests answered with ERROR (or never answered: NO_ANSWER), by code. */
  readonly failed: Record<string, number>;
}

/** Options of {@linkcode RoomCycle}. */
export interface RoomCycleOptions {
  /** The mode to quick-join. */
  mode: string;
  /** Time in an instance before leaving, ms. */
  stayMs: number;
  /** Time in the world before joining again, ms. */
  pauseMs: number;
  /** A request not answered within this long counts as NO_ANSWER, ms. */
  timeoutMs: number;
  metrics: RoomMetrics;
  send(message: ClientMessage): void;
  now(): number;
  random(): number;
}

/** One bot's join / stay / leave loop; `start` after WELCOME, `stop` when offline. */
export class RoomCycle {
  #o: RoomCycleOptions;
  #ref = 0;
  #pending: { ref: number; kind: "join" | "leave"; at: number } | undefined;
  #timer: ReturnType<typeof setTimeout> | undefined;
  #running = false;

  constructor(options: RoomCycleOptions) {
    this.#o = options;
  }

  /** Starts (or restarts) the loop from the world. */
  start(): void {
    this.stop();
    this.#running = true;
    this.#after(this.#o.pauseMs * this.#o.random(), () => this.#request("join"));
  }

  stop(): void {
    this.#running = false;
    clearTimeout(this.#timer);
    this.#pending = undefined;
  }

  /** A server frame: TRAVEL or ERROR answers the pending request. */
  onFrame(message: ServerMessage): void {
    const pending = this.#pending;
    if (!pending || !this.#running) return;
    if (message.op === Op.TRAVEL && message.ref === pending.ref) {
      this.#pending = undefined;
      const ms = this.#o.now() - pending.at;
      const m = this.#o.metrics;
      if (pending.kind === "join") (m.joins++, m.joinMs.add(ms));
      else (m.leaves++, m.leaveMs.add(ms));
      const next = pending.kind === "join" ? "leave" : "join";
      const wait = next === "leave" ? this.#o.stayMs : this.#o.pauseMs;
      this.#after(wait * (0.5 + this.#o.random()), () => this.#request(next));
    } else if (message.op === Op.ERROR && message.ref === pending.ref) {
      this.#pending = undefined;
      this.#failed(message.code);
      // Try again from where the player is: a refused join leaves it where it was; a LEAVE
      // refused as NOT_ALLOWED means it is in the world already (after a resume, say).
      const next = pending.kind === "leave" && message.code === "NOT_ALLOWED"
        ? "join"
        : pending.kind;
      this.#after(this.#o.pauseMs, () => this.#request(next));
    }
  }

  #request(kind: "join" | "leave"): void {
    if (!this.#running) return;
    const ref = ++this.#ref;
    this.#pending = { ref, kind, at: this.#o.now() };
    this.#o.send(
      kind === "join" ? { op: Op.JOIN, ref, mode: this.#o.mode } : { op: Op.LEAVE, ref },
    );
    this.#after(this.#o.timeoutMs, () => {
      if (this.#pending?.ref !== ref) return;
      this.#pending = undefined;
      this.#failed("NO_ANSWER");
      this.#after(this.#o.pauseMs, () => this.#request(kind));
    });
  }

  #failed(code: string): void {
    const failed = this.#o.metrics.failed;
    failed[code] = (failed[code] ?? 0) + 1;
  }

  #after(ms: number, fn: () => void): void {
    clearTimeout(this.#timer);
    this.#timer = setTimeout(fn, ms);
  }
}
