// The typed client SDK: one player's session with a ZoneScaler cluster over the client protocol
// (docs/protocol.md) — login with fail-over over the servers, check-in, the WebSocket with
// fail-over over the gateways, HELLO/WELCOME, DIFFs into a ClientWorld, inputs with payloads,
// chat, rooms requests, keep-alive PINGs, REDIRECT, and resume with bounded, jittered backoff.
// It runs unchanged in Deno and in browsers (bundled into static/play/sdk.js for /play).
// Its parts: the login and gateway list (cluster_access.ts), keep-alive (keep_alive.ts), the
// resume loop after a drop (session_recovery.ts), rooms requests (room_requests.ts).
import { decodeServerFrame, encodeClientFrame } from "./client_codec.ts";
import { ClientWorld } from "./client_world.ts";
import {
  ClientEvents,
  type GameClientEvents,
  type Listener,
  ProtocolError,
} from "./client_events.ts";
import type { GameClientOptions } from "./game_client_options.ts";
import { ClusterAccess } from "./cluster_access.ts";
import { KeepAlive } from "./keep_alive.ts";
import { recoverSession, type RecoveryContext, resumesAfter } from "./session_recovery.ts";
import { type ClientTimers, realTimers, ReconnectBackoff } from "./reconnect_backoff.ts";
import { ConnectError, openSession } from "./session_socket.ts";
import { type RoomAnswer, type RoomAsk, RoomRequests } from "./room_requests.ts";
import {
  type ChatChannel,
  type ClientMessage,
  CloseCode,
  type FrameFormat,
  type HelloMessage,
  type InputMessage,
  Op,
  PROTOCOL_VERSION,
  type ServerMessage,
  type WelcomeMessage,
} from "../protocol/client_protocol.ts";
import { ErrorCode } from "../errors.ts";

export type { GameClientOptions } from "./game_client_options.ts";

/** What an INPUT asks for: a move direction, and optionally an action and game payload. */
export type Intent = InputMessage["intent"];

/**
 * One player's session. {@linkcode GameClient.connect} logs in and resolves on WELCOME; from
 * then on the client keeps {@linkcode GameClient.world} up to date, pings, follows REDIRECTs
 * and resumes after drops by itself until {@linkcode GameClient.close}.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * const client = new GameClient({ servers: ["http://127.0.0.1:8080"], login: { guest: true, name: "Ann" } });
 * const seen: number[] = [];
 * const stop = client.on("diff", (diff) => seen.push(diff.tick));
 * assert.equal(client.connected, false);
 * assert.equal(client.input({ move: [1, 0] }), undefined, "nothing is sent before WELCOME");
 * stop();
 * await client.close();
 * ```
 *
 * A session (against a running node: `npm start`):
 *
 * ```ts ignore
 * const client = new GameClient({ servers: ["http://127.0.0.1:8080"], login: { guest: true, name: "Ann" } });
 * client.on("diff", () => console.log(client.world.own));
 * client.on("chat", (chat) => console.log(`${chat.from}: ${chat.text}`));
 * await client.connect();
 * client.input({ move: [1, 0], data: { jump: true } });
 * client.chat("nearby", "hello there");
 * await client.close();
 * ```
 */
export class GameClient {
  /** The entities the player sees, updated by every DIFF. */
  readonly world: ClientWorld;
  #o: GameClientOptions;
  #timers: ClientTimers;
  #random: () => number;
  #timeoutMs: number;
  #format: FrameFormat;
  #backoff: ReconnectBackoff;
  #events = new ClientEvents();
  #stop = new AbortController();
  #connecting = false;
  #ws: WebSocket | undefined;
  #access: ClusterAccess;
  #resumeToken = "";
  #welcome: WelcomeMessage | undefined;
  #waiter: { resolve(m: WelcomeMessage): void; reject(e: Error): void } | undefined;
  #lastError: string | undefined;
  #redirect: string | undefined;
  #seq = 0;
  #keepAlive: KeepAlive;
  #rooms: RoomRequests;
  #recovery: RecoveryContext;

