// The coordinator role: wires the registry to its gRPC service (src/cluster/coordinator_service.ts)
// and to HTTP (src/cluster/coordinator_http.ts: /healthz, /readyz, /api/state, the control and
// diagnostics APIs, the static page, behind the operator token; the operator's API optionally on
// its own admin port), and runs the failure sweep and the balancer on timers.
import { loadGame } from "../src/games/game_module.ts";
import { Balancer } from "../src/cluster/balance_policy.ts";
import type { Config } from "../src/config/config.ts";
import { controlRoutes, publicOnly } from "../src/cluster/control_api.ts";
import { coordinatorHandler, type ExtraRoutes } from "../src/cluster/coordinator_http.ts";
import { OperatorAuth } from "../src/net/operator_auth.ts";
import { loadNodeTls, nodeTls, useNodeTls } from "../src/net/node_tls.ts";
import { clusterEvent, diagnosticsRoutes } from "../src/observe/diagnostics.ts";
import { gridOf, worldSpecOf } from "../src/world/world_spec.ts";
import { startHttp } from "../src/net/http.ts";
import type { Logger } from "../src/observe/log.ts";
import { NodeMetrics } from "../src/observe/metrics.ts";
import { Registry } from "../src/cluster/registry.ts";
import { GatewayDirectory } from "../src/cluster/gateway_directory.ts";
import { Deploys } from "../src/cluster/deploys.ts";
import { CoordinatorService } from "../src/cluster/coordinator_service.ts";
import { clusterState } from "../src/cluster/state_api.ts";
import { EventStreams } from "../src/observe/sse.ts";
import { type CloseOptions, requireSecret, startRpcServer } from "../src/net/rpc.ts";

/** A running coordinator. */
export interface CoordinatorHandle {
  grpcPort: number;
  httpPort: number;
  registry: Registry;
  deploys: Deploys;
  close(options?: CloseOptions): Promise<void>;
}

export type { ExtraRoutes };

/** Starts the coordinator's gRPC and HTTP servers. */
export async function startCoordinator(
  config: Config,
  log: Logger,
  extraRoutes: ExtraRoutes = {},
): Promise<CoordinatorHandle> {
  const game = await loadGame(config);
  useNodeTls(loadNodeTls(config.tls));
  const tls = nodeTls();
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
    deploys: () => deploys,
    world,
    game,
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
  const deploys: Deploys = new Deploys({
    grid,
    registry,
    gateways,
    cellsPerSecond: config.deploy.cellsPerSecond,
    onChange: () => service.publish(),
  });
  // Often enough that the rate holds with sub-second spacing between moves.
  const deploying = setInterval(() => {
    try {
      deploys.step();
    } catch (error) {
      log.error("deploy.step_failed", { error });
    }
  }, Math.max(50, Math.min(250, 1000 / config.deploy.cellsPerSecond)));
  const diagnostics = diagnosticsRoutes({
    registry,
    log,
    events,
    operatorToken: config.operatorToken,
  });

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
    holding: () => deploys.holding,
    placeable: (version) => deploys.placeable(version),
  });
  const balancing = setInterval(() => {
    try {
      balancer.step();
    } catch (error) {
      log.error("balancer.failed", { error });
    }
  }, config.rebalance.intervalMs);
  const control = controlRoutes({ registry, balancer, deploys, log });

  const handler = coordinatorHandler({
    role: config.role,
    staticDir: config.static_dir,
    auth: new OperatorAuth({
      token: config.operatorToken,
      host: config.host,
      log,
      countError: (code) => metrics.countError(code),
    }),
    diagnostics,
    control,
    extra: extraRoutes,
    state: () => clusterState(registry, gateways, config),
  });
  const http = await startHttp(
    config.host,
    config.port,
    config.adminPort > 0 ? publicOnly(handler) : handler,
    log,
    { traffic: metrics.http, tls },
  );
  const admin = config.adminPort > 0
    ? await startHttp(config.host, config.adminPort, handler, log, {
      traffic: metrics.http,
      name: "admin",
      tls,
    })
    : undefined;

  log.info("coordinator.listening", {
    grpcPort: rpc.port,
    httpPort: http.port,
    adminPort: admin?.port ?? http.port,
    host: config.host,
  });
  return {
    grpcPort: rpc.port,
    httpPort: http.port,
    registry,
    deploys,
    async close(options: CloseOptions = {}) {
      clearInterval(sweeper);
      clearInterval(balancing);
      clearInterval(deploying);
      service.close();
      await http.close(); // ends open event streams first
      await admin?.close();
      if (!options.exiting) await rpc.close();
      metrics.close();
      log.info("coordinator.closed");
    },
  };
}
