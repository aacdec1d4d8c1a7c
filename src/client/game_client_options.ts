// The options a GameClient takes (all but `servers` and `login` have defaults, named in each
// field's doc); the SDK exports the type from game_client.ts.
import type { FrameFormat } from "../protocol/client_protocol.ts";
import type { LoginBody } from "./login_client.ts";
import type { BackoffOptions, ClientTimers } from "./reconnect_backoff.ts";

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
