// The coordinator role: wires the registry and the rooms to its gRPC service and to HTTP
// (src/cluster/coordinator_http.ts; the operator's API optionally on its own admin port), runs
// the failure sweep and the balancer on timers while it is the active coordinator, and leaves
// durability and the pair to src/cluster/coordinator_durability.ts.
import { loadGame } from "../src/games/game_module.ts";
import { Balancer } from "../src/cluster/balance_policy.ts";
import type { Config } from "../src/config/config.ts";
import {
  coordinatorRoutes,
  type ExtraRoutes,
  serveCoordinator,
} from "../src/cluster/coordinator_http.ts";
import { loadNodeTls, nodeTls, useNodeTls } from "../src/net/node_tls.ts";
import { clusterEvent } from "../src/observe/diagnostics.ts";
import { gridOf, worldSpecOf } from "../src/world/world_spec.ts";
import type { Logger } from "../src/observe/log.ts";
import { NodeMetrics } from "../src/observe/metrics.ts";
import { Registry } from "../src/cluster/registry.ts";
import { GatewayDirectory } from "../src/cluster/gateway_directory.ts";
import { Deploys } from "../src/cluster/deploys.ts";
import { CoordinatorService } from "../src/cluster/coordinator_service.ts";
import { CoordinatorDurability } from "../src/cluster/coordinator_durability.ts";
import { coordinatorRooms } from "../src/cluster/instance_service.ts";
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
  const world = worldSpecOf(config, Date.now()); // tick 0 comes from the state file if stored
  const grid = gridOf(world);
  const metrics = new NodeMetrics({ role: "coordinator", node: log.node || "coordinator" });
  const events = new EventStreams(); // live cluster events for /api/events
  const gateways = new GatewayDirectory({ timeoutMs: config.workerTimeoutMs });
  const rooms = coordinatorRooms({
    config: config.instances,
    lostGraceMs: config.gateway.resumeGraceMs,
    game,
    world,
    registry: () => registry,
    hostsNewRooms: (version) => deploys.hostsNewRooms(version),
    onDestroyed: () => service.publish(),
    log,
  });
  const service: CoordinatorService = new CoordinatorService({
    config,
    log,
    registry: () => registry,
    gateways,
    deploys: () => deploys,
    world,
    game,
    instances: rooms,
  });
  const registry: Registry = new Registry({
    grid,
    load: config.load,
    minWorkers: config.minWorkers,
    workerTimeoutMs: config.workerTimeoutMs,
    streamGraceMs: config.workerStreamGraceMs,
    faultTolerance: config.faultTolerance.mode,
    instances: rooms.service.hosts,
    // Durable before announced: a map neither a restart nor the standby could load back is
    // never published.
    onMap: (map) => whenDurable(() => service.publish(map)),
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
    instancesOn: (worker) => rooms.directory.countOn(worker),
    onChange: () => whenDurable(() => service.publish()),
  });
  const balancer = new Balancer({
    grid,
    registry,
    rebalance: config.rebalance,
    autoscale: config.autoscale,
    minWorkers: config.minWorkers,
    holding: () => deploys.holding,
    placeable: (version) => deploys.placeable(version),
  });
  const durability = new CoordinatorDurability({
    config,
    log,
    registry,
    gateways,
    instances: rooms.directory,
    deploys,
    autoscale: { get: () => balancer.autoscale, set: (value) => (balancer.autoscale = value) },
    world,
    onActive: () => service.publish(),
    onStandby: () => service.endStreams(),
  });
  const { whenDurable, pair } = durability;
  // Often enough that the deploy rate holds with sub-second spacing between moves.
  const deployEveryMs = Math.max(50, Math.min(250, 1000 / config.deploy.cellsPerSecond));
  durability.whileActive("deploy.step", deployEveryMs, () => deploys.step());
  const rpc = await startRpcServer(config.host, config.grpcPort, {
    Coordinator: requireSecret(
      config.secret,
      durability.handlers(service.handlers()),
      (method) => {
        metrics.countError("UNAUTHENTICATED");
        log.warn("rpc.unauthenticated", { method });
      },
    ),
  });
  // Sweep often: a death is declared within one sweep of its deadline.
  const sweepEveryMs = Math.max(
    50,
    Math.min(config.heartbeatMs / 2, config.workerStreamGraceMs / 3 || Infinity),
  );
  durability.whileActive("sweep", sweepEveryMs, () => {
    registry.sweep();
    const gone = gateways.sweep();
    for (const id of gone) registry.event("gateway.down", { gateway: id });
    for (const id of gone) rooms.directory.gatewayDown(id);
    if (gone.length > 0) whenDurable(() => service.publish());
    rooms.service.sweep();
  });
  durability.whileActive("balancer", config.rebalance.intervalMs, () => balancer.step());
  const routes = coordinatorRoutes({
    config,
    log,
    metrics,
    registry,
    gateways,
    instances: rooms.directory,
    balancer,
    deploys,
    events,
    durability,
    extra: extraRoutes,
  });
  const { http, admin } = await serveCoordinator(config, routes.handler, log, {
    traffic: metrics.http,
    tls,
  });

  try {
    await durability.start(
      `${config.advertiseHost}:${rpc.port}`,
      `${config.advertiseHost}:${http.port}`,
    );
  } catch (error) {
    await Promise.all([http.close(), admin?.close(), rpc.close()]);
    durability.close();
    throw error;
  }
  log.info("coordinator.listening", {
    role: pair.role,
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
      durability.stop();
      routes.close();
      service.close();
      await http.close(); // ends open event streams first
      await admin?.close();
      if (!options.exiting) await rpc.close();
      durability.close();
      metrics.close();
      log.info("coordinator.closed");
    },
  };
}
