// The gateway's HTTP API (docs/protocol.md): POST /login (guest or account) answering a login
// token and the gateway list, GET /gateways, GET /world (the grid and which worker owns each
// cell, for the /play minimap), the WebSocket upgrade at /ws, and the /play client.
// Account logins and registrations are limited per IP and per account (src/session/login_limits.ts).
import type { AccountStore } from "./account_store.ts";
import { signToken } from "./login_tokens.ts";
import { type GatewayInfo, parseLoginRequest } from "./login_request.ts";
import type { SessionHub } from "./hub.ts";
import { frameFormatOf, type WorldBounds } from "../protocol/client_protocol.ts";
import { readJsonObject } from "../protocol/json_body.ts";
import { CodedError, ErrorCode } from "../errors.ts";
import {
  type HttpContext,
  type HttpHandler,
  httpStatusOf,
  json,
  jsonError,
  methodNotAllowed,
  readiness,
  serveStatic,
} from "../net/http.ts";
import type { OperatorAuth } from "../net/operator_auth.ts";
import { LoginLimits } from "./login_limits.ts";
import type { GatewayClusterView } from "./gateway_cluster_view.ts";
import { sessionAdminRoutes } from "./session_admin.ts";
import type { Config } from "../config/config.ts";
import type { Grid } from "../world/grid.ts";
import { metricsResponse } from "../observe/metrics.ts";
import type { Logger } from "../observe/log.ts";
import type { GatewayInfo as RegisteredGateway } from "../net/rpc.ts";

/** What the API needs from the gateway around it. */
export interface GatewayApiOptions {
  accounts: AccountStore;
  secret: string;
  tokenTtlMs: number;
  /** Directory holding the /play client. */
  staticDir: string;
  log: Logger;
  /** The cluster's gateways as last heard from the coordinator. */
  gateways(): readonly RegisteredGateway[];
  /** The hub, once the gateway is registered; undefined while starting or closing. */
  hub(): SessionHub | undefined;
  /** Gateways serve HTTPS: their list says wss://. Default false. */
  secure?: boolean;
  /** Per-IP and per-account limits of account logins and registrations; none when absent. */
  limits?: LoginLimits;
  /** The world's grid and the partition map as last heard; undefined until registered. */
  world?():
    | { epoch: number; world: WorldBounds; cells: readonly number[]; owners: readonly string[] }
    | undefined;
  /** The operator's session routes (src/session/session_admin.ts); none when absent. */
  admin?: (request: Request, url: URL) => Promise<Response> | undefined;
  now?: () => number;
}

/** The gateway's routes: a response for the paths it serves, undefined for any other. */
export type GatewayRoutes = (
  request: Request,
  url: URL,
  context?: Pick<HttpContext, "remoteAddress">,
) => Promise<Response> | undefined;

/** Body keys POST /login accepts. */
const LOGIN_KEYS = ["guest", "name", "username", "password", "register"] as const;

/**
 * Builds the gateway's HTTP routes.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { Logger } from "../observe/log.ts";
 * import type { AccountStore } from "./account_store.ts";
 * const routes = gatewayApi({
 *   accounts: {} as AccountStore,
 *   secret: "0123456789abcdef",
 *   tokenTtlMs: 60_000,
 *   staticDir: "static",
 *   log: new Logger({ role: "gateway", sink: () => {} }),
 *   gateways: () => [{ id: "g1", httpAddress: "10.0.0.5:8080", version: "1", sessions: 3 }],
 *   hub: () => undefined,
 * });
 * const url = new URL("http://x/gateways");
 * const response = await routes(new Request(url), url);
 * assert.deepEqual((await response!.json()).gateways[0].url, "ws://10.0.0.5:8080/ws");
 * ```
 */
