// One simulated player over the client SDK (game_client.ts): guest login, fail-over across
// gateways, INPUTs on a random walk, PINGs, and resume after a dropped connection; everything it
// sees goes into the shared BotMetrics.
import type { FrameFormat, WelcomeMessage } from "../protocol/client_protocol.ts";
import { DiffStreamCheck } from "./diff_stream_check.ts";
import { StallMeter } from "./stall_meter.ts";
import { type BotMetrics, countUp } from "./bot_report.ts";
import { walkHeading } from "./random_walk.ts";
import { AckTimer } from "./ack_timer.ts";
import { reasonOf } from "./session_socket.ts";
import { RoomCycle } from "./room_cycle.ts";
import { GameClient } from "./game_client.ts";
import { realTimers } from "./reconnect_backoff.ts";

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
  /** Resumes tried after one dropped connection before the client gives up (default 3). */
  maxResumes?: number;
  /** Logins retried after 429 with Retry-After (default 3). */
  maxLoginRetries?: number;
  /** The instances scenario: quick-join this mode, stay, leave, again. */
  rooms?: { mode: string; stayMs: number; pauseMs: number };
}

/** Pause before the first resume attempt after a drop, ms (then doubling, jittered). */
const RESUME_BACKOFF_MS = 250;

/**
 * One simulated player. {@linkcode BotClient.start} resolves once the first session is live
 * (or failed); the client then walks and pings on its own until {@linkcode BotClient.close}.
 * The protocol is the SDK's {@linkcode GameClient}; the bot adds the walk and the measurements.
 */
export class BotClient {
  #o: BotClientOptions;
  #now: () => number;
  #m: BotMetrics;
  #client: GameClient;
  #check: DiffStreamCheck;
  #stalls: StallMeter;
  #acks = new AckTimer();
  #stopped = false;
  #heading: number;
  #timers: ReturnType<typeof setInterval>[] = [];
  #liveSince = -1;
  #rooms: RoomCycle | undefined;
  /** The session of the current outage was already counted as lost (its resume was refused). */
  #lostThisOutage = false;
  /** When this player last got a DIFF, on any connection; -1 before the first. */
  #lastDiffAt = -1;
  /** Total time with a live session, ms. */
  connectedMs = 0;

  constructor(options: BotClientOptions) {
    this.#o = options;
    const now = this.#now = options.now ?? (() => performance.now());
    this.#m = options.metrics;
    this.#client = new GameClient({
      servers: [options.gateway],
      login: { guest: true, name: options.name },
      format: options.format,
      timeoutMs: options.timeoutMs,
      pingMs: options.pingMs,
      reconnect: { maxAttempts: options.maxResumes ?? 3, baseMs: RESUME_BACKOFF_MS },
      maxLoginRetries: options.maxLoginRetries,
      random: options.random,
      timers: { now, after: realTimers.after },
    });
    this.#check = new DiffStreamCheck(options.metrics.stream, this.#client.world);
    this.#stalls = new StallMeter(options.metrics.stalls, { now });
    this.#heading = options.random() * Math.PI * 2;
    if (options.rooms) {
      this.#rooms = new RoomCycle({
        ...options.rooms,
        timeoutMs: options.timeoutMs,
        metrics: options.metrics.rooms,
        send: (message) => this.#client.send(message),
        now,
        random: options.random,
      });
    }
    this.#listen();
  }

  /** Logs in and opens the first session; failures are counted, never thrown. */
  async start(): Promise<void> {
    const m = this.#m;
    m.started++;
    try {
      const began = this.#now();
      await this.#client.connect();
      m.connectMs.add(this.#now() - began);
      m.connected++;
    } catch (error) {
      if (this.#stopped) return;
      countUp(m.failedConnects, reasonOf(error));
    }
  }

  /** Stops walking and closes the session with 1000 (bounded wait for the close). */
  async close(): Promise<void> {
    this.#stopped = true;
    this.#stopTimers();
    await this.#client.close();
    this.#offline();
  }

  #listen(): void {
    const client = this.#client, m = this.#m;
    client.on("loginRetry", () => m.loginRetries++);
    client.on("protocolError", (error) => {
      if (error.kind === "BAD_FRAME" || error.kind === "UNEXPECTED_WELCOME") m.badServerFrames++;
      else this.#check.problem(error.kind);
    });
    client.on("welcome", (message) => {
      if (message.resumed) m.resumes++;
      this.#check.welcome(message);
      this.#stalls.started();
      this.#acks.clear();
      this.#liveSince = this.#now();
      m.connectedNow++;
      this.#startTimers(message);
      this.#rooms?.start();
    });
    client.on("diff", (message) => {
      const now = this.#now();
      if (this.#lastDiffAt >= 0) m.maxDiffGapMs = Math.max(m.maxDiffGapMs, now - this.#lastDiffAt);
      this.#lastDiffAt = now;
      this.#check.diff(message);
      this.#stalls.diff();
      this.#acks.acked(message.ack, now, (ms) => m.ackMs.add(ms));
    });
    client.on("pong", ({ rttMs }) => m.rttMs.add(rttMs));
    client.on("serverError", (message) => {
      countUp(m.errorFrames, message.code);
      this.#rooms?.onFrame(message);
    });
    client.on("travel", (message) => {
      this.#check.travel(message);
      this.#acks.clear();
      this.#rooms?.onFrame(message);
    });
    client.on("close", (close) => {
      this.#stopTimers();
      this.#offline();
      if (close.requested) return; // ours, not one to count
      this.#lostThisOutage = false;
      // Handed over by a deploy: not an error (whatever the close code: a gateway exiting can
      // cut the closing handshake short, 1006).
      if (close.redirect !== undefined) m.redirects++;
      else countUp(m.closes, close.code);
      if (!close.reconnect) m.lostSessions++;
    });
    client.on("sessionLost", () => {
      // The player plays on, but from scratch.
      this.#lostThisOutage = true;
      m.lostSessions++;
    });
    client.on("reconnectFailed", ({ error }) => {
      if (!this.#lostThisOutage) m.lostSessions++;
      countUp(m.failedConnects, `RESUME_${reasonOf(error)}`);
    });
  }

  #startTimers(welcome: WelcomeMessage): void {
    this.#stopTimers();
    const { size, dims } = welcome.world;
    this.#timers.push(setInterval(() => {
      this.#heading = walkHeading(this.#heading, this.#o.random, this.#check.position, size);
      const dx = Math.cos(this.#heading), dy = Math.sin(this.#heading);
      const seq = this.#client.input({ move: dims === 3 ? [dx, dy, 0] : [dx, dy] });
      if (seq !== undefined) this.#acks.sent(seq, this.#now());
    }, 1000 / this.#o.rateHz));
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
}
