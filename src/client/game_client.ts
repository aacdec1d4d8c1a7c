// The typed client SDK: one player's session with a ZoneScaler cluster over the client protocol
// (docs/protocol.md) — login with fail-over over the servers, check-in, the WebSocket with
// fail-over over the gateways, HELLO/WELCOME, DIFFs into a ClientWorld, inputs with payloads,
// chat, rooms requests, keep-alive PINGs, REDIRECT, and resume with bounded, jittered backoff.
// It runs unchanged in Deno and in browsers (bundled into static/play/sdk.js for /play).
import { decodeServerFrame, encodeClientFrame } from "./client_codec.ts";
import { ClientWorld } from "./client_world.ts";
import {
  ClientEvents,
  type GameClientEvents,
  type Listener,
  ProtocolError,
} from "./client_events.ts";
import { fetchGateways, login, type LoginBody, loginToCluster } from "./login_client.ts";
import {
  type BackoffOptions,
  type ClientTimers,
  realTimers,
  ReconnectBackoff,
} from "./reconnect_backoff.ts";
import { ConnectError, openSession } from "./session_socket.ts";
import { type RoomAnswer, type RoomAsk, RoomRequests } from "./room_requests.ts";
import {
  type ChatChannel,
  type ClientMessage,
  CloseCode,
  type FrameFormat,
  type HelloMessage,
  type InputMessage,
  MAX_REPORTED_RTT_MS,
  Op,
  PROTOCOL_VERSION,
  type ServerMessage,
  type WelcomeMessage,
} from "../protocol/client_protocol.ts";
import type { GatewayInfo } from "../session/login_request.ts";
import { ErrorCode } from "../errors.ts";

/** What an INPUT asks for: a move direction, and optionally an action and game payload. */
export type Intent = InputMessage["intent"];

/** Options of a {@linkcode GameClient}; only `servers` and `login` are required. */
export interface GameClientOptions {
  /**
   * HTTP base URLs of well-known gateways (`http://host:port`), tried in order for the login;
   * the WebSocket gateways then come from their `GET /gateways`.
   */
  servers: readonly (string | URL)[];
  /** The `POST /login` body: a guest name or an account. */
  login: LoginBody;
  /** What the server sends: msgpack (default) or JSON. */
  format?: FrameFormat;
  /** Bound on each HTTP request, WebSocket open, WELCOME and rooms answer, ms (default 5000). */
  timeoutMs?: number;
  /**
   * Time between keep-alive PINGs, ms (default 5000; the server closes after 30 s of silence);
   * the first goes right after each WELCOME.
   */
  pingMs?: number;
  /** Reconnect attempts and pauses per outage ({@linkcode ReconnectBackoff}). */
  reconnect?: Partial<BackoffOptions>;
  /** Logins retried after 429 RATE_LIMITED with Retry-After (default 3). */
  maxLoginRetries?: number;
  /** Picks the first gateway and jitters the backoff (default `Math.random`). */
  random?: () => number;
  /** The clock and timers of every wait the client makes (tests pass fake ones). */
  timers?: ClientTimers;
}

