// The gateway's sessions: one per WebSocket. HELLO (login token or resume token) → join or
// resume on the owning worker → WELCOME (handshake.ts); inputs routed to whichever worker last
// reported the player; workers' AOI diffs merged by a ClientView into one continuous stream and
// written with back-pressure (session_writer.ts); chat; limits; HELLO and idle timers.
import { chatMessage, hears, type RelayedChat } from "./chat_relay.ts";
import {
  type ClientMessage,
  CloseCode,
  closeCodeFor,
  decodeClientFrame,
  encodeServerFrame,
  FrameError,
  type FrameFormat,
  Op,
} from "../protocol/client_protocol.ts";
import type { GatewayConfig } from "../config/config.ts";
import { CodedError, ErrorCode } from "../errors.ts";
import type { Logger } from "../observe/log.ts";
import { ResumeTokens } from "./resume_tokens.ts";
import type { WorldSpec } from "../world/world_spec.ts";
import type { WorkerReport } from "./session_wire.ts";
import { ClientSession, diffMessage } from "./client_session.ts";
import { Handshake } from "./handshake.ts";
import type { HubTransport } from "./hub_transport.ts";
import { silenceOf, sweepIntervalMs } from "./session_silence.ts";
import { SessionWriter } from "./session_writer.ts";
import { systemTimers, type TimerId, type Timers } from "./timers.ts";
import { RoomTravel } from "./room_travel.ts";
import type { PlayerSaves } from "./player_saves.ts";

export type { HubTransport } from "./hub_transport.ts";

/** Options of {@linkcode SessionHub}. */
export interface HubOptions {
  config: GatewayConfig;
  world: WorldSpec;
  secret: string;
  log: Logger;
  transport: HubTransport;
  /** Clock and timers of every HELLO, join, resume, idle and flush timer (default: real). */
  timers?: Timers;
  /** Where new players are placed (default Math.random). */
  random?: () => number;
  /** The coordinator's Instances RPC (rooms); without it every rooms request is UNAVAILABLE. */
  directory?: (payload: Uint8Array) => Promise<Uint8Array>;
  /** Where registered players' persistent fields are loaded and saved; none without it. */
  saves?: PlayerSaves;
}

/** All sessions of one gateway. */
export class SessionHub {
  readonly config: GatewayConfig;
  readonly now: () => number;
  readonly sessions = new Map<string, ClientSession>();
  /** Counters for metrics and tests. */
  readonly counters = {
    framesIn: 0,
    framesOut: 0,
    bytesOut: 0,
    badFrames: 0,
    rateLimited: 0,
    slowClosed: 0,
  };
  #options: HubOptions;
  #timers: Timers;
  #handshake: Handshake;
  #writer: SessionWriter;
  #rooms: RoomTravel;
  #idleSweep: TimerId;

