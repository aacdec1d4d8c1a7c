// Where and as whom a GameClient connects: the login token, the server that issued it, and the
// session gateways in the order to try them — a random first one after the login, the next on
// a failure, a REDIRECT's target first, and the live list from `GET /gateways` (the current
// gateway kept first) before a later reconnect attempt.
import { ErrorCode } from "../errors.ts";
import { fetchGateways, login, type LoginBody, loginToCluster } from "./login_client.ts";
import { ConnectError } from "./session_socket.ts";

/** How the login waits and retries (the client's signal, timers and events). */
export interface AccessLoginOptions {
  signal: AbortSignal;
  maxRetries: number;
  sleep(ms: number): Promise<void>;
  onRetry(waitMs: number): void;
}

/** A client's login and its gateway list. */
export class ClusterAccess {
  #servers: readonly (string | URL)[];
  #login: LoginBody;
  #timeoutMs: number;
  #random: () => number;
  #urls: string[] = [];
  #at = 0;
  #base: URL | undefined;
  #token = "";

  /** `servers` tried in order for the login with the `login` body (a GameClient's options). */
  constructor(
    options: { servers: readonly (string | URL)[]; login: LoginBody },
    timeoutMs: number,
    random: () => number,
  ) {
    this.#servers = options.servers;
    this.#login = options.login;
    this.#timeoutMs = timeoutMs;
    this.#random = random;
  }

  /** The login token ("" before the login). */
  get token(): string {
    return this.#token;
  }

  /** The WebSocket URL of the gateway to try now ("" before the login). */
  get current(): string {
    return this.#urls[this.#at] ?? "";
  }

  /** How many gateways are listed. */
  get count(): number {
    return this.#urls.length;
  }

  /**
   * POST /login on the first server that answers, then its live gateway list, starting at a
   * random one. Rejects with a LoginApiError, or a ConnectError when no gateway is listed.
   */
  async logIn(options: AccessLoginOptions): Promise<void> {
    const answer = await loginToCluster(this.#servers, this.#login, {
      signal: options.signal,
      timeoutMs: this.#timeoutMs,
      maxRetries: options.maxRetries,
      sleep: options.sleep,
      onRetry: options.onRetry,
    });
    this.#token = answer.token;
    this.#base = answer.server;
    const list = answer.gateways.map((g) => g.url);
    if (list.length === 0) {
      throw new ConnectError(ErrorCode.UNAVAILABLE, "Cannot connect: no gateway is listed");
    }
    const first = Math.floor(this.#random() * list.length);
    this.#urls = [...list.slice(first), ...list.slice(0, first)];
    this.#at = 0;
  }

  /** The current gateway failed: the next one is tried next. */
  advance(): void {
    this.#at = (this.#at + 1) % this.#urls.length;
  }

  /** A REDIRECT's gateway goes first. */
  preferFirst(url: string): void {
    this.#urls = [url, ...this.#urls.filter((u) => u !== url)];
    this.#at = 0;
  }

  /** The live gateway list, the current gateway first if listed; kept as is when unreachable. */
  async refresh(signal: AbortSignal): Promise<void> {
    if (!this.#base) return;
    let live: string[];
    try {
      const request = { signal, timeoutMs: this.#timeoutMs };
      live = (await fetchGateways(this.#base, request)).map((g) => g.url);
    } catch {
      return; // that server is down too: keep the list we have
    }
    if (live.length === 0) return;
    const current = this.#urls[this.#at];
    this.#urls = live.includes(current) ? [current, ...live.filter((u) => u !== current)] : live;
    this.#at = 0;
  }

  /** A fresh login token from the server of the last login (the first server before any). */
  async renewToken(signal: AbortSignal): Promise<void> {
    const base = this.#base ?? new URL(this.#servers[0]);
    const request = { signal, timeoutMs: this.#timeoutMs };
    this.#token = (await login(base, this.#login, request)).token;
  }
}
