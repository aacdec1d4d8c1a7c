// One simulated player over the real client protocol (docs/protocol.md): check-in, guest login,
// WebSocket with fail-over across gateways, HELLO/WELCOME, INPUTs on a random walk, PINGs, and
// resume after a dropped connection; everything it sees goes into the shared BotMetrics.
import { decodeServerFrame, encodeClientFrame } from "./client_codec.ts";
import {
  type ClientMessage,
  CloseCode,
  type FrameFormat,
  type HelloMessage,
  MAX_REPORTED_RTT_MS,
  Op,
  PROTOCOL_VERSION,
  type ServerMessage,
  type WelcomeMessage,
} from "../protocol/client_protocol.ts";
import { DiffStreamCheck } from "./diff_stream_check.ts";
import { StallMeter } from "./stall_meter.ts";
import { ErrorCode } from "../errors.ts";
import { type BotMetrics, countUp } from "./bot_report.ts";
import { fetchGateways, login, LoginApiError } from "./login_client.ts";
import { walkHeading } from "./random_walk.ts";
import { AckTimer } from "./ack_timer.ts";
import { ConnectError, openSession, reasonOf } from "./session_socket.ts";
import { RoomCycle } from "./room_cycle.ts";

export { walkHeading } from "./random_walk.ts";
export { AckTimer } from "./ack_timer.ts";
export { sessionUrl } from "./session_socket.ts";

/** Options of one {@linkcode BotClient}. */
export interface BotClientOptions {
  /** HTTP base URL to check in (`GET /gateways`) and log in with. */
  gateway: URL;
  /** Guest display name. */
  name: string;
  format: FrameFormat;
  /** INPUTs per second. */
  rateHz: number;
  /** Time between PINGs, ms. */
  pingMs: number;
  /** Bound on each request, WebSocket open and wait for WELCOME, ms. */
  timeoutMs: number;
  metrics: BotMetrics;
  random: () => number;
  /** Monotonic clock in ms; default `performance.now`. */
  now?: () => number;
  /** Resumes tried after dropped connections before the client gives up (default 3). */
  maxResumes?: number;
  /** Logins retried after 429 with Retry-After (default 3). */
  maxLoginRetries?: number;
  /** The instances scenario: quick-join this mode, stay, leave, again. */
  rooms?: { mode: string; stayMs: number; pauseMs: number };
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
/** Pause before each resume attempt, times the attempt number, ms. */
const RESUME_BACKOFF_MS = 250;

/**
 * One simulated player. {@linkcode BotClient.start} resolves once the first session is live
 * (or failed); the client then walks and pings on its own until {@linkcode BotClient.close}.
 */
export class BotClient {
  #o: BotClientOptions;
  #now: () => number;
  #m: BotMetrics;
  #check: DiffStreamCheck;
  #stalls: StallMeter;
  #acks = new AckTimer();
  /** The last PING round trip, ms (reported in the next PING). */
  #rtt: number | undefined;
  #stop = new AbortController();
  #ws: WebSocket | undefined;
  #urls: string[] = [];
  #at = 0;
  #token = "";
  #resumeToken = "";
  #welcome: WelcomeMessage | undefined;
  #waiter: { resolve(m: WelcomeMessage): void; reject(e: Error): void } | undefined;
  #lastError: string | undefined;
  #seq = 0;
  #heading: number;
  #timers: ReturnType<typeof setInterval>[] = [];
  #liveSince = -1;
  #resumes = 0;
  #maxResumes: number;
  #rooms: RoomCycle | undefined;
  /** The gateway a REDIRECT named on the current connection. */
  #redirect: string | undefined;
  /** When this player last got a DIFF, on any connection; -1 before the first. */
  #lastDiffAt = -1;
  /** Total time with a live session, ms. */
  connectedMs = 0;

