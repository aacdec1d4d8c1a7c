// The gateway's sessions: one per WebSocket. HELLO (login token or resume token) → join or
// resume on the owning worker → WELCOME; inputs routed to whichever worker last reported the
// player; workers' AOI diffs merged by a ClientView into one continuous stream; chat; limits.
import { newTokenId, verifyToken } from "./login_tokens.ts";
import type { RelayedChat } from "./chat_relay.ts";
import {
  type ClientMessage,
  CloseCode,
  closeCodeFor,
  type DiffMessage,
  encodeServerFrame,
  FrameError,
  type FrameFormat,
  Op,
  PROTOCOL_VERSION,
  type ServerMessage,
} from "../protocol/client_protocol.ts";
import { decodeClientFrame } from "../protocol/client_protocol.ts";
import { ClientView } from "./client_view.ts";
import type { GatewayConfig } from "../config/config.ts";
import { CodedError, ErrorCode } from "../errors.ts";
import type { Logger } from "../observe/log.ts";
import { Strikes, TokenBucket } from "./rate_limit.ts";
import { ResumeTokens } from "./resume_tokens.ts";
import type { WorldSpec } from "../net/rpc.ts";
import { SendQueue } from "./send_queue.ts";
import { silenceOf, sweepIntervalMs } from "./session_silence.ts";
import type { GatewayCommand, SessionDiff, WorkerReport } from "./session_wire.ts";

/** What the hub needs from the gateway around it. */
export interface HubTransport {
  readonly gatewayId: string;
  /** Owner of the cell at a point under the current map ("" before the world is split). */
  ownerAt(x: number, y: number, z: number): string;
  /** Every worker that may own players (resume is asked of all of them). */
  workers(): string[];
  send(worker: string, command: GatewayCommand): void;
  relay(chat: RelayedChat): void;
}

/** Options of {@linkcode SessionHub}. */
export interface HubOptions {
  config: GatewayConfig;
  world: WorldSpec;
  secret: string;
  log: Logger;
  transport: HubTransport;
  now?: () => number;
  random?: () => number;
}

/** Frames a socket may hold before the gateway stops writing to it and queues instead. */
const SOCKET_HIGH_WATER = 256 * 1024;
const JOIN_TIMEOUT_MS = 5_000;
const RESUME_TIMEOUT_MS = 1_500;

/** A worker's answer to a join or resume: the entity (-1: refused) and who owns it. */
interface Answer {
  entity: number;
  worker: string;
}

interface Pending {
  resolve: (answer: Answer | undefined) => void;
  timer: ReturnType<typeof setTimeout>;
}

/** One client connection and its session. */
class ClientSession {
  id = "";
  name = "";
  entity = -1;
  worker = "";
  state: "hello" | "joining" | "live" | "closed" = "hello";
  view = new ClientView();
  position = { x: 0, y: 0, z: 0 };
  lastSeq = 0;
  queue: SendQueue;
  frames: TokenBucket;
  chats: TokenBucket;
  strikes: Strikes;
  timer?: ReturnType<typeof setTimeout>;
  /** When the client last sent a frame (live sessions). */
  lastHeard = 0;
  /** When the worker owning the entity last sent a diff (live sessions; WELCOME before). */
  lastState = 0;
  flushTimer?: ReturnType<typeof setTimeout>;
  /** Since when its socket's buffer has been over the high-water mark. */
  congestedSince?: number;

  constructor(readonly socket: WebSocket, readonly format: FrameFormat, hub: SessionHub) {
    const c = hub.config;
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
      now: hub.now,
    });
    this.chats = new TokenBucket({
      capacity: c.chatBurst,
      refillPerSecond: c.chatPerSecond,
      now: hub.now,
    });
    this.strikes = new Strikes({ limit: c.strikeLimit, windowMs: c.strikeWindowMs, now: hub.now });
  }
}