  constructor(options: GameClientOptions) {
    if (options.servers.length === 0) throw new RangeError("GameClient needs at least one server");
    this.#o = options;
    this.#timers = options.timers ?? realTimers;
    this.#random = options.random ?? Math.random;
    this.#timeoutMs = options.timeoutMs ?? 5000;
    this.#format = options.format ?? "msgpack";
    this.#backoff = new ReconnectBackoff(options.reconnect, this.#random);
    this.#rooms = new RoomRequests(this.#timers, this.#timeoutMs);
    this.#access = new ClusterAccess(options, this.#timeoutMs, this.#random);
    this.#keepAlive = new KeepAlive(this.#timers, options.pingMs ?? 5000, (ping) => {
      this.send(ping);
    });
    this.#recovery = {
      signal: this.#stop.signal,
      backoff: this.#backoff,
      access: this.#access,
      emit: (type, event) => this.#emit(type, event),
      sleep: (ms) => this.#sleep(ms),
      open: (hello) => this.#open(hello),
      resumeToken: () => this.#resumeToken,
      lost: () => this.world.clear(),
    };
    this.world = new ClientWorld((problem, id) => {
      const at = `DIFF of tick ${this.world.tick}`;
      this.#emit(
        "protocolError",
        new ProtocolError(
          problem,
          `${at} breaks the stream: ${problem}${id >= 0 ? ` (entity ${id})` : ""}`,
        ),
      );
    });
  }

  /** Listens to an event; returns the function that stops listening. */
  on<K extends keyof GameClientEvents>(type: K, listener: Listener<K>): () => void {
    return this.#events.on(type, listener);
  }

  /** The last WELCOME (undefined before the first). */
  get welcome(): WelcomeMessage | undefined {
    return this.#welcome;
  }

  /** The player's own entity id (a TRAVEL changes it); -1 before the first WELCOME. */
  get entity(): number {
    return this.world.ownId;
  }

  /** A session is live on an open connection. */
  get connected(): boolean {
    return this.#waiter === undefined && this.#ws?.readyState === WebSocket.OPEN &&
      this.#welcome !== undefined;
  }

  /** The WebSocket URL of the gateway of the current (or last) connection. */
  get gatewayUrl(): string {
    return this.#access.current;
  }

  /** The last PING round trip, ms. */
  get rttMs(): number | undefined {
    return this.#keepAlive.rttMs;
  }

  /** The seq of the last INPUT sent (0 before any). */
  get seq(): number {
    return this.#seq;
  }

  /**
   * Logs in (fail-over over `servers`, retrying a rate-limited login), checks in and opens a
   * session on a gateway picked at random, failing over to the next ones. Resolves on WELCOME;
   * rejects with a {@linkcode LoginApiError} or a ConnectError saying why not.
   */
  async connect(): Promise<WelcomeMessage> {
    if (this.#stop.signal.aborted) throw new Error("Cannot connect: the client was closed");
    if (this.#ws || this.#connecting) {
      throw new Error("Cannot connect: the client is already connected or connecting");
    }
    this.#connecting = true;
    try {
      await this.#access.logIn({
        signal: this.#stop.signal,
        maxRetries: this.#o.maxLoginRetries ?? 3,
        sleep: (ms) => this.#sleep(ms),
        onRetry: (waitMs) => this.#emit("loginRetry", { waitMs }),
      });
      const token = this.#access.token;
      return await this.#open({ op: Op.HELLO, protocol: PROTOCOL_VERSION, token });
    } finally {
      this.#connecting = false;
    }
  }

  /** Sends an INPUT with the next seq; returns the seq, or undefined when not connected. */
  input(intent: Intent): number | undefined {
    if (!this.connected) return undefined;
    const seq = ++this.#seq;
    this.send({ op: Op.INPUT, seq, intent });
    return seq;
  }

  /** Sends a chat line; false when not connected (nothing was sent). */
  chat(channel: ChatChannel, text: string): boolean {
    return this.connected && this.send({ op: Op.CHAT, channel, text });
  }

  /**
   * Sends a rooms request (CREATE, SEARCH, JOIN, LEAVE, DESTROY) and resolves with its answer:
   * TRAVEL or ROOMS. Rejects with {@linkcode RoomError}: the server's refusal (the session goes
   * on), UNAVAILABLE when no answer came within `timeoutMs` or the connection closed first.
   */
  room(request: RoomAsk): Promise<RoomAnswer> {
    return this.#rooms.ask(request, (message) => this.connected && this.send(message));
  }

  /** Sends any client frame as it is; false when no connection is open. */
  send(message: ClientMessage): boolean {
    const ws = this.#ws;
    if (ws?.readyState !== WebSocket.OPEN) return false;
    ws.send(encodeClientFrame(message, this.#format));
    return true;
  }

  /** Ends the session on purpose (close 1000, no reconnect); waits at most `timeoutMs`. */
  async close(): Promise<void> {
    this.#stop.abort();
    this.#keepAlive.stop();
    const ws = this.#ws;
    if (!ws || ws.readyState === WebSocket.CLOSED) return;
    const closed = new Promise<void>((resolve) => ws.addEventListener("close", () => resolve()));
    ws.close(CloseCode.NORMAL);
    let cancel = () => {};
    const timeout = new Promise<void>((resolve) =>
      cancel = this.#timers.after(this.#timeoutMs, resolve)
    );
    await Promise.race([closed, timeout]);
    cancel();
  }

  #emit<K extends keyof GameClientEvents>(type: K, event: GameClientEvents[K]): void {
    this.#events.emit(type, event);
  }

  /** Opens a connection with `hello`, current gateway first, then the next ones. */
  async #open(hello: HelloMessage): Promise<WelcomeMessage> {
    let lastProblem = "";
    for (let tried = 0; tried < this.#access.count; tried++) {
      this.#stop.signal.throwIfAborted();
      const url = this.#access.current;
      let ws: WebSocket;
      try {
        ws = await openSession(url, this.#format, this.#timeoutMs, this.#stop.signal);
      } catch (error) {
        if (this.#stop.signal.aborted) throw error;
        lastProblem = (error as Error).message;
        this.#access.advance();
        continue;
      }
      return await this.#handshake(ws, hello);
    }
    throw new ConnectError(
      ErrorCode.UNAVAILABLE,
      `Cannot connect: no gateway of ${this.#access.count} answered (${lastProblem})`,
    );
  }

  #handshake(ws: WebSocket, hello: HelloMessage): Promise<WelcomeMessage> {
    const { promise, resolve, reject } = Promise.withResolvers<WelcomeMessage>();
    const cancel = this.#timers.after(this.#timeoutMs, () => {
      this.#waiter = undefined;
      this.#ws = undefined; // our own close, not one to report
      ws.close(CloseCode.NORMAL);
      reject(new ConnectError("NO_WELCOME", "Cannot connect: no WELCOME in time"));
    });
    this.#waiter = {
      resolve: (m) => (cancel(), resolve(m)),
      reject: (e) => (cancel(), reject(e)),
    };
    this.#ws = ws;
    this.#lastError = undefined;
    this.#redirect = undefined;
    ws.onmessage = (event) => this.#onFrame(ws, event.data);
    // No close frame read (the connection reset, docs/protocol.md "Close codes"): Deno says 0
    // where browsers say 1006; both mean an abnormal close, to resume from.
    ws.onclose = (event) => this.#onClose(ws, event.code === 0 ? 1006 : event.code, event.reason);
    this.send(hello);
    return promise;
  }

  #onFrame(ws: WebSocket, data: ArrayBuffer | string): void {
    if (ws !== this.#ws) return;
    let message: ServerMessage;
    try {
      message = decodeServerFrame(data);
    } catch (error) {
      this.#emit(
        "protocolError",
        new ProtocolError("BAD_FRAME", (error as Error).message, { cause: error }),
      );
      return;
    }
    switch (message.op) {
      case Op.WELCOME:
        return this.#onWelcome(message);
      case Op.DIFF:
        this.world.apply(message);
        return this.#emit("diff", message);
      case Op.CHAT:
        return this.#emit("chat", message);
      case Op.PONG: {
        const rttMs = this.#keepAlive.pong(message.t);
        return this.#emit("pong", { rttMs, serverTime: message.serverTime });
      }
      case Op.ERROR:
        this.#lastError = message.code;
        this.#rooms.refuse(message);
        return this.#emit("serverError", message);
      case Op.ROOMS:
        this.#rooms.answer(message);
        return this.#emit("rooms", message);
      case Op.TRAVEL:
        this.#resumeToken = message.resumeToken;
        this.world.expectFull(message.entity);
        this.#rooms.answer(message);
        return this.#emit("travel", message);
      case Op.REDIRECT:
        this.#redirect = message.url;
        return this.#emit("redirect", { url: message.url });
    }
  }

  #onWelcome(message: WelcomeMessage): void {
    const waiter = this.#waiter;
    this.#waiter = undefined;
    if (!waiter) {
      this.#emit(
        "protocolError",
        new ProtocolError("UNEXPECTED_WELCOME", "A second WELCOME on one connection"),
      );
      return;
    }
    this.#welcome = message;
    this.#resumeToken = message.resumeToken;
    this.world.expectFull(message.entity);
    this.#backoff.reset();
    this.#keepAlive.start();
    waiter.resolve(message);
    this.#emit("welcome", message);
  }

  #onClose(ws: WebSocket, code: number, reason: string): void {
    if (ws !== this.#ws) return;
    this.#ws = undefined;
    this.#keepAlive.stop();
    this.#rooms.closed(code);
    const waiter = this.#waiter;
    this.#waiter = undefined;
    if (waiter) {
      const why = this.#lastError ?? "CLOSED_BEFORE_WELCOME";
      waiter.reject(new ConnectError(why, `Cannot connect: closed with ${code} (${why})`, code));
      return;
    }
    const requested = this.#stop.signal.aborted;
    const redirect = requested ? undefined : this.#redirect;
    const reconnect = !requested && this.#backoff.options.maxAttempts > 0 &&
      (redirect !== undefined || resumesAfter(code));
    this.#emit("close", { code, reason, error: this.#lastError, requested, redirect, reconnect });
    if (reconnect) void recoverSession(this.#recovery, redirect);
  }

  #sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const signal = this.#stop.signal;
      const done = () => (cancel(), signal.removeEventListener("abort", done), resolve());
      const cancel = this.#timers.after(ms, done);
      signal.addEventListener("abort", done, { once: true });
    });
  }
}
