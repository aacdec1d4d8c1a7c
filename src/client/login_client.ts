// The client side of the HTTP login API in login_request.ts (docs/protocol.md): `GET /gateways`
// and `POST /login` with bounded waits, strict parsing of the answers, and the error code of
// every failure, for clients written in TypeScript (the SDK's GameClient, tests).
import { CodedError, ErrorCode } from "../errors.ts";
import type { GatewayInfo, LoginResponse } from "../session/login_request.ts";

/** A body for `POST /login`, as sent. */
export type LoginBody =
  | { guest: true; name: string }
  | { username: string; password: string; register?: boolean };

/** Options of the requests. */
export interface LoginClientOptions {
  /** Aborts the request (the caller stops). */
  signal?: AbortSignal;
  /** Bound on one request, ms. */
  timeoutMs: number;
}

/**
 * An HTTP request of the login API failed. `code` is the server's error code, UNAVAILABLE when
 * the server could not be reached or did not answer in time, BAD_REQUEST when its answer broke
 * the protocol; `retryAfterMs` is set for RATE_LIMITED when the server said how long to wait.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * const error = new LoginApiError("RATE_LIMITED", "Cannot log in: too many logins", 2000);
 * assert.equal(error.name, "LoginApiError");
 * assert.equal(error.retryAfterMs, 2000);
 * ```
 */
export class LoginApiError extends CodedError {
  readonly retryAfterMs: number | undefined;

  constructor(code: ErrorCode, message: string, retryAfterMs?: number, options?: ErrorOptions) {
    super(code, message, options);
    this.name = "LoginApiError";
    this.retryAfterMs = retryAfterMs;
  }
}

const CODES = new Set<string>(Object.values(ErrorCode));

/**
 * Validates the body of `GET /gateways` (or the `gateways` of a login answer, with `what`).
 * Throws {@linkcode LoginApiError} BAD_REQUEST naming the field.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * const list = parseGatewayList({
 *   gateways: [{ id: "gw-1", url: "ws://127.0.0.1:8080/ws", version: "0.1.0", sessions: 3 }],
 * });
 * assert.equal(list[0].url, "ws://127.0.0.1:8080/ws");
 * assert.throws(() => parseGatewayList({ gateways: [{ id: "gw-1" }] }), /gateways\[0\]\.url/);
 * ```
 */
export function parseGatewayList(body: unknown): GatewayInfo[] {
  const fields = object(body, "GET /gateways");
  return gatewayArray(fields.gateways, "gateways");
}

/**
 * Validates the body of a successful `POST /login`. Throws {@linkcode LoginApiError}
 * BAD_REQUEST naming the field.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * const answer = parseLoginResponse({ token: "v1.a.b", expiresAt: 1, gateways: [] });
 * assert.equal(answer.token, "v1.a.b");
 * assert.throws(() => parseLoginResponse({ token: "", expiresAt: 1, gateways: [] }), /token/);
 * ```
 */
export function parseLoginResponse(body: unknown): LoginResponse {
  const fields = object(body, "POST /login");
  if (typeof fields.token !== "string" || !/^[A-Za-z0-9._-]{1,1024}$/.test(fields.token)) {
    invalid(`token must be 1..1024 characters of A-Z a-z 0-9 . _ -`);
  }
  if (!Number.isSafeInteger(fields.expiresAt)) invalid(`expiresAt must be an integer`);
  return {
    token: fields.token,
    expiresAt: fields.expiresAt as number,
    gateways: gatewayArray(fields.gateways, "gateways"),
  };
}

/** `GET {base}/gateways`: the live gateways, newest version first. */
export async function fetchGateways(
  base: URL,
  options: LoginClientOptions,
): Promise<GatewayInfo[]> {
  return parseGatewayList(await request(new URL("/gateways", base), undefined, options));
}

/** `POST {base}/login`: a login token and the gateways to use it on. */
export async function login(
  base: URL,
  body: LoginBody,
  options: LoginClientOptions,
): Promise<LoginResponse> {
  return parseLoginResponse(await request(new URL("/login", base), body, options));
}

/** Options of {@linkcode loginToCluster}. */
export interface ClusterLoginOptions extends LoginClientOptions {
  /** Logins retried after 429 RATE_LIMITED with Retry-After. */
  maxRetries: number;
  /** Waits `ms` (the caller's timers; resolves early when it stops). */
  sleep(ms: number): Promise<void>;
  /** Told before each retry. */
  onRetry?(waitMs: number): void;
}

/** A login on one of a cluster's servers: the token, that server, and the gateways to use. */
export interface ClusterLogin {
  token: string;
  server: URL;
  /** `GET /gateways` of that server, or the login answer's list when that is empty or fails. */
  gateways: GatewayInfo[];
}