/** Close codes after which docs/protocol.md tells a client to resume. */
const RESUMABLE: ReadonlySet<number> = new Set([
  CloseCode.GOING_AWAY,
  1006,
  CloseCode.INTERNAL,
  CloseCode.IDLE_TIMEOUT,
  CloseCode.SLOW_CONSUMER,
  CloseCode.RATE_LIMITED,
  CloseCode.WORLD_STALLED,
]);

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
  #urls: string[] = [];
  #at = 0;
  #base: URL | undefined;
  #token = "";
  #resumeToken = "";
  #welcome: WelcomeMessage | undefined;
  #waiter: { resolve(m: WelcomeMessage): void; reject(e: Error): void } | undefined;
  #lastError: string | undefined;
  #redirect: string | undefined;
  #seq = 0;
  #rttMs: number | undefined;
  #cancelPing: (() => void) | undefined;
  #rooms: RoomRequests;

  constructor(options: GameClientOptions) {
    if (options.servers.length === 0) throw new RangeError("GameClient needs at least one server");
    this.#o = options;
    this.#timers = options.timers ?? realTimers;
    this.#random = options.random ?? Math.random;
    this.#timeoutMs = options.timeoutMs ?? 5000;
    this.#format = options.format ?? "msgpack";
    this.#backoff = new ReconnectBackoff(options.reconnect, this.#random);
    this.#rooms = new RoomRequests(this.#timers, this.#timeoutMs);
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
    return this.#urls[this.#at] ?? "";
  }

  /** The last PING round trip, ms. */
  get rttMs(): number | undefined {
    return this.#rttMs;
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
      const gateways = await this.#login();
      const list = gateways.map((g) => g.url);
      if (list.length === 0) {
        throw new ConnectError(ErrorCode.UNAVAILABLE, "Cannot connect: no gateway is listed");
      }
      const first = Math.floor(this.#random() * list.length);
      this.#urls = [...list.slice(first), ...list.slice(0, first)];
      this.#at = 0;
      return await this.#open({ op: Op.HELLO, protocol: PROTOCOL_VERSION, token: this.#token });
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
    this.#stopPing();
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

  /** POST /login on the first server that answers, then its live gateway list. */
  async #login(): Promise<GatewayInfo[]> {
    const answer = await loginToCluster(this.#o.servers, this.#o.login, {
      signal: this.#stop.signal,
      timeoutMs: this.#timeoutMs,
      maxRetries: this.#o.maxLoginRetries ?? 3,
      sleep: (ms) => this.#sleep(ms),
      onRetry: (waitMs) => this.#emit("loginRetry", { waitMs }),
    });
    this.#token = answer.token;
    this.#base = answer.server;
    return answer.gateways;
  }

  /** Opens a connection with `hello`, current gateway first, then the next ones. */
  async #open(hello: HelloMessage): Promise<WelcomeMessage> {
    let lastProblem = "";
    for (let tried = 0; tried < this.#urls.length; tried++) {
      this.#stop.signal.throwIfAborted();
      const url = this.#urls[this.#at];
      let ws: WebSocket;
      try {
        ws = await openSession(url, this.#format, this.#timeoutMs, this.#stop.signal);
      } catch (error) {
        if (this.#stop.signal.aborted) throw error;
        lastProblem = (error as Error).message;
        this.#at = (this.#at + 1) % this.#urls.length;
        continue;
      }
      return await this.#handshake(ws, hello);
    }
    throw new ConnectError(
      ErrorCode.UNAVAILABLE,
      `Cannot connect: no gateway of ${this.#urls.length} answered (${lastProblem})`,
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
    ws.onclose = (event) => this.#onClose(ws, event.code, event.reason);
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
        const rttMs = this.#rttMs = this.#timers.now() - message.t;
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
    this.#startPing();
    waiter.resolve(message);
    this.#emit("welcome", message);
  }

  #onClose(ws: WebSocket, code: number, reason: string): void {
    if (ws !== this.#ws) return;
    this.#ws = undefined;
    this.#stopPing();
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
      (redirect !== undefined || RESUMABLE.has(code));
    this.#emit("close", { code, reason, error: this.#lastError, requested, redirect, reconnect });
    if (reconnect) void this.#reconnect(redirect);
  }

  /**
   * Takes the session back with the resume token, after a pause from the backoff (none after a
   * REDIRECT, whose gateway is tried first); a refused resume starts a new session instead.
   */
  async #reconnect(redirect: string | undefined): Promise<void> {
    if (redirect !== undefined) {
      this.#urls = [redirect, ...this.#urls.filter((u) => u !== redirect)];
      this.#at = 0;
    }
    let lastError: Error = new Error("no attempt made");
    for (let delay = this.#backoff.next(); delay !== undefined; delay = this.#backoff.next()) {
      const immediate = redirect !== undefined && this.#backoff.attempts === 1;
      const delayMs = immediate ? 0 : delay;
      this.#emit("reconnecting", { attempt: this.#backoff.attempts, delayMs });
      await this.#sleep(delayMs);
      if (this.#backoff.attempts > 1) await this.#refreshGateways();
      if (this.#stop.signal.aborted) return;
      try {
        await this.#open({
          op: Op.HELLO,
          protocol: PROTOCOL_VERSION,
          resumeToken: this.#resumeToken,
        });
        return;
      } catch (error) {
        if (this.#stop.signal.aborted) return;
        lastError = error as Error;
        if (!(error instanceof ConnectError && error.closeCode === CloseCode.RESUME_FAILED)) {
          continue;
        }
      }
      // The grace period is over or the token was used: a new session with the login token.
      this.#emit("sessionLost", { error: lastError });
      this.world.clear();
      try {
        await this.#newSession();
        return;
      } catch (error) {
        if (this.#stop.signal.aborted) return;
        lastError = error as Error;
      }
    }
    this.#emit("reconnectFailed", { attempts: this.#backoff.attempts, error: lastError });
  }

  /** The live gateway list before a second attempt, the current gateway first if listed. */
  async #refreshGateways(): Promise<void> {
    if (!this.#base) return;
    let live: string[];
    try {
      const request = { signal: this.#stop.signal, timeoutMs: this.#timeoutMs };
      live = (await fetchGateways(this.#base, request)).map((g) => g.url);
    } catch {
      return; // that server is down too: keep the list we have
    }
    if (live.length === 0) return;
    const current = this.#urls[this.#at];
    this.#urls = live.includes(current) ? [current, ...live.filter((u) => u !== current)] : live;
    this.#at = 0;
  }

  /** HELLO with the login token; once more after a fresh login when the token was refused. */
  async #newSession(): Promise<void> {
    const hello = () =>
      this.#open({ op: Op.HELLO, protocol: PROTOCOL_VERSION, token: this.#token });
    try {
      await hello();
    } catch (error) {
      if (!(error instanceof ConnectError && error.closeCode === CloseCode.UNAUTHENTICATED)) {
        throw error;
      }
      const base = this.#base ?? new URL(this.#o.servers[0]);
      const request = { signal: this.#stop.signal, timeoutMs: this.#timeoutMs };
      this.#token = (await login(base, this.#o.login, request)).token;
      await hello();
    }
  }

  #startPing(): void {
    this.#stopPing();
    const pingMs = this.#o.pingMs ?? 5000;
    const tick = () => {
      // The last round trip rides along so the gateway can show it to operators.
      const rtt = this.#rttMs === undefined
        ? {}
        : { rtt: Math.min(Math.max(0, this.#rttMs), MAX_REPORTED_RTT_MS) };
      this.send({ op: Op.PING, t: this.#timers.now(), ...rtt });
      this.#cancelPing = this.#timers.after(pingMs, tick);
    };
    tick(); // a round trip right away, then one every pingMs
  }

  #stopPing(): void {
    this.#cancelPing?.();
    this.#cancelPing = undefined;
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
