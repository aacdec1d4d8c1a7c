// The coordinator role: wires the registry to its gRPC service (src/cluster/coordinator_service.ts)
// and to HTTP (/healthz, /api/state, the control and diagnostics APIs, the static page), and runs
// the failure sweep and the balancer on timers.
import { Balancer } from "../src/cluster/balance_policy.ts";
import type { Config } from "../src/config/config.ts";
import { controlRoutes } from "../src/cluster/control_api.ts";
import { clusterEvent, diagnosticsRoutes } from "../src/observe/diagnostics.ts";
import { gridOf, worldSpecOf } from "../src/world/world_spec.ts";
import { json, jsonError, serveStatic, startHttp } from "../src/net/http.ts";
import type { Logger } from "../src/observe/log.ts";
import { NodeMetrics } from "../src/observe/metrics.ts";
import { Registry } from "../src/cluster/registry.ts";
import { GatewayDirectory } from "../src/cluster/gateway_directory.ts";
import { CoordinatorService } from "../src/cluster/coordinator_service.ts";
import { clusterState } from "../src/cluster/state_api.ts";
import { EventStreams } from "../src/observe/sse.ts";
import { type CloseOptions, requireSecret, startRpcServer } from "../src/net/rpc.ts";

/** A running coordinator. */
export interface CoordinatorHandle {
  grpcPort: number;
  httpPort: number;
  registry: Registry;
  close(options?: CloseOptions): Promise<void>;
}

/** Routes another role adds to the coordinator's HTTP server (role all: the gateway's). */
export interface ExtraRoutes {
  current?: (request: Request, url: URL) => Promise<Response> | undefined;
}

/** Starts the coordinator's gRPC and HTTP servers. */
export async function startCoordinator(
  config: Config,
  log: Logger,
  extraRoutes: ExtraRoutes = {},
): Promise<CoordinatorHandle> {
  const world = worldSpecOf(config, Date.now());
  const grid = gridOf(world);
  const metrics = new NodeMetrics({ role: "coordinator", node: log.node || "coordinator" });
  const events = new EventStreams(); // live cluster events for /api/events
  const gateways = new GatewayDirectory({ timeoutMs: config.workerTimeoutMs });
  const service: CoordinatorService = new CoordinatorService({
    config,
    log,
    registry: () => registry,
    gateways,
    world,
  });
  const registry: Registry = new Registry({
    grid,
    load: config.load,
    minWorkers: config.minWorkers,
    workerTimeoutMs: config.workerTimeoutMs,
    streamGraceMs: config.workerStreamGraceMs,
    faultTolerance: config.faultTolerance.mode,
    onMap: (map) => service.publish(map),
    onEvent: (event) => {
      const { kind, seq: _seq, time: _time, ...fields } = event;
      log.info(kind, fields);
      if (kind === "cell.migrated") metrics.countMigration();
      events.publish(clusterEvent(event));
    },
  });
  metrics.watchCoordinator(registry);
  const diagnostics = diagnosticsRoutes({ registry, log, events });

  const rpc = await startRpcServer(config.host, config.grpcPort, {
    Coordinator: requireSecret(config.secret, service.handlers(), (method) => {
      metrics.countError("UNAUTHENTICATED");
      log.warn("rpc.unauthenticated", { method });
    }),
  });
  // Sweep often: a death is declared within one sweep of its deadline.
  const sweeper = setInterval(() => {
    registry.sweep();
    const gone = gateways.sweep();
    for (const id of gone) registry.event("gateway.down", { gateway: id });
    if (gone.length > 0) service.publish();
  }, Math.max(50, Math.min(config.heartbeatMs / 2, config.workerStreamGraceMs / 3 || Infinity)));
  const balancer = new Balancer({
    grid,
    registry,
    rebalance: config.rebalance,
    autoscale: config.autoscale,
    minWorkers: config.minWorkers,
  });
  const balancing = setInterval(() => {
    try {
      balancer.step();
    } catch (error) {
      log.error("balancer.failed", { error });
    }
  }, config.rebalance.intervalMs);
  const control = controlRoutes({ registry, balancer, log });

  const http = await startHttp(
    config.host,
    config.port,
    async (request, url, context) => {
      const diagnostic = diagnostics(request, url, context);
      if (diagnostic) return await diagnostic;
      const controlled = control(request, url);
      if (controlled) return await controlled;
      const extra = extraRoutes.current?.(request, url);
      if (extra) return await extra;
      if (request.method !== "GET" && request.method !== "HEAD") {
        return jsonError(
          405,
          "METHOD_NOT_ALLOWED",
          `${request.method} is not allowed on ${url.pathname}`,
        );
      }
      if (url.pathname === "/healthz") return json({ status: "ok", role: "coordinator" });
      if (url.pathname === "/api/state") return json(clusterState(registry, gateways, config));
      const file = await serveStatic(config.static_dir, url.pathname);
      return file ?? jsonError(404, "NOT_FOUND", `No such path: ${url.pathname}`);
    },
    log,
    { traffic: metrics.http },
  );

  log.info("coordinator.listening", { grpcPort: rpc.port, httpPort: http.port, host: config.host });
  return {
    grpcPort: rpc.port,
    httpPort: http.port,
    registry,
    async close(options: CloseOptions = {}) {
      clearInterval(sweeper);
      clearInterval(balancing);
      service.close();
      await http.close(); // ends open event streams first
      if (!options.exiting) await rpc.close();
      metrics.close();
      log.info("coordinator.closed");
    },
  };
}
