// The coordinator's HTTP handler: the operator token in front of every route that needs it,
// /readyz, the diagnostics and control APIs, the routes another role adds (role all: the
// gateway's), /healthz, /api/state, /api/instances, /play sent on to a gateway when no gateway
// runs in this process (the play client logs in and plays there), and the static diagnostics
// page; coordinatorRoutes() builds it from the coordinator's parts (with the history sampler).
import { controlRoutes, coordinatorAccess, publicOnly } from "./control_api.ts";
import { OperatorAuth } from "../net/operator_auth.ts";
import type { Logger } from "../observe/log.ts";
import type { Config } from "../config/config.ts";
import type { Balancer } from "./balance_policy.ts";
import type { CoordinatorDurability } from "./coordinator_durability.ts";
import type { Deploys } from "./deploys.ts";
import type { GatewayDirectory } from "./gateway_directory.ts";
import { HistorySampler } from "./history_sampler.ts";
import type { InstanceDirectory } from "./instance_directory.ts";
import { instancesResponse } from "./instances_api.ts";
import type { Registry } from "./registry.ts";
import { sessionsRoutes } from "./sessions_api.ts";
import { clusterState } from "./state_api.ts";
import { diagnosticsRoutes } from "../observe/diagnostics.ts";
import { History, HISTORY_INTERVAL_MS } from "../observe/history.ts";
import type { NodeMetrics } from "../observe/metrics.ts";
import type { EventStreams } from "../observe/sse.ts";
import {
  type HttpContext,
  type HttpHandler,
  type HttpOptions,
  type HttpServer,
  json,
  jsonError,
  methodNotAllowed,
  readiness,
  serveStatic,
  startHttp,
} from "../net/http.ts";

/**
 * Serves `handler` on `port`, or, with an `adminPort`, only its public routes there and every
 * route on the admin port.
 */
export async function serveCoordinator(
  ports: { host: string; port: number; adminPort: number },
  handler: HttpHandler,
  log: Logger,
  options: Pick<HttpOptions, "tls" | "traffic">,
): Promise<{ http: HttpServer; admin?: HttpServer }> {
  const { host, port, adminPort } = ports;
  const http = await startHttp(host, port, adminPort > 0 ? publicOnly(handler) : handler, log, {
    ...options,
  });
  if (adminPort <= 0) return { http };
  try {
    return {
      http,
      admin: await startHttp(host, adminPort, handler, log, { ...options, name: "admin" }),
    };
  } catch (error) {
    await http.close();
    throw error;
  }
}

/** Routes another role adds to the coordinator's HTTP server (role all: the gateway's). */
export interface ExtraRoutes {
  current?: (
    request: Request,
    url: URL,
    context?: Pick<HttpContext, "remoteAddress">,
  ) => Promise<Response> | undefined;
  /** True while the other role is still starting: /readyz answers 503 until then. */
  pending?: boolean;
}

/** A route table: a response for the paths it serves, undefined for the others. */
type Routes = (
  request: Request,
  url: URL,
  context: HttpContext,
) => Promise<Response> | undefined;

/** What the handler serves, besides the static files. */
export interface CoordinatorHttpOptions {
  role: string;
  staticDir: string;
  auth: OperatorAuth;
  diagnostics: Routes;
  control: (request: Request, url: URL) => Promise<Response> | undefined;
  extra: ExtraRoutes;
  /** The /api/state document. */
  state: () => Record<string, unknown>;
  /** `host:port` of the gateway /play is redirected to; undefined when none is registered. */
  playGateway?: () => string | undefined;
  /** The /api/instances answer for a GET of it. */
  instances: (url: URL) => Response;
}

/** The coordinator's handler, in the order its routes are tried. */
export function coordinatorHandler(o: CoordinatorHttpOptions): HttpHandler {
  return async (request, url, context) => {
    const access = coordinatorAccess(request, url);
    const denied = access === "open" ? undefined : o.auth.check(request, url, access);
    if (denied) return denied;
    if (url.pathname === "/readyz") return readiness(o.role, !o.extra.pending);
    const diagnostic = o.diagnostics(request, url, context);
    if (diagnostic) return await diagnostic;
    const controlled = o.control(request, url);
    if (controlled) return await controlled;
    const extra = o.extra.current?.(request, url, context);
    if (extra) return await extra;
    if (request.method !== "GET" && request.method !== "HEAD") {
      return methodNotAllowed(request.method, url.pathname, ["GET", "HEAD"]);
    }
    if (url.pathname === "/healthz") return json({ status: "ok", role: "coordinator" });
    if (url.pathname === "/api/state") return json(o.state());
    if (PLAY_PAGE.has(url.pathname)) return play(url, o);
    if (url.pathname === "/api/instances") return o.instances(url);
    const file = await serveStatic(o.staticDir, url.pathname);
    return file ?? jsonError(404, "NOT_FOUND", `No such path: ${url.pathname}`);
  };
}

/** The /play page itself; its scripts stay served here (the diagnostics page shares one). */
const PLAY_PAGE = new Set(["/play", "/play/", "/play/index.html"]);

/** /play on a coordinator without a gateway of its own: 307 to a gateway's /play, or 503. */
function play(url: URL, o: CoordinatorHttpOptions): Response {
  const gateway = o.playGateway?.();
  if (!gateway) {
    return jsonError(
      503,
      "UNAVAILABLE",
      "No gateway is registered: /play is served by the gateways; start one and reload",
    );
  }
  return new Response(null, {
    status: 307,
    headers: { location: `${url.protocol}//${gateway}${url.pathname}${url.search}` },
  });
}

/** The coordinator's parts its HTTP routes read and drive. */
export interface CoordinatorParts {
  config: Config;
  log: Logger;
  metrics: NodeMetrics;
  registry: Registry;
  gateways: GatewayDirectory;
  instances: InstanceDirectory;
  balancer: Balancer;
  deploys: Deploys;
  events: EventStreams;
  durability: CoordinatorDurability;
  extra: ExtraRoutes;
}

/**
 * The coordinator's whole HTTP handler: diagnostics (with a 15-minute history sampled every
 * HISTORY_INTERVAL_MS until `close`), the operator's control and sessions APIs (refused on a
 * standby), /api/state and /api/instances, behind the operator token.
 */
export function coordinatorRoutes(o: CoordinatorParts): { handler: HttpHandler; close(): void } {
  const { config, log, registry, gateways, instances } = o;
  const history = new History();
  const sampler = new HistorySampler(history, { registry, gateways });
  const sampling = setInterval(() => sampler.sample(), HISTORY_INTERVAL_MS);
  const operatorToken = config.operatorToken;
  const control = controlRoutes({
    registry,
    balancer: o.balancer,
    deploys: o.deploys,
    log,
    operatorToken,
  });
  const sessions = sessionsRoutes({ gateways, operatorToken });
  const handler = coordinatorHandler({
    role: config.role,
    staticDir: config.static_dir,
    auth: new OperatorAuth({
      token: operatorToken,
      host: config.host,
      log,
      countError: (code) => o.metrics.countError(code),
    }),
    diagnostics: diagnosticsRoutes({ registry, log, events: o.events, operatorToken, history }),
    control: o.durability.control((request, url) =>
      sessions(request, url) ?? control(request, url)
    ),
    extra: o.extra,
    state: () => ({
      ...clusterState(registry, gateways, config, instances),
      coordinator: o.durability.pair.summary(),
    }),
    instances: (url) => instancesResponse(instances, url),
    playGateway: () => gateways.list()[0]?.httpAddress,
  });
  return { handler, close: () => clearInterval(sampling) };
}
