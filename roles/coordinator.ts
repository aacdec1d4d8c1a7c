// The coordinator role: wires the registry to its gRPC service (register, heartbeat, watch the
// partition map) and to HTTP (/healthz, /api/state, the diagnostics API of src/observe/diagnostics.ts
// and the static diagnostics page).
import { Balancer } from "../src/cluster/balance_policy.ts";
import type { Config } from "../src/config/config.ts";
import { controlRoutes } from "../src/cluster/control_api.ts";
import { CodedError } from "../src/errors.ts";
import { clusterEvent, diagnosticsRoutes } from "../src/observe/diagnostics.ts";
import { gridOf, worldSpecOf, worldSummary } from "../src/world/world_spec.ts";
import { workerLoads } from "../src/cluster/load_estimate.ts";
import { json, jsonError, serveStatic, startHttp } from "../src/net/http.ts";
import type { Logger } from "../src/observe/log.ts";
import { NodeMetrics } from "../src/observe/metrics.ts";
import type { PartitionMap } from "../src/world/partition.ts";
import { Registry } from "../src/cluster/registry.ts";
import { GatewayDirectory } from "../src/cluster/gateway_directory.ts";
import { EventStreams } from "../src/observe/sse.ts";
import {
  type CloseOptions,
  grpc,
  type HeartbeatRequest,
  type MapUpdate,
  type RegisterReply,
  type RegisterRequest,
  requireSecret,
  startRpcServer,
} from "../src/net/rpc.ts";
import { encode } from "../src/protocol/msgpack.ts";
import { gameMismatch, loadGame } from "../src/games/game_module.ts";

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
  const game = await loadGame(config);
  const worldSpec = worldSpecOf(config, Date.now());
  const grid = gridOf(worldSpec);
  const watchers = new Set<grpc.ServerWritableStream<unknown, MapUpdate>>();
  const metrics = new NodeMetrics({ role: "coordinator", node: log.node || "coordinator" });
  const events = new EventStreams(); // live cluster events for /api/events
  const registry: Registry = new Registry({
    grid,
    load: config.load,
    minWorkers: config.minWorkers,
    workerTimeoutMs: config.workerTimeoutMs,
    onMap: (map) => {
      const update = mapUpdate(map);
      for (const call of watchers) call.write(update);
    },
    onEvent: (event) => {
      const { kind, seq: _seq, time: _time, ...fields } = event;
      log.info(kind, fields);
      if (kind === "cell.migrated") metrics.countMigration();
      events.publish(clusterEvent(event));
    },
  });
  metrics.watchCoordinator(registry);
  const diagnostics = diagnosticsRoutes({ registry, log, events });

  const mapUpdate = (map: PartitionMap): MapUpdate => ({
    epoch: map.epoch,
    owners: [...map.owners],
    workers: [...registry.workers.values()].map((w) => ({
      id: w.id,
      grpcAddress: w.grpcAddress,
      state: w.state,
    })),
    gateways: gateways.list().map((g) => ({
      id: g.id,
      httpAddress: g.httpAddress,
      version: g.version,
      sessions: g.sessions,
    })),
  });
  const gateways = new GatewayDirectory({ timeoutMs: config.workerTimeoutMs });
  const publish = () => {
    const update = mapUpdate(registry.map);
    for (const call of watchers) call.write(update);
  };
  // Chat relay between gateways: what one gateway sends, every other one receives.
  const relays = new Map<
    string,
    grpc.ServerDuplexStream<{ payload: Uint8Array }, { payload: Uint8Array }>
  >();

  const service = requireSecret(config.secret, {
    Register(
      call: grpc.ServerUnaryCall<RegisterRequest, RegisterReply>,
      callback: grpc.sendUnaryData<RegisterReply>,
    ) {
      const request = call.request;
      if (!request.grpcAddress) {
        callback({ code: grpc.status.INVALID_ARGUMENT, details: "grpc_address is required" });
        return;
      }
      const mismatch = gameMismatch(request, game);
      if (mismatch) {
        log.warn("worker.refused", { address: request.grpcAddress, reason: mismatch });
        callback({ code: grpc.status.FAILED_PRECONDITION, details: mismatch });
        return;
      }
      const record = registry.register(request);
      callback(null, {
        workerId: record.id,
        workerIndex: record.index,
        world: worldSpec,
        game: encode(game.options),
        heartbeatMs: config.heartbeatMs,
      });
    },
    Heartbeat(
      call: grpc.ServerUnaryCall<HeartbeatRequest, { epoch: number }>,
      callback: grpc.sendUnaryData<{ epoch: number }>,
    ) {
      const r = call.request;
      if (!registry.heartbeat(r.workerId, r)) {
        callback({
          code: grpc.status.NOT_FOUND,
          details: `NOT_FOUND: worker ${r.workerId} is not registered`,
        });
        return;
      }
      callback(null, { epoch: registry.map.epoch });
    },
    Drain(
      call: grpc.ServerUnaryCall<{ workerId: string }, { cells: number; epoch: number }>,
      callback: grpc.sendUnaryData<{ cells: number; epoch: number }>,
    ) {
      try {
        const moves = registry.drain(call.request.workerId);
        callback(null, { cells: moves.length, epoch: registry.map.epoch });
      } catch (error) {
        callback(rpcError(error));
      }
    },
    Leave(
      call: grpc.ServerUnaryCall<{ workerId: string }, Record<string, never>>,
      callback: grpc.sendUnaryData<Record<string, never>>,
    ) {
      try {
        registry.leave(call.request.workerId);
        callback(null, {});
      } catch (error) {
        callback(rpcError(error));
      }
    },
    RegisterGateway(
      call: grpc.ServerUnaryCall<{ nodeId: string; httpAddress: string; version: string }, unknown>,
      callback: grpc.sendUnaryData<unknown>,
    ) {
      if (!call.request.httpAddress) {
        callback({ code: grpc.status.INVALID_ARGUMENT, details: "http_address is required" });
        return;
      }
      const record = gateways.register(call.request);
      registry.event("gateway.joined", {
        gateway: record.id,
        address: record.httpAddress,
        version: record.version,
      });
      callback(null, {
        workerId: record.id,
        workerIndex: 0,
        world: worldSpec,
        game: new Uint8Array(),
        heartbeatMs: config.heartbeatMs,
      });
      publish();
    },
    GatewayHeartbeat(
      call: grpc.ServerUnaryCall<{ gatewayId: string; sessions: number }, { epoch: number }>,
      callback: grpc.sendUnaryData<{ epoch: number }>,
    ) {
      if (!gateways.heartbeat(call.request.gatewayId, call.request.sessions)) {
        callback({
          code: grpc.status.NOT_FOUND,
          details: `NOT_FOUND: gateway ${call.request.gatewayId} is not registered`,
        });
        return;
      }
      callback(null, { epoch: registry.map.epoch });
    },
    Relay(call: grpc.ServerDuplexStream<{ payload: Uint8Array }, { payload: Uint8Array }>) {
      const values = call.metadata.get("zs-node");
      const from = typeof values[0] === "string" ? values[0] : "";
      call.on("error", (error) => log.debug("relay.error", { error }));
      if (!from) {
        call.emit("error", {
          code: grpc.status.INVALID_ARGUMENT,
          details: "Relay needs zs-node metadata",
        });
        return;
      }
      relays.set(from, call);
      call.on("data", (message: { payload?: unknown }) => {
        const payload = message?.payload;
        if (
          !(payload instanceof Uint8Array) || payload.length === 0 ||
          payload.length > MAX_RELAY_BYTES
        ) {
          log.warn("relay.rejected", {
            from,
            bytes: payload instanceof Uint8Array ? payload.length : 0,
          });
          return;
        }
        for (const [id, other] of relays) if (id !== from) other.write({ payload });
      });
      const gone = () => relays.get(from) === call && relays.delete(from);
      call.on("end", gone);
      call.on("close", gone);
      call.on("cancelled", gone);
    },
    WatchMap(call: grpc.ServerWritableStream<{ nodeId: string }, MapUpdate>) {
      call.on("error", (error) => log.debug("watch.error", { error }));
      call.on("cancelled", () => watchers.delete(call));
      call.on("close", () => watchers.delete(call));
      watchers.add(call);
      call.write(mapUpdate(registry.map));
    },
  }, (method) => {
    metrics.countError("UNAUTHENTICATED");
    log.warn("rpc.unauthenticated", { method });
  });

  const rpc = await startRpcServer(config.host, config.grpcPort, { Coordinator: service });
  const sweeper = setInterval(() => {
    registry.sweep();
    const gone = gateways.sweep();
    for (const id of gone) registry.event("gateway.down", { gateway: id });
    if (gone.length > 0) publish();
  }, Math.max(100, config.heartbeatMs / 2));
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
      if (url.pathname === "/api/state") {
        const cellLoads = registry.cellLoads();
        const loads = workerLoads(registry.map.owners, cellLoads, registry.workers.keys());
        return json({
          epoch: registry.map.epoch,
          world: worldSummary(worldSpec),
          workers: [...registry.workers.values()].map((w) => ({
            id: w.id,
            grpcAddress: w.grpcAddress,
            httpAddress: w.httpAddress,
            version: w.version,
            state: w.state,
            cells: registry.map.cellsOf(w.id).length,
            entities: w.cells.reduce((n, c) => n + c.entities, 0),
            load: Math.round((loads.get(w.id) ?? 0) * 10) / 10,
            ghosts: w.ghosts,
            tick: w.tick,
            tickP50Ms: w.tickP50Ms,
            tickP99Ms: w.tickP99Ms,
            lastHeartbeatMsAgo: Date.now() - w.lastHeartbeat,
          })),
          map: { epoch: registry.map.epoch, owners: registry.map.owners },
          entitiesPerCell: registry.entitiesPerCell(),
          gateways: gateways.list().map((g) => ({
            id: g.id,
            httpAddress: g.httpAddress,
            version: g.version,
            sessions: g.sessions,
            lastHeartbeatMsAgo: Date.now() - g.lastHeartbeat,
          })),
          loadPerCell: Array.from(cellLoads, (l) => Math.round(l * 10) / 10),
          migrations: [...registry.migrations.values()],
          events: registry.eventsSince(0).slice(-50),
        });
      }
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
      for (const call of watchers) call.end();
      for (const call of relays.values()) call.end();
      relays.clear();
      watchers.clear();
      await http.close(); // ends open event streams first
      if (!options.exiting) await rpc.close();
      metrics.close();
      log.info("coordinator.closed");
    },
  };
}

const GRPC_STATUS: Record<string, grpc.status> = {
  NOT_FOUND: grpc.status.NOT_FOUND,
  CONFLICT: grpc.status.FAILED_PRECONDITION,
  NO_CAPACITY: grpc.status.RESOURCE_EXHAUSTED,
  BAD_REQUEST: grpc.status.INVALID_ARGUMENT,
};

/** A gRPC status for an error, its stable code leading the details. */
function rpcError(error: unknown): Partial<grpc.StatusObject> {
  if (error instanceof CodedError) {
    return {
      code: GRPC_STATUS[error.code] ?? grpc.status.INTERNAL,
      details: `${error.code}: ${error.message}`,
    };
  }
  return { code: grpc.status.INTERNAL, details: `INTERNAL: ${(error as Error).message}` };
}

/** Largest chat line relayed between gateways, in bytes. */
const MAX_RELAY_BYTES = 4096;