export function gatewayApi(options: GatewayApiOptions): GatewayRoutes {
  const now = options.now ?? Date.now;
  const listed = (): GatewayInfo[] =>
    // A draining gateway (its version was replaced) is handing its sessions over: not listed.
    options.gateways().filter((g) => !g.draining).map((g) => ({
      id: g.id,
      url: `${options.secure ? "wss" : "ws"}://${g.httpAddress}/ws`,
      version: g.version,
      sessions: g.sessions,
    }));

  const login = async (request: Request, ip: string): Promise<Response> => {
    if (request.method !== "POST") {
      return methodNotAllowed(request.method, "/login", ["POST"]);
    }
    const parsed = parseLoginRequest(await readJsonObject(request, LOGIN_KEYS));
    const expiresAt = now() + options.tokenTtlMs;
    let sub: string, name: string;
    if (parsed.kind === "guest") {
      sub = `guest:${crypto.randomUUID()}`;
      name = parsed.name;
    } else {
      const { limits } = options;
      // Each attempt costs a scrypt: limit them before doing the work.
      const wait = limits ? limits.admitIp(ip) || limits.admitAccount(parsed.username) : 0;
      if (wait > 0) return rateLimited(wait);
      let account;
      try {
        account = parsed.register
          ? await options.accounts.register(parsed.username, parsed.password)
          : await options.accounts.verify(parsed.username, parsed.password);
      } catch (error) {
        if ((error as CodedError).code === ErrorCode.BAD_CREDENTIALS) {
          limits?.failed(parsed.username);
        }
        throw error;
      }
      limits?.succeeded(parsed.username);
      sub = `account:${account.id}`;
      name = account.username;
    }
    const token = signToken({ sub, name, kind: parsed.kind, exp: expiresAt }, options.secret);
    return json({ token, expiresAt, gateways: listed() });
  };

  const loginError = (error: unknown): Response => {
    if (error instanceof CodedError) {
      return jsonError(httpStatusOf(error.code), error.code, error.message);
    }
    // The client went away while its body was read: nothing failed on our side.
    if (error instanceof Deno.errors.BadResource || error instanceof Deno.errors.ConnectionReset) {
      options.log.info("login.aborted", { error: (error as Error).message });
      return jsonError(400, ErrorCode.BAD_REQUEST, "Cannot log in: the request was aborted");
    }
    options.log.error("login.failed", { error });
    return jsonError(500, ErrorCode.INTERNAL, "Internal error");
  };

  const upgrade = (request: Request, url: URL): Response => {
    if ((request.headers.get("upgrade") ?? "").toLowerCase() !== "websocket") {
      return jsonError(
        400,
        ErrorCode.BAD_REQUEST,
        "/ws is a WebSocket endpoint: send an Upgrade: websocket request",
      );
    }
    const hub = options.hub();
    if (!hub) return jsonError(503, ErrorCode.UNAVAILABLE, "The gateway is not ready");
    let format;
    try {
      format = frameFormatOf(url);
    } catch (error) {
      return jsonError(400, ErrorCode.BAD_REQUEST, (error as Error).message);
    }
    const { socket, response } = Deno.upgradeWebSocket(request, { idleTimeout: 0 });
    hub.accept(socket, format);
    return response;
  };

  return (request, url, context) => {
    const path = url.pathname;
    const admin = options.admin?.(request, url);
    if (admin) return admin;
    if (path === "/gateways" && request.method === "GET") {
      return Promise.resolve(json({ gateways: listed() }));
    }
    if (path === "/world" && (request.method === "GET" || request.method === "HEAD")) {
      const world = options.world?.();
      return Promise.resolve(
        world ? json(world) : jsonError(503, ErrorCode.UNAVAILABLE, "The gateway is not ready"),
      );
    }
    if (path === "/login") return login(request, context?.remoteAddress ?? "").catch(loginError);
    if (path === "/ws") return Promise.resolve(upgrade(request, url));
    if (path === "/play" || path.startsWith("/play/")) {
      const file = path === "/play" ? "/play/" : path;
      return serveStatic(options.staticDir, file).then((r) =>
        r ?? jsonError(404, ErrorCode.NOT_FOUND, `No such path: ${path}`)
      );
    }
    return undefined;
  };
}

/** 429 RATE_LIMITED with the wait in Retry-After (whole seconds, at least 1). */
function rateLimited(waitMs: number): Response {
  const seconds = Math.max(1, Math.ceil(waitMs / 1000));
  const response = jsonError(
    429,
    ErrorCode.RATE_LIMITED,
    `Too many login attempts; retry in ${seconds} s`,
  );
  response.headers.set("retry-after", String(seconds));
  return response;
}

/**
 * The handler of a gateway's own HTTP server: /healthz ("starting" until `ready`), /readyz
 * (503 until `ready`), /metrics (behind the operator token off loopback), the API routes, and
 * 404 for anything else.
 */
export function gatewayHandler(
  routes: GatewayRoutes,
  ready: () => boolean,
  auth?: OperatorAuth,
): HttpHandler {
  return async (request, url, context) => {
    if (url.pathname === "/healthz") {
      return json({ status: ready() ? "ok" : "starting", role: "gateway" });
    }
    if (url.pathname === "/readyz") {
      return readiness("gateway", ready());
    }
    if (url.pathname === "/metrics") {
      return auth?.check(request, url, "read") ?? await metricsResponse();
    }
    return await (routes(request, url, context) ??
      jsonError(404, ErrorCode.NOT_FOUND, `No such path: ${url.pathname}`));
  };
}

/**
 * The routes of a gateway node from its parts: the gateway list with this gateway's own live
 * session count (the coordinator's carries counts as of the last map change), the world as
 * last heard, the login limits and the operator's session routes of its config.
 */
export function gatewayNodeRoutes(o: {
  config: Config;
  accounts: AccountStore;
  log: Logger;
  auth: OperatorAuth;
  cluster: GatewayClusterView;
  /** This gateway's id (known once registered). */
  self(): string;
  hub(): SessionHub | undefined;
  state: { grid?: Grid; world?: WorldBounds };
  secure: boolean;
}): GatewayRoutes {
  const { config, cluster, state } = o;
  return gatewayApi({
    accounts: o.accounts,
    secret: config.secret,
    tokenTtlMs: config.gateway.tokenTtlMs,
    staticDir: config.static_dir,
    log: o.log,
    gateways: () => {
      const hub = o.hub();
      return cluster.gateways.map((g) =>
        g.id === o.self() && hub ? { ...g, sessions: hub.size } : g
      );
    },
    hub: o.hub,
    secure: o.secure,
    limits: LoginLimits.of(config.gateway),
    world: () =>
      state.world && state.grid && {
        epoch: cluster.map.epoch,
        world: state.world,
        cells: state.grid.counts,
        owners: cluster.map.owners,
      },
    admin: sessionAdminRoutes({ hub: o.hub, grid: () => state.grid, auth: o.auth, log: o.log }),
  });
}
