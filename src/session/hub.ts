// The gateway's sessions: one per WebSocket. HELLO (login token or resume token) → join or
// resume on the owning worker → WELCOME (handshake.ts); the client's frames — inputs, chat,
// pings, limits — handled by session_inbox.ts; workers' AOI diffs merged by a ClientView into
// one continuous stream and written with back-pressure (session_writer.ts); HELLO and idle
// timers; kick, redirect and close.
import type { RelayedChat } from "./chat_relay.ts";
import {
  CloseCode,
  closeCodeFor,
  encodeServerFrame,
  type FrameFormat,
  Op,
} from "../protocol/client_protocol.ts";
import type { GatewayConfig } from "../config/config.ts";
import { ErrorCode } from "../errors.ts";
import type { Logger } from "../observe/log.ts";
import { ResumeTokens } from "./resume_tokens.ts";
import type { WorldSpec } from "../world/world_spec.ts";
import type { WorkerReport } from "./session_messages.ts";
import { FrameArena, SharedArrays } from "../protocol/frame_msgpack_writer.ts";
import { ClientSession, diffMessage } from "./client_session.ts";
import { Handshake } from "./handshake.ts";
import { SessionInbox } from "./session_inbox.ts";
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
  #inbox: SessionInbox;
  #writer: SessionWriter;
  #rooms: RoomTravel;
  #idleSweep: TimerId;
  /** Where DIFF frames are cut from: one buffer for many frames (frame_msgpack_writer.ts). */
  #arena = new FrameArena();

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
    this.#inbox = new SessionInbox({
      config: options.config,
      aoiRadius: options.world.aoiRadius,
      transport: options.transport,
      handshake: this.#handshake,
      rooms: this.#rooms,
      sessions: this.sessions,
      timers,
      log: options.log,
      counters: this.counters,
      send: (session, message) => this.#writer.send(session, message),
      fail: (session, code, message, closeCode) => this.#fail(session, code, message, closeCode),
      heard: (session) => this.#heard(session),
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
    socket.onmessage = (event) => this.#inbox.onFrame(session, event.data);
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
    // Rows several players see are encoded once for all of their frames.
    const shared = report.shared?.size ? new SharedArrays(report.shared) : undefined;
    for (const diff of report.diffs) {
      const session = this.sessions.get(diff.session);
      if (!session || session.entity !== diff.entity) continue;
      // Reports travel on one stream per worker: after a handoff the old owner's last report
      // can arrive after the new owner's first. Never go back in time.
      const tick = diff.tick ?? report.tick;
      if (tick <= session.view.tick) continue;
      session.lastState = this.now();
      if (session.state === "joining" || RoomTravel.arriving(session)) {
        session.view.apply(diffMessage(tick, diff));
        session.worker = report.worker;
        continue; // WELCOME or TRAVEL is on its way; a snapshot of the view follows it
      }
      if (session.state !== "live") continue;
      session.worker = report.worker; // inputs follow the player across handoffs
      const merged = session.view.apply(diffMessage(tick, diff));
      session.track(merged);
      if (!session.queue.wantsDiff()) {
        session.queue.pushState(tick, ""); // keeps the slow-reader clock running
        continue;
      }
      if (
        !session.queue.pushState(
          tick,
          encodeServerFrame(merged, session.format, shared, this.#arena),
        )
      ) {
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
    this.#inbox.deliver(chat);
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