/** A worker's diff of one player as the client protocol's DIFF. */
function diffMessage(tick: number, diff: SessionDiff): DiffMessage {
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

/** All sessions of one gateway. */
export class SessionHub {
  readonly config: GatewayConfig;
  readonly now: () => number;
  readonly sessions = new Map<string, ClientSession>();
  #options: HubOptions;
  #random: () => number;
  #tokens: ResumeTokens;
  #joins = new Map<string, Pending>();
  #idleSweep: ReturnType<typeof setInterval>;
  #resumes = new Map<string, Pending>();
  /** Counters for metrics and tests. */
  readonly counters = { framesIn: 0, framesOut: 0, badFrames: 0, rateLimited: 0, slowClosed: 0 };

  constructor(options: HubOptions) {
    this.#options = options;
    this.config = options.config;
    this.now = options.now ?? Date.now;
    this.#random = options.random ?? Math.random;
    this.#tokens = new ResumeTokens({ secret: options.secret, now: this.now });
    this.#idleSweep = setInterval(() => this.#sweepIdle(), sweepIntervalMs(this.config));
  }

  /** Live sessions (past WELCOME). */
  get size(): number {
    let n = 0;
    for (const s of this.sessions.values()) if (s.state === "live") n++;
    return n;
  }

  /** Takes over a freshly upgraded WebSocket. */
  accept(socket: WebSocket, format: FrameFormat): void {
    const session = new ClientSession(socket, format, this);
    socket.binaryType = "arraybuffer";
    session.timer = setTimeout(
      () =>
        this.#fail(
          session,
          ErrorCode.IDLE_TIMEOUT,
          `No HELLO within ${this.config.helloTimeoutMs} ms`,
        ),
      this.config.helloTimeoutMs,
    );
    socket.onmessage = (event) => this.#onFrame(session, event.data);
    socket.onclose = () => this.#onClose(session);
    socket.onerror = () => {};
  }

  /** A worker's per-tick report for this gateway's players. */
  onReport(report: WorkerReport): void {
    // A worker the map no longer lists (down, fenced) lost its players to another: what it
    // still sends is stale and must not pull a session back to it.
    if (!this.#options.transport.workers().includes(report.worker)) return;
    // Answers first, synchronously: the same report carries the player's first (full) diff,
    // which must reach the session's view even though WELCOME is sent a moment later.
    for (const j of report.joined) {
      this.#claim(j.session, j.entity, report.worker);
      this.#settle(this.#joins, j.session, { entity: j.entity, worker: report.worker });
    }
    for (const r of report.resumed) {
      if (r.ok) this.#claim(r.session, r.entity, report.worker);
      this.#settle(this.#resumes, r.session, {
        entity: r.ok ? r.entity : -1,
        worker: report.worker,
      });
    }
    for (const diff of report.diffs) {
      const session = this.sessions.get(diff.session);
      if (!session || session.entity !== diff.entity) continue;
      // Reports travel on one stream per worker: after a handoff the old owner's last report
      // can arrive after the new owner's first. Never go back in time.
      if (report.tick <= session.view.tick) continue;
      session.lastState = this.now();
      if (session.state === "joining") {
        session.view.apply(diffMessage(report.tick, diff));
        session.worker = report.worker;
        continue; // WELCOME is on its way; a snapshot of the view follows it
      }
      if (session.state !== "live") continue;
      session.worker = report.worker; // inputs follow the player across handoffs
      const merged = session.view.apply(diffMessage(report.tick, diff));
      this.#track(session, merged);
      if (!session.queue.wantsDiff()) {
        session.queue.pushState(report.tick, ""); // keeps the slow-reader clock running
        continue;
      }
      if (!session.queue.pushState(report.tick, encodeServerFrame(merged, session.format))) {
        this.counters.slowClosed++;
        this.#fail(
          session,
          ErrorCode.SLOW_CONSUMER,
          `More than ${this.config.maxBehindTicks} ticks behind`,
        );
        continue;
      }
      this.#flush(session);
    }
  }

  /** A chat line relayed from another gateway. */
  onRelay(chat: RelayedChat): void {
    this.#deliver(chat);
  }

  /** Closes every connection (gateway shutdown): clients resume elsewhere. */
  closeAll(): void {
    clearInterval(this.#idleSweep);
    for (const session of this.sessions.values()) {
      this.#send(session, {
        op: Op.ERROR,
        code: "GOING_AWAY",
        message: "The gateway is shutting down",
      });
      this.#close(session, CloseCode.GOING_AWAY, "GOING_AWAY");
    }
    for (const pending of [...this.#joins.values(), ...this.#resumes.values()]) {
      clearTimeout(pending.timer);
      pending.resolve(undefined);
    }
  }

  /** A worker answered a join or resume: the session now follows that entity. */
  #claim(sessionId: string, entity: number, worker: string): void {
    const session = this.sessions.get(sessionId);
    if (!session || session.state !== "joining") return;
    session.entity = entity;
    session.worker = worker;
  }

  #track(session: ClientSession, diff: DiffMessage): void {
    for (const e of diff.enter) {
      if (e[0] === session.entity) session.position = { x: e[2], y: e[3], z: e[4] };
    }
    for (const u of diff.update) {
      if (u[0] === session.entity) session.position = { x: u[1], y: u[2], z: u[3] };
    }
  }

  #onFrame(session: ClientSession, data: unknown): void {
    if (session.state === "closed") return;
    this.counters.framesIn++;
    if (!this.#allow(session, session.frames)) return;
    let message: ClientMessage;
    try {
      message = decodeClientFrame(data as Uint8Array | ArrayBuffer | string, {
        maxBytes: this.config.maxFrameBytes,
      });
    } catch (error) {
      if (!(error instanceof FrameError)) throw error;
      this.counters.badFrames++;
      this.#fail(session, error.code, error.message);
      return;
    }
    if (session.state === "live") this.#armIdle(session);
    switch (message.op) {
      case Op.HELLO:
        if (session.state !== "hello") {
          this.#fail(
            session,
            ErrorCode.BAD_FRAME,
            "HELLO was already received",
            CloseCode.POLICY_VIOLATION,
          );
          return;
        }
        session.state = "joining";
        clearTimeout(session.timer);
        (message.token !== undefined
          ? this.#join(session, message.token)
          : this.#resume(session, message.resumeToken!))
          .catch((error) => {
            const code = error instanceof CodedError ? error.code : ErrorCode.INTERNAL;
            if (!(error instanceof CodedError)) this.#options.log.error("hello.failed", { error });
            this.#fail(session, code, (error as Error).message);
          });
        return;
      case Op.INPUT:
        if (!this.#live(session) || !session.worker) return;
        if (message.seq <= session.lastSeq) return; // old or repeated
        session.lastSeq = message.seq;
        this.#options.transport.send(session.worker, {
          op: "input",
          entity: session.entity,
          input: { seq: message.seq, move: message.intent.move, action: message.intent.action },
        });
        return;
      case Op.CHAT: {
        if (!this.#live(session) || !this.#allow(session, session.chats)) return;
        const chat: RelayedChat = {
          gateway: this.#options.transport.gatewayId,
          channel: message.channel,
          from: session.name,
          text: message.text,
          time: this.now(),
          ...session.position,
        };
        this.#deliver(chat);
        this.#options.transport.relay(chat);
        return;
      }
      case Op.PING:
        this.#send(session, { op: Op.PONG, t: message.t, serverTime: this.now() });
        return;
    }
  }

  #live(session: ClientSession): boolean {
    if (session.state === "live") return true;
    this.#fail(
      session,
      ErrorCode.BAD_FRAME,
      "Send HELLO and wait for WELCOME first",
      CloseCode.POLICY_VIOLATION,
    );
    return false;
  }

  /** Token-bucket check; refusals past the strike limit close the connection. */
  #allow(session: ClientSession, bucket: TokenBucket): boolean {
    if (bucket.take()) return true;
    this.counters.rateLimited++;
    const verdict = session.strikes.strike();
    if (verdict === "close") {
      this.#fail(session, ErrorCode.RATE_LIMITED, "Too many frames; closing");
    } else if (verdict === "warn") {
      this.#send(session, {
        op: Op.ERROR,
        code: ErrorCode.RATE_LIMITED,
        message: "Too many frames; some were dropped",
      });
    }
    return false;
  }

  async #join(session: ClientSession, token: string): Promise<void> {
    const claims = verifyToken(token, this.#options.secret, this.now());
    const { size, dims } = this.#options.world;
    const at = {
      x: this.#random() * size[0],
      y: this.#random() * size[1],
      z: dims === 3 ? this.#random() * size[2] : 0,
    };
    const worker = this.#options.transport.ownerAt(at.x, at.y, at.z);
    if (!worker) {
      throw new CodedError(ErrorCode.UNAVAILABLE, "The world is not ready yet; try again shortly");
    }
    session.id = crypto.randomUUID();
    session.name = claims.name;
    this.sessions.set(session.id, session);
    const jti = newTokenId();
    const answer = await this.#await(
      this.#joins,
      session.id,
      JOIN_TIMEOUT_MS,
      () =>
        this.#options.transport.send(worker, {
          op: "join",
          session: session.id,
          name: claims.name,
          resumeJti: jti,
          ...at,
        }),
    );
    if (!answer) {
      throw new CodedError(ErrorCode.UNAVAILABLE, "The world did not answer the join in time");
    }
    await this.#welcome(session, answer.entity, answer.worker, jti, false);
  }

  async #resume(session: ClientSession, token: string): Promise<void> {
    let ticket;
    try {
      ticket = this.#tokens.read(token);
    } catch (error) {
      throw new CodedError(ErrorCode.RESUME_FAILED, (error as Error).message, { cause: error });
    }
    const previous = this.sessions.get(ticket.sessionId);
    if (previous && previous !== session) {
      // The same session on another connection here: the newest connection wins.
      this.#send(previous, {
        op: Op.ERROR,
        code: ErrorCode.SESSION_TAKEN_OVER,
        message: "Resumed on another connection",
      });
      this.#close(previous, CloseCode.SESSION_TAKEN_OVER, ErrorCode.SESSION_TAKEN_OVER, false);
    }
    session.id = ticket.sessionId;
    session.name = `player-${ticket.entityId}`;
    this.sessions.set(session.id, session);
    const nextJti = newTokenId();
    // Only the worker owning the entity answers; it accepts the token id once.
    // An entity in the middle of a handoff has no owner to answer for a moment: ask again.
    for (let attempt = 0; attempt < 3; attempt++) {
      const answer = await this.#await(this.#resumes, session.id, RESUME_TIMEOUT_MS, () => {
        for (const worker of this.#options.transport.workers()) {
          this.#options.transport.send(worker, {
            op: "resume",
            entity: ticket.entityId,
            session: session.id,
            jti: ticket.id,
            nextJti,
          });
        }
      });
      if (answer && answer.entity === ticket.entityId) {
        return await this.#welcome(session, answer.entity, answer.worker, nextJti, true);
      }
      if (answer) break; // refused: the token was used already
    }
    throw new CodedError(
      ErrorCode.RESUME_FAILED,
      "Cannot resume: the token was already used or the session has ended",
    );
  }

  async #welcome(
    session: ClientSession,
    entity: number,
    worker: string,
    jti: string,
    resumed: boolean,
  ): Promise<void> {
    if (session.state === "closed") {
      // The client left while we were joining: let the entity time out like any drop.
      if (worker) {
        this.#options.transport.send(worker, { op: "detach", entity, session: session.id });
      }
      return;
    }
    session.entity = entity;
    session.worker = worker;
    session.state = "live";
    const ttl = this.config.tokenTtlMs;
    const resumeToken = await this.#tokens.issue(session.id, entity, ttl, jti);
    const { world } = this.#options;
    this.#send(session, {
      op: Op.WELCOME,
      protocol: PROTOCOL_VERSION,
      session: session.id,
      entity,
      resumeToken,
      resumeGraceMs: this.config.resumeGraceMs,
      resumed,
      world: { dims: world.dims as 2 | 3, size: world.size, cellSize: world.cellSize },
      tickHz: world.tickHz,
      aoiRadius: world.aoiRadius,
    });
    // Everything the workers reported while we were joining, as one full DIFF.
    session.queue.requestSnapshot(Math.max(0, session.view.tick));
    this.#track(session, session.view.snapshot());
    this.#flush(session);
    this.#armIdle(session);
    session.lastState = session.lastHeard;
  }

  #await(
    table: Map<string, Pending>,
    key: string,
    timeoutMs: number,
    start: () => void,
  ): Promise<Answer | undefined> {
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        table.delete(key);
        resolve(undefined);
      }, timeoutMs);
      table.set(key, { resolve, timer });
      start();
    });
  }

  #settle(table: Map<string, Pending>, key: string, answer: Answer | undefined): void {
    const pending = table.get(key);
    if (!pending) return;
    table.delete(key);
    clearTimeout(pending.timer);
    pending.resolve(answer);
  }

  /** The client was heard from: it is not idle. One sweep checks everyone (no timer per frame). */
  #armIdle(session: ClientSession): void {
    clearTimeout(session.timer); // the HELLO timer, once
    session.timer = undefined;
    session.lastHeard = this.now();
  }

  /**
   * Closes live sessions whose client was silent for longer than idleTimeoutMs, or whose
   * worker sent no diff for longer than ownerSilenceMs (WORLD_STALLED: the client resumes
   * rather than sit on an open, silent socket).
   */
  #sweepIdle(): void {
    const now = this.now();
    for (const session of this.sessions.values()) {
      if (session.state !== "live") continue;
      const silence = silenceOf(session, now, this.config);
      if (silence) this.#fail(session, silence.code, silence.message);
    }
  }

  #deliver(chat: RelayedChat): void {
    const radius = this.#options.world.aoiRadius;
    const line: ServerMessage = {
      op: Op.CHAT,
      from: chat.from,
      channel: chat.channel,
      text: chat.text,
      time: chat.time,
    };
    for (const session of this.sessions.values()) {
      if (session.state !== "live") continue;
      if (chat.channel === "nearby") {
        const p = session.position;
        if (Math.hypot(p.x - chat.x, p.y - chat.y, p.z - chat.z) > radius) continue;
      }
      this.#send(session, line);
    }
  }

  #send(session: ClientSession, message: ServerMessage): void {
    if (session.state === "closed") return;
    if (!session.queue.pushReliable(encodeServerFrame(message, session.format))) {
      this.counters.slowClosed++;
      this.#close(session, CloseCode.SLOW_CONSUMER, ErrorCode.SLOW_CONSUMER);
      return;
    }
    this.#flush(session);
  }

  /**
   * Writes queued frames while the socket's buffer is low. A socket whose buffer stays over
   * the high-water mark for maxBehindTicks (a reader that stopped reading) is closed as a
   * SLOW_CONSUMER; meanwhile its DIFFs collapse into one snapshot in the send queue.
   */
  #flush(session: ClientSession): void {
    const socket = session.socket;
    if (socket.readyState !== WebSocket.OPEN) return;
    const now = this.now();
    if (session.congestedSince !== undefined) {
      if (socket.bufferedAmount > SOCKET_HIGH_WATER / 2) {
        const limitMs = (this.config.maxBehindTicks * 1000) / this.#options.world.tickHz;
        if (now - session.congestedSince > limitMs) {
          this.counters.slowClosed++;
          // No flush first: the socket is what is full.
          this.#close(session, CloseCode.SLOW_CONSUMER, ErrorCode.SLOW_CONSUMER, true, false);
          this.#options.log.info("session.refused", {
            session: session.id,
            entity: session.entity,
            code: ErrorCode.SLOW_CONSUMER,
            message: `socket buffer over ${SOCKET_HIGH_WATER} bytes for ${limitMs} ms`,
          });
          return;
        }
        this.#retryFlush(session);
        return;
      }
      session.congestedSince = undefined; // drained below half: write again
    }
    while (socket.bufferedAmount < SOCKET_HIGH_WATER) {
      const frame = session.queue.shift();
      if (frame === undefined) return;
      if (frame === "") continue; // placeholder of a skipped diff
      socket.send(frame);
      this.counters.framesOut++;
    }
    session.congestedSince = now;
    this.#options.log.debug("session.backpressure", {
      session: session.id,
      buffered: socket.bufferedAmount,
    });
    this.#retryFlush(session);
  }

  #retryFlush(session: ClientSession): void {
    session.flushTimer ??= setTimeout(() => {
      session.flushTimer = undefined;
      this.#flush(session);
    }, 50);
  }

  /** Sends ERROR with a stable code, then closes with the code's close code. */
  #fail(session: ClientSession, code: string, message: string, closeCode?: number): void {
    if (session.state === "closed") return;
    this.#options.log.info("session.refused", {
      session: session.id,
      entity: session.entity,
      code,
      message,
    });
    this.#send(session, { op: Op.ERROR, code, message });
    this.#close(session, closeCode ?? closeCodeFor(code as ErrorCode), code);
  }

  #close(session: ClientSession, code: number, reason: string, detach = true, flush = true): void {
    if (session.state === "closed") return;
    if (flush && session.congestedSince === undefined) this.#flush(session);
    if ((session.state as string) === "closed") return; // the flush may have closed it
    try {
      session.socket.close(code, reason);
    } catch {
      // already closing
    }
    this.#onClose(session, detach);
  }

  #onClose(session: ClientSession, detach = true): void {
    if (session.state === "closed") return;
    const wasLive = session.state === "live";
    session.state = "closed";
    this.#options.log.debug("session.closed", { session: session.id, wasLive });
    clearTimeout(session.timer);
    clearTimeout(session.flushTimer);
    if (this.sessions.get(session.id) === session) this.sessions.delete(session.id);
    // The entity stays in the world for the grace period, waiting for a resume.
    if (wasLive && detach && session.worker) {
      this.#options.transport.send(session.worker, {
        op: "detach",
        entity: session.entity,
        session: session.id,
      });
    }
  }
}