  constructor(options: BotClientOptions) {
    this.#o = options;
    this.#now = options.now ?? (() => performance.now());
    this.#m = options.metrics;
    this.#check = new DiffStreamCheck(options.metrics.stream);
    this.#stalls = new StallMeter(options.metrics.stalls, { now: this.#now });
    this.#heading = options.random() * Math.PI * 2;
    this.#maxResumes = options.maxResumes ?? 3;
    if (options.rooms) {
      this.#rooms = new RoomCycle({
        ...options.rooms,
        timeoutMs: options.timeoutMs,
        metrics: options.metrics.rooms,
        send: (message) => this.#send(message),
        now: this.#now,
        random: options.random,
      });
    }
  }

  /** Checks in, logs in and opens the first session; failures are counted, never thrown. */
  async start(): Promise<void> {
    const m = this.#m;
    m.started++;
    try {
      const request = { signal: this.#stop.signal, timeoutMs: this.#o.timeoutMs };
      const gateways = await fetchGateways(this.#o.gateway, request);
      const began = this.#now();
      const answer = await this.#login();
      this.#token = answer.token;
      const list = (gateways.length > 0 ? gateways : answer.gateways).map((g) => g.url);
      if (list.length === 0) {
        throw new ConnectError(ErrorCode.UNAVAILABLE, "Cannot connect: no gateway is listed");
      }
      // Check-in: pick one at random, fail over to the next ones in list order.
      const first = Math.floor(this.#o.random() * list.length);
      this.#urls = [...list.slice(first), ...list.slice(0, first)];
      await this.#connect({ op: Op.HELLO, protocol: PROTOCOL_VERSION, token: this.#token });
      m.connectMs.add(this.#now() - began);
      m.connected++;
    } catch (error) {
      if (this.#stop.signal.aborted) return;
      countUp(m.failedConnects, reasonOf(error));
    }
  }

  /** Stops walking and closes the session with 1000 (bounded wait for the close). */
  async close(): Promise<void> {
    this.#stop.abort();
    this.#stopTimers();
    const ws = this.#ws;
    if (!ws || ws.readyState === WebSocket.CLOSED) return this.#offline();
    const closed = new Promise<void>((resolve) => ws.addEventListener("close", () => resolve()));
    ws.close(CloseCode.NORMAL);
    let timer: ReturnType<typeof setTimeout> | undefined;
    const timeout = new Promise<void>((resolve) => timer = setTimeout(resolve, this.#o.timeoutMs));
    await Promise.race([closed, timeout]);
    clearTimeout(timer);
    this.#offline();
  }

  async #login() {
    const retries = this.#o.maxLoginRetries ?? 3;
    for (let attempt = 0;; attempt++) {
      try {
        return await login(this.#o.gateway, { guest: true, name: this.#o.name }, {
          signal: this.#stop.signal,
          timeoutMs: this.#o.timeoutMs,
        });
      } catch (error) {
        const wait = error instanceof LoginApiError ? error.retryAfterMs : undefined;
        if (wait === undefined || attempt >= retries) throw error;
        this.#m.loginRetries++;
        await this.#sleep(Math.min(wait, this.#o.timeoutMs));
      }
    }
  }

  /**
   * Opens a session with `hello` on the current gateway, failing over to the next ones when
   * a socket cannot be opened; resolves on WELCOME, rejects with why not.
   */
  async #connect(hello: HelloMessage): Promise<WelcomeMessage> {
    let lastProblem = "";
    for (let tried = 0; tried < this.#urls.length; tried++) {
      this.#stop.signal.throwIfAborted();
      const url = this.#urls[this.#at];
      let ws: WebSocket;
      try {
        ws = await openSession(url, this.#o.format, this.#o.timeoutMs, this.#stop.signal);
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
    const timer = setTimeout(() => {
      this.#waiter = undefined;
      this.#ws = undefined; // our own close, not one to count
      ws.close(CloseCode.NORMAL);
      reject(new ConnectError("NO_WELCOME", "Cannot connect: no WELCOME in time"));
    }, this.#o.timeoutMs);
    this.#waiter = {
      resolve: (m) => (clearTimeout(timer), resolve(m)),
      reject: (e) => (clearTimeout(timer), reject(e)),
    };
    this.#ws = ws;
    this.#lastError = undefined;
    this.#redirect = undefined;
    ws.onmessage = (event) => this.#onFrame(event.data);
    ws.onclose = (event) => this.#onClose(ws, event.code);
    this.#send(hello);
    return promise;
  }

  #onFrame(data: ArrayBuffer | string): void {
    let message: ServerMessage;
    try {
      message = decodeServerFrame(data);
    } catch {
      this.#m.badServerFrames++;
      return;
    }
    const now = this.#now();
    switch (message.op) {
      case Op.WELCOME:
        return this.#onWelcome(message, now);
      case Op.DIFF:
        if (this.#lastDiffAt >= 0) {
          this.#m.maxDiffGapMs = Math.max(this.#m.maxDiffGapMs, now - this.#lastDiffAt);
        }
        this.#lastDiffAt = now;
        this.#check.diff(message);
        this.#stalls.diff();
        this.#acks.acked(message.ack, now, (ms) => this.#m.ackMs.add(ms));
        return;
      case Op.PONG:
        this.#rtt = now - message.t;
        this.#m.rttMs.add(this.#rtt);
        return;
      case Op.ERROR:
        this.#lastError = message.code;
        countUp(this.#m.errorFrames, message.code);
        this.#rooms?.onFrame(message);
        return;
      case Op.TRAVEL:
        this.#resumeToken = message.resumeToken;
        this.#check.travel(message);
        this.#acks.clear();
        this.#rooms?.onFrame(message);
        return;
      case Op.REDIRECT:
        this.#redirect = message.url;
        return;
      case Op.CHAT:
      case Op.ROOMS:
        return;
    }
  }

  #onWelcome(message: WelcomeMessage, now: number): void {
    const waiter = this.#waiter;
    this.#waiter = undefined;
    if (!waiter) {
      // A second WELCOME on one connection breaks the protocol.
      this.#m.badServerFrames++;
      return;
    }
    this.#welcome = message;
    this.#resumeToken = message.resumeToken;
    this.#check.welcome(message);
    this.#stalls.started();
    this.#acks.clear();
    this.#liveSince = now;
    this.#m.connectedNow++;
    this.#startTimers();
    this.#rooms?.start();
    waiter.resolve(message);
  }

  #onClose(ws: WebSocket, code: number): void {
    if (ws !== this.#ws) return;
    this.#stopTimers();
    this.#offline();
    const waiter = this.#waiter;
    this.#waiter = undefined;
    if (waiter) {
      const reason = this.#lastError ?? "CLOSED_BEFORE_WELCOME";
      waiter.reject(new ConnectError(reason, `Cannot connect: closed with ${code}`, code));
      return;
    }
    if (this.#stop.signal.aborted) return;
    const redirect = this.#redirect;
    if (redirect !== undefined) {
      // Handed over by a deploy: resume at once where we were sent, not an error (whatever
      // the close code: a gateway exiting can cut the closing handshake short, 1006).
      this.#m.redirects++;
      this.#urls = [redirect, ...this.#urls.filter((u) => u !== redirect)];
      this.#at = 0;
      void this.#resume(true);
      return;
    }
    countUp(this.#m.closes, code);
    if (RESUMABLE.has(code) && this.#resumes < this.#maxResumes) void this.#resume();
    else this.#m.lostSessions++;
  }

  /**
   * Takes the session back with the resume token: same gateway first, then the others. After a
   * REDIRECT (`redirected`) at once and without using up one of the resumes after drops.
   */
  async #resume(redirected = false): Promise<void> {
    if (!redirected) this.#resumes++;
    let lost = false; // the session is gone for good (counted once)
    try {
      if (!redirected) await this.#sleep(RESUME_BACKOFF_MS * this.#resumes);
      try {
        await this.#connect({
          op: Op.HELLO,
          protocol: PROTOCOL_VERSION,
          resumeToken: this.#resumeToken,
        });
      } catch (error) {
        // The grace period is over or the token was used: start a new session.
        if (!(error instanceof ConnectError && error.closeCode === CloseCode.RESUME_FAILED)) {
          throw error;
        }
        lost = true; // the player plays on, but from scratch
        this.#m.lostSessions++;
        await this.#connect({ op: Op.HELLO, protocol: PROTOCOL_VERSION, token: this.#token });
        return;
      }
      this.#m.resumes++;
    } catch (error) {
      if (this.#stop.signal.aborted) return;
      if (!lost) this.#m.lostSessions++;
      countUp(this.#m.failedConnects, `RESUME_${reasonOf(error)}`);
    }
  }

  #startTimers(): void {
    this.#stopTimers();
    const size = this.#welcome?.world.size ?? [0, 0];
    const dims = this.#welcome?.world.dims ?? 2;
    this.#timers.push(setInterval(() => {
      this.#heading = walkHeading(this.#heading, this.#o.random, this.#check.position, size);
      const dx = Math.cos(this.#heading), dy = Math.sin(this.#heading);
      const seq = ++this.#seq;
      this.#send({
        op: Op.INPUT,
        seq,
        intent: { move: dims === 3 ? [dx, dy, 0] : [dx, dy] },
      });
      this.#acks.sent(seq, this.#now());
    }, 1000 / this.#o.rateHz));
    this.#timers.push(setInterval(() => {
      // The last round trip rides along so the gateway can show it to operators.
      const rtt = this.#rtt === undefined ? {} : { rtt: Math.min(this.#rtt, MAX_REPORTED_RTT_MS) };
      this.#send({ op: Op.PING, t: this.#now(), ...rtt });
    }, this.#o.pingMs));
  }

  #stopTimers(): void {
    for (const timer of this.#timers) clearInterval(timer);
    this.#timers.length = 0;
    this.#rooms?.stop();
  }

  /** Books the end of a live session (idempotent). */
  #offline(): void {
    this.#stalls.ended();
    if (this.#liveSince < 0) return;
    this.connectedMs += this.#now() - this.#liveSince;
    this.#liveSince = -1;
    this.#m.connectedNow--;
  }

  #send(message: ClientMessage): void {
    const ws = this.#ws;
    if (ws?.readyState === WebSocket.OPEN) ws.send(encodeClientFrame(message, this.#o.format));
  }

  #sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const done = () => (clearTimeout(timer), resolve());
      const timer = setTimeout(done, ms);
      this.#stop.signal.addEventListener("abort", done, { once: true });
    });
  }
}
