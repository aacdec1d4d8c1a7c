// The coordinator role: wires the registry to its gRPC service (src/cluster/coordinator_service.ts)
// and to HTTP (src/cluster/coordinator_http.ts: /healthz, /readyz, /api/state, the control and
// diagnostics APIs, the static page, behind the operator token; the operator's API optionally on
// its own admin port), runs the failure sweep and the balancer on timers while it is the active
// coordinator, makes every change durable (its state file, and the standby's acknowledgement)
// before announcing it, and takes its place in an active/standby pair (coordinator_pair.ts).
import { loadGame } from "../src/games/game_module.ts";
import { Balancer } from "../src/cluster/balance_policy.ts";
import type { Config } from "../src/config/config.ts";
import { controlRoutes, coordinatorAccess, publicOnly } from "../src/cluster/control_api.ts";
import { coordinatorHandler, type ExtraRoutes } from "../src/cluster/coordinator_http.ts";
import { OperatorAuth } from "../src/net/operator_auth.ts";
import { loadNodeTls, nodeTls, useNodeTls } from "../src/net/node_tls.ts";
import { clusterEvent, diagnosticsRoutes } from "../src/observe/diagnostics.ts";
import { gridOf, worldSpecOf } from "../src/world/world_spec.ts";
import { jsonError, startHttp } from "../src/net/http.ts";
import type { Logger } from "../src/observe/log.ts";
import { NodeMetrics } from "../src/observe/metrics.ts";
import { Registry } from "../src/cluster/registry.ts";
import { GatewayDirectory } from "../src/cluster/gateway_directory.ts";
import { CoordinatorService } from "../src/cluster/coordinator_service.ts";
import { answerAfterCommit, CoordinatorState } from "../src/cluster/coordinator_state.ts";
import { CoordinatorPair } from "../src/cluster/coordinator_pair.ts";
import { LogShipping } from "../src/cluster/log_shipping.ts";
import { StateStore } from "../src/cluster/state_store.ts";
import { InstanceDirectory } from "../src/cluster/instance_directory.ts";
import { InstanceService } from "../src/cluster/instance_service.ts";
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
  const directory = new InstanceDirectory({
    emptyGraceMs: config.instances.emptyGraceMs,
    lostGraceMs: config.gateway.resumeGraceMs,
  });
  const rooms = new InstanceService({
    directory,
    config: config.instances,
    game,
    world,
    workers: () =>
      [...registry.workers.values()].filter((w) => w.state === "active").map((w) => ({
        id: w.id,
        version: w.version,
        entities: w.cells.reduce((n, c) => n + c.entities, 0),
      })),
    onDestroyed: () => service.publish(),
    log,
  });
  const service: CoordinatorService = new CoordinatorService({
    config,
    log,
    registry: () => registry,
    gateways,
    world,
    game,
    instances: { directory, service: rooms },
  });
  const registry: Registry = new Registry({
    grid,
    load: config.load,
    minWorkers: config.minWorkers,
    workerTimeoutMs: config.workerTimeoutMs,
    streamGraceMs: config.workerStreamGraceMs,
    faultTolerance: config.faultTolerance.mode,
    // Durable before announced: a map neither a restart nor the standby could load back is
    // never published.
    onMap: (map) => whenDurable(() => service.publish(map)),
    onEvent: (event) => {
      const { kind, seq: _seq, time: _time, ...fields } = event;
      log.info(kind, fields);
      if (kind === "cell.migrated") metrics.countMigration();
      if (kind === "worker.down" || kind === "worker.left") rooms.workerGone(String(fields.worker));
      events.publish(clusterEvent(event));
    },
  });
  metrics.watchCoordinator(registry);
  const balancer = new Balancer({
    grid,
    registry,
    rebalance: config.rebalance,
    autoscale: config.autoscale,
    minWorkers: config.minWorkers,
  });
  const durable: CoordinatorState = new CoordinatorState({
    store: StateStore.open(config.coordinatorState, grid.cellCount),
    registry,
    gateways,
    autoscale: { get: () => balancer.autoscale, set: (value) => (balancer.autoscale = value) },
    world,
    instances: directory,
  });
  const stored = durable.read();
  const self = { address: "", httpAddress: "" }; // known once the servers listen
  const shipping = new LogShipping({
    state: durable,
    log,
    self,
    keepaliveMs: Math.max(20, Math.floor(config.standbyTakeoverMs / 5)),
    ackTimeoutMs: config.standbyTakeoverMs,
  });
  /** Runs `announce` once every change so far is durable, here and on the standby. */
  const whenDurable = (announce: () => void) => shipping.after(durable.commit(), announce);
  const pair: CoordinatorPair = new CoordinatorPair({
    standbyOf: config.standbyOf,
    takeoverMs: config.standbyTakeoverMs,
    secret: config.secret,
    log,
    state: durable,
    shipping,
    cellCount: grid.cellCount,
    self,
    stored,
    onActive: (takeover) => {
      if (takeover) {
        registry.event("coordinator.takeover", {
          from: takeover.from,
          term: takeover.term,
          silentMs: takeover.silentMs,
          epoch: registry.map.epoch,
        });
      }
      whenDurable(() => service.publish());
    },
    onStandby: () => service.endStreams(),
  });
  const diagnostics = diagnosticsRoutes({
    registry,
    log,
    events,
    operatorToken: config.operatorToken,
  });

  const rpc = await startRpcServer(config.host, config.grpcPort, {
    Coordinator: requireSecret(
      config.secret,
      pair.gate(
        answerAfterCommit({
          ...service.handlers(),
          Follow: (call: Parameters<LogShipping["follow"]>[0]) => shipping.follow(call),
        }, whenDurable),
      ),
      (method) => {
        metrics.countError("UNAUTHENTICATED");
        log.warn("rpc.unauthenticated", { method });
      },
    ),
  });
  // Sweep often: a death is declared within one sweep of its deadline.
  const sweeper = setInterval(() => {
    if (pair.role !== "active") return;
    registry.sweep();
    const gone = gateways.sweep();
    for (const id of gone) {
      registry.event("gateway.down", { gateway: id });
      directory.gatewayDown(id);
    }
    if (gone.length > 0) whenDurable(() => service.publish());
    rooms.sweep();
    durable.commit();
  }, Math.max(50, Math.min(config.heartbeatMs / 2, config.workerStreamGraceMs / 3 || Infinity)));
  const balancing = setInterval(() => {
    if (pair.role !== "active") return;
    try {
      balancer.step();
    } catch (error) {
      log.error("balancer.failed", { error });
    }
    durable.commit();
  }, config.rebalance.intervalMs);
  const control = controlRoutes({ registry, balancer, log });

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
    // A control request (moves, drains, autoscale) is answered once what it changed is durable.
    control: (request, url) =>
      pair.role !== "active" && coordinatorAccess(request, url) === "write"
        ? Promise.resolve(standbyRefusal(pair.summary().activeHttp))
        : control(request, url)?.then((response) =>
          new Promise<Response>((resolve) => whenDurable(() => resolve(response)))
        ),
    extra: extraRoutes,
    state: () => ({ ...clusterState(registry, gateways, config), coordinator: pair.summary() }),
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

  self.address = `${config.advertiseHost}:${rpc.port}`;
  self.httpAddress = `${config.advertiseHost}:${http.port}`;
  try {
    await pair.start();
  } catch (error) {
    await Promise.all([http.close(), admin?.close(), rpc.close()]);
    durable.store.close();
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
    async close(options: CloseOptions = {}) {
      clearInterval(sweeper);
      clearInterval(balancing);
      pair.close();
      shipping.close();
      service.close();
      await http.close(); // ends open event streams first
      await admin?.close();
      if (!options.exiting) await rpc.close();
      durable.store.close();
      metrics.close();
      log.info("coordinator.closed");
    },
  };
}

/** A control request sent to the standby: 503 naming the active's HTTP address. */
function standbyRefusal(activeHttp: string): Response {
  return jsonError(
    503,
    "STANDBY",
    `This coordinator is the standby: send operator requests to the active${
      activeHttp ? ` at ${activeHttp}` : ""
    }`,
  );
}