/**
 * `POST /login` on the first of `servers` that can be reached (a rate-limited login is retried
 * after its Retry-After, at most the timeout), then its live gateway list (check-in). Throws the
 * last server's {@linkcode LoginApiError} when none answers, and any other refusal at once.
 */
export async function loginToCluster(
  servers: readonly (string | URL)[],
  body: LoginBody,
  options: ClusterLoginOptions,
): Promise<ClusterLogin> {
  let lastError: unknown = new LoginApiError(ErrorCode.UNAVAILABLE, "Cannot log in: no server");
  for (const entry of servers) {
    const server = new URL(entry);
    for (let attempt = 0;; attempt++) {
      try {
        const answer = await login(server, body, options);
        // The live list, else the one that came with the token: the check-in is a hint.
        const live = await fetchGateways(server, options).catch(() => []);
        const gateways = live.length > 0 ? live : answer.gateways;
        return { token: answer.token, server, gateways };
      } catch (error) {
        if (options.signal?.aborted) throw error;
        lastError = error;
        const wait = error instanceof LoginApiError ? error.retryAfterMs : undefined;
        if (wait !== undefined && attempt < options.maxRetries) {
          options.onRetry?.(wait);
          await options.sleep(Math.min(wait, options.timeoutMs));
          continue;
        }
        if (error instanceof LoginApiError && error.code === ErrorCode.UNAVAILABLE) break;
        throw error;
      }
    }
  }
  throw lastError;
}

async function request(
  url: URL,
  body: LoginBody | undefined,
  options: LoginClientOptions,
): Promise<unknown> {
  const what = `${body ? "POST" : "GET"} ${url.pathname}`;
  const timeout = AbortSignal.timeout(options.timeoutMs);
  const signal = options.signal ? AbortSignal.any([options.signal, timeout]) : timeout;
  let response: Response;
  let text: string;
  try {
    response = await fetch(url, {
      method: body ? "POST" : "GET",
      headers: body ? { "content-type": "application/json" } : {},
      body: body ? JSON.stringify(body) : undefined,
      signal,
    });
    text = await response.text();
  } catch (error) {
    if (options.signal?.aborted) throw error;
    throw new LoginApiError(
      ErrorCode.UNAVAILABLE,
      `Cannot ${what}: ${(error as Error).message}`,
      undefined,
      { cause: error },
    );
  }
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error) {
    throw new LoginApiError(
      ErrorCode.BAD_REQUEST,
      `Cannot ${what}: HTTP ${response.status} with a body that is not JSON`,
      undefined,
      { cause: error },
    );
  }
  if (response.ok) return value;
  const error = (value as { error?: { code?: unknown; message?: unknown } } | null)?.error;
  const code = typeof error?.code === "string" && CODES.has(error.code)
    ? error.code as ErrorCode
    : ErrorCode.INTERNAL;
  const message = typeof error?.message === "string" ? error.message : `HTTP ${response.status}`;
  const retryAfter = Number(response.headers.get("retry-after"));
  throw new LoginApiError(
    code,
    `Cannot ${what}: HTTP ${response.status} ${code}: ${message}`,
    Number.isFinite(retryAfter) && retryAfter > 0 ? retryAfter * 1000 : undefined,
  );
}

function gatewayArray(value: unknown, what: string): GatewayInfo[] {
  if (!Array.isArray(value)) invalid(`${what} must be an array`);
  return value.map((entry, n) => {
    const at = `${what}[${n}]`;
    const g = object(entry, at);
    if (typeof g.id !== "string" || g.id === "") invalid(`${at}.id must be a non-empty string`);
    if (typeof g.url !== "string" || !/^wss?:\/\//.test(g.url)) {
      invalid(`${at}.url must be a ws:// or wss:// URL`);
    }
    if (typeof g.version !== "string") invalid(`${at}.version must be a string`);
    if (!Number.isSafeInteger(g.sessions) || (g.sessions as number) < 0) {
      invalid(`${at}.sessions must be an integer >= 0`);
    }
    return { id: g.id, url: g.url, version: g.version, sessions: g.sessions as number };
  });
}

function object(value: unknown, what: string): Record<string, unknown> {
  if (typeof value !== "object" || value === null || Array.isArray(value)) {
    invalid(`${what} must answer a JSON object`);
  }
  return value as Record<string, unknown>;
}

function invalid(problem: string): never {
  throw new LoginApiError(ErrorCode.BAD_REQUEST, `Cannot read the login API's answer: ${problem}`);
}