  constructor(options: HubOptions) {
    this.#options = options;
    this.config = options.config;
    const timers = this.#timers = options.timers ?? systemTimers;
    this.now = () => timers.now();
    this.#writer = new SessionWriter({
      config: options.config,
      tickHz: options.world.tickHz,
      timers,
      log: options.log,
      counters: this.counters,
      close: (session, code, reason, detach, flush) =>
        this.#close(session, code, reason, detach, flush),
    });
    const tokens = new ResumeTokens({ secret: options.secret, now: this.now });
    // The first DIFF on a new view (after WELCOME or TRAVEL): everything it holds, as one full DIFF.
    const snapshot = (session: ClientSession) => {
      session.queue.requestSnapshot(Math.max(0, session.view.tick));
      session.track(session.view.snapshot());
      this.#writer.flush(session);
    };
    this.#rooms = new RoomTravel({
      world: options.world,
      timers,
      tokens,
      transport: options.transport,
      sessions: this.sessions,
      directory: options.directory ?? (() => Promise.reject(new Error("no room directory"))),
      send: (session, message) => this.#writer.send(session, message),
      snapshot: (session) => {
        snapshot(session);
        session.lastState = this.now();
      },
      random: options.random ?? Math.random,
      log: options.log,
    });
    this.#handshake = new Handshake({
      config: options.config,
      world: options.world,
      secret: options.secret,
      tokens,
      timers,
      random: options.random ?? Math.random,
      transport: options.transport,
      sessions: this.sessions,
      send: (session, message) => this.#writer.send(session, message),
      saves: options.saves,
      takeOver: (previous) => {
        this.#writer.send(previous, {
          op: Op.ERROR,
          code: ErrorCode.SESSION_TAKEN_OVER,
          message: "Resumed on another connection",
        });
        this.#close(previous, CloseCode.SESSION_TAKEN_OVER, ErrorCode.SESSION_TAKEN_OVER, false);
      },
      welcomed: (session) => {
        // Everything the workers reported while we were joining, as one full DIFF.
        snapshot(session);
        this.#heard(session);
        session.lastState = session.lastHeard;
        this.#rooms.online(session);
      },
    });
    this.#idleSweep = timers.setInterval(() => this.#sweepIdle(), sweepIntervalMs(this.config));
  }

  /** Live sessions (past WELCOME). */
  get size(): number {
    let n = 0;
    for (const s of this.sessions.values()) if (s.state === "live") n++;
    return n;
  }

  /**
   * Ends a session on an operator's request: ERROR KICKED, then close 4009. Its entity stays
   * for the resume grace as after any disconnect. False when there is no such session.
   */
  kick(id: string): boolean {
    const session = this.sessions.get(id);
    if (!session || session.state === "closed") return false;
    this.#fail(session, ErrorCode.KICKED, "Disconnected by an operator");
    return true;
  }

  /** Takes over a freshly upgraded WebSocket. */
  accept(socket: WebSocket, format: FrameFormat): void {
    const session = new ClientSession(socket, format, this.config, this.now);
    socket.binaryType = "arraybuffer";
    session.timer = this.#timers.setTimeout(
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
    for (const save of report.saves) void this.#options.saves?.save(save);
    // Travellers first: a departure moves a player on, a join switches its view.
    this.#rooms.onReport(report);
    this.#handshake.answer(report); // answers first: they make the diffs' sessions live
    for (const diff of report.diffs) {
      const session = this.sessions.get(diff.session);
      if (!session || session.entity !== diff.entity) continue;
      // Reports travel on one stream per worker: after a handoff the old owner's last report
      // can arrive after the new owner's first. Never go back in time.
      if (report.tick <= session.view.tick) continue;
      session.lastState = this.now();
      if (session.state === "joining" || RoomTravel.arriving(session)) {
        session.view.apply(diffMessage(report.tick, diff));
        session.worker = report.worker;
        continue; // WELCOME or TRAVEL is on its way; a snapshot of the view follows it
      }
      if (session.state !== "live") continue;
      session.worker = report.worker; // inputs follow the player across handoffs
      const merged = session.view.apply(diffMessage(report.tick, diff));
      session.track(merged);
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
      this.#writer.flush(session);
    }
    this.#rooms.settle();
  }

  /**
   * Hands up to `count` live sessions to the gateway at `url` (a deploy drains this one):
   * REDIRECT, then close 1001; each entity waits in its space for its resume there. A session
   * travelling to or from a room is left for a later round, once its TRAVEL went out. Returns
   * how many were handed over.
   */
  redirect(url: string, count: number): number {
    let moved = 0;
    for (const session of [...this.sessions.values()]) {
      if (moved >= count) break;
      if (session.state !== "live" || this.#rooms.busy(session)) continue;
      this.#writer.send(session, { op: Op.REDIRECT, url });
      this.#close(session, CloseCode.GOING_AWAY, ErrorCode.GOING_AWAY);
      moved++;
    }
    return moved;
  }

  /** A chat line relayed from another gateway. */
  onRelay(chat: RelayedChat): void {
    this.#deliver(chat);
  }

  /**
   * Closes every connection (gateway shutdown): clients resume elsewhere. Resolves once every
   * socket finished its closing handshake, or after `waitMs`: an HTTP server shut down sooner
   * would replace the GOING_AWAY close reason with its own.
   */
  closeAll(waitMs = 1_000): Promise<void> {
    this.#timers.clearInterval(this.#idleSweep);
    const sockets: WebSocket[] = [];
    for (const session of this.sessions.values()) {
      sockets.push(session.socket);
      this.#writer.send(session, {
        op: Op.ERROR,
        code: ErrorCode.GOING_AWAY,
        message: "The gateway is shutting down",
      });
      this.#close(session, CloseCode.GOING_AWAY, ErrorCode.GOING_AWAY);
    }
    this.#handshake.cancelAll();
    const open = sockets.filter((socket) => socket.readyState !== WebSocket.CLOSED);
    if (open.length === 0) return Promise.resolve();
    return new Promise((resolve) => {
      let left = open.length;
      const timer = this.#timers.setTimeout(resolve, waitMs);
      const closed = () => {
        if (--left > 0) return;
        this.#timers.clearTimeout(timer);
        resolve();
      };
      for (const socket of open) socket.addEventListener("close", closed, { once: true });
    });
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
      if (error.code === ErrorCode.BAD_INPUT) {
        // Only the input is dropped; the session goes on (docs/protocol.md, INPUT).
        this.#writer.send(session, { op: Op.ERROR, code: error.code, message: error.message });
        return;
      }
      this.#fail(session, error.code, error.message);
      return;
    }
    if (session.state === "live") this.#heard(session);
    else if (message.op !== Op.HELLO) {
      // Until WELCOME only HELLO is allowed (docs/protocol.md, "Handshake").
      this.#fail(session, ErrorCode.UNAUTHENTICATED, "Send HELLO and wait for WELCOME first");
      return;
    }
    switch (message.op) {
      case Op.HELLO:
        this.#hello(session, message);
        return;
      case Op.INPUT:
        if (!session.worker) return;
        if (message.seq <= session.lastSeq) return; // old or repeated
        session.lastSeq = message.seq;
        this.#options.transport.send(session.worker, {
          op: "input",
          entity: session.entity,
          conn: session.conn,
          input: {
            seq: message.seq,
            move: message.intent.move,
            action: message.intent.action,
            ...(message.intent.data != null ? { data: message.intent.data } : {}),
          },
        });
        return;
      case Op.CHAT: {
        if (!this.#allow(session, session.chats)) return;
        if (message.channel === "instance" && !session.room) {
          this.#writer.send(session, {
            op: Op.ERROR,
            code: ErrorCode.NOT_ALLOWED,
            message: "Not in an instance: the instance channel is for players in one",
          });
          return;
        }
        const chat: RelayedChat = {
          gateway: this.#options.transport.gatewayId,
          channel: message.channel,
          instance: session.room?.row.id ?? "",
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
        if (message.rtt !== undefined) session.rttMs = message.rtt;
        this.#writer.send(session, { op: Op.PONG, t: message.t, serverTime: this.now() });
        return;
      default:
        this.#rooms.onRequest(session, message);
        return;
    }
  }

  #hello(session: ClientSession, message: ClientMessage & { op: typeof Op.HELLO }): void {
    if (session.state !== "hello") {
      this.#fail(
        session,
        ErrorCode.BAD_REQUEST,
        "HELLO was already received",
        CloseCode.POLICY_VIOLATION,
      );
      return;
    }
    session.state = "joining";
    this.#timers.clearTimeout(session.timer);
    (message.token !== undefined
      ? this.#handshake.join(session, message.token)
      : this.#handshake.resume(session, message.resumeToken!))
      .catch((error) => {
        const code = error instanceof CodedError ? error.code : ErrorCode.INTERNAL;
        if (!(error instanceof CodedError)) this.#options.log.error("hello.failed", { error });
        this.#fail(session, code, (error as Error).message);
      });
  }

  /** Token-bucket check; refusals past the strike limit close the connection. */
  #allow(session: ClientSession, bucket: ClientSession["frames"]): boolean {
    if (bucket.take()) return true;
    this.counters.rateLimited++;
    const verdict = session.strikes.strike();
    if (verdict === "close") {
      this.#fail(session, ErrorCode.RATE_LIMITED, "Too many frames; closing");
    } else if (verdict === "warn") {
      this.#writer.send(session, {
        op: Op.ERROR,
        code: ErrorCode.RATE_LIMITED,
        message: "Too many frames; some were dropped",
      });
    }
    return false;
  }

  /** The client was heard from: it is not idle. One sweep checks everyone (no timer per frame). */
  #heard(session: ClientSession): void {
    this.#timers.clearTimeout(session.timer); // the HELLO timer, once
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
    const line = chatMessage(chat);
    for (const session of this.sessions.values()) {
      const listener = { position: session.position, instance: session.room?.row.id ?? "" };
      if (session.state === "live" && hears(listener, chat, radius)) {
        this.#writer.send(session, line);
      }
    }
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
    this.#writer.send(session, { op: Op.ERROR, code, message });
    this.#close(session, closeCode ?? closeCodeFor(code as ErrorCode), code);
  }

  #close(session: ClientSession, code: number, reason: string, detach = true, flush = true): void {
    if (session.state === "closed") return;
    if (flush && session.congestedSince === undefined) this.#writer.flush(session);
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
    this.#timers.clearTimeout(session.timer);
    this.#timers.clearTimeout(session.flushTimer);
    if (this.sessions.get(session.id) === session) this.sessions.delete(session.id);
    // The entity stays in the world for the grace period, waiting for a resume.
    if (wasLive && detach && session.worker) {
      this.#options.transport.send(session.worker, {
        op: "detach",
        entity: session.entity,
        session: session.id,
        conn: session.conn,
      });
    }
  }
}
