// One client connection of the gateway and its session state: where it is in the handshake,
// which entity and worker it follows, its view, send queue and rate limits.
import {
  type DiffMessage,
  encodeServerFrame,
  type FrameFormat,
  Op,
} from "../protocol/client_protocol.ts";
import type { GatewayConfig } from "../config/config.ts";
import { ClientView } from "./client_view.ts";
import { Strikes, TokenBucket } from "./rate_limit.ts";
import { SendQueue } from "./send_queue.ts";
import type { SessionDiff } from "./session_messages.ts";
import type { TimerId } from "./timers.ts";
import type { RoomPlace, Travel } from "./room_travel.ts";

/** One client connection and its session. */
export class ClientSession {
  id = "";
  name = "";
  entity = -1;
  worker = "";
  /** This connection's id towards the worker: the id of the resume token its WELCOME carries. */
  conn = "";
  state: "hello" | "joining" | "live" | "closed" = "hello";
  view = new ClientView();
  position = { x: 0, y: 0, z: 0 };
  lastSeq = 0;
  /** The instance the player is in (undefined: the open world). */
  room?: RoomPlace;
  /** A travel between spaces in progress. */
  travel?: Travel;
  /** Where the player last was in the open world (a LEAVE takes it back there). */
  lastWorld?: { x: number; y: number; z: number };
  queue: SendQueue;
  frames: TokenBucket;
  chats: TokenBucket;
  roomOps: TokenBucket;
  strikes: Strikes;
  /** The HELLO timer (until HELLO arrives). */
  timer?: TimerId;
  /** When the client last sent a frame (live sessions). */
  lastHeard = 0;
  /** When the worker owning the entity last sent a diff (live sessions; WELCOME before). */
  lastState = 0;
  flushTimer?: TimerId;
  /** Since when its socket's buffer has been over the high-water mark. */
  congestedSince?: number;
  /** When the connection was accepted. */
  readonly connectedAt: number;
  /** The round trip its last PING reported (`rtt`), ms; undefined when it reports none. */
  rttMs?: number;
  /** Bytes written to it in the current and in the previous whole second (see countSent). */
  #second = 0;
  #bytesThisSecond = 0;
  #bytesLastSecond = 0;

  constructor(
    readonly socket: WebSocket,
    readonly format: FrameFormat,
    config: GatewayConfig,
    now: () => number,
  ) {
    const c = config;
    this.connectedAt = now();
    this.queue = new SendQueue({
      maxStateFrames: c.maxQueuedDiffs,
      maxReliableFrames: c.maxQueuedFrames,
      maxReliableBytes: c.maxQueuedBytes,
      maxBehindTicks: c.maxBehindTicks,
      snapshot: () => encodeServerFrame(this.view.snapshot(), this.format),
    });
    this.frames = new TokenBucket({
      capacity: c.frameBurst,
      refillPerSecond: c.framesPerSecond,
      now,
    });
    this.chats = new TokenBucket({ capacity: c.chatBurst, refillPerSecond: c.chatPerSecond, now });
    this.roomOps = new TokenBucket({
      capacity: c.instanceOpsBurst,
      refillPerSecond: c.instanceOpsPerSecond,
      now,
    });
    this.strikes = new Strikes({ limit: c.strikeLimit, windowMs: c.strikeWindowMs, now });
  }

  /** Counts a frame written to the socket: two counters, no allocation (the fan-out path). */
  countSent(bytes: number, now: number): void {
    const second = Math.floor(now / 1000);
    if (second !== this.#second) {
      this.#bytesLastSecond = second === this.#second + 1 ? this.#bytesThisSecond : 0;
      this.#bytesThisSecond = 0;
      this.#second = second;
    }
    this.#bytesThisSecond += bytes;
  }

  /** Bytes written in the last whole second before `now`. */
  bytesPerSecond(now: number): number {
    const second = Math.floor(now / 1000);
    if (second === this.#second) return this.#bytesLastSecond;
    return second === this.#second + 1 ? this.#bytesThisSecond : 0;
  }

  /** Follows the player's own entity in a DIFF, for nearby chat. */
  track(diff: DiffMessage): void {
    for (const e of diff.enter) {
      if (e[0] === this.entity) this.position = { x: e[2], y: e[3], z: e[4] };
    }
    for (const u of diff.update) {
      if (u[0] === this.entity) this.position = { x: u[1], y: u[2], z: u[3] };
    }
  }
}

/** A worker's diff of one player as the client protocol's DIFF. */
export function diffMessage(tick: number, diff: SessionDiff): DiffMessage {
  return {
    op: Op.DIFF,
    tick,
    ack: diff.ack,
    full: diff.full || undefined,
    enter: diff.enter,
    update: diff.update,
    leave: diff.leave,
  };
}
