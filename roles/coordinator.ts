// The coordinator role: wires the registry to its gRPC service (register, heartbeat, watch the
// partition map) and to HTTP (/healthz, /api/state, the static diagnostics files).
import type { Config } from "../src/config.ts";
import { Grid } from "../src/grid.ts";
import { json, jsonError, serveStatic, startHttp } from "../src/http.ts";
import type { Logger } from "../src/log.ts";
import type { PartitionMap } from "../src/partition.ts";
import { Registry } from "../src/registry.ts";
import {
  type CloseOptions,
  grpc,
  type HeartbeatRequest,
  type MapUpdate,
  type RegisterReply,
  type RegisterRequest,
  requireSecret,
  startRpcServer,
} from "../src/rpc.ts";
import { encode } from "../src/wire.ts";

/** A running coordinator. */
export interface CoordinatorHandle {
  grpcPort: number;
  httpPort: number;
  registry: Registry;
  close(options?: CloseOptions): Promise<void>;
}

/** Starts the coordinator's gRPC and HTTP servers. */
export async function startCoordinator(config: Config, log: Logger): Promise<CoordinatorHandle> {
  const grid = new Grid(config.world);
  const worldStartMs = Date.now();
  const watchers = new Set<grpc.ServerWritableStream<unknown, MapUpdate>>();
  const registry: Registry = new Registry({
    grid,
    minWorkers: config.minWorkers,
    workerTimeoutMs: config.workerTimeoutMs,
    onMap: (map) => {
      const update = mapUpdate(map);
      for (const call of watchers) call.write(update);
    },
    onEvent: ({ kind, seq: _seq, time: _time, ...fields }) => log.info(kind, fields),
  });

  const mapUpdate = (map: PartitionMap): MapUpdate => ({
    epoch: map.epoch,
    owners: [...map.owners],
    workers: [...registry.workers.values()].map((w) => ({
      id: w.id,
      grpcAddress: w.grpcAddress,
      state: w.state,
    })),
  });

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
      const record = registry.register(request);
      callback(null, {
        workerId: record.id,
        workerIndex: record.index,
        world: {
          dims: config.world.dims,
          size: config.world.size,
          cellSize: config.world.cellSize,
          tickHz: config.tickHz,
          aoiRadius: config.aoiRadius,
          ghostMargin: config.ghostMargin,
          worldStartMs,
        },
        game: encode(config.game),
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
    WatchMap(call: grpc.ServerWritableStream<{ nodeId: string }, MapUpdate>) {
      call.on("error", (error) => log.debug("watch.error", { error }));
      call.on("cancelled", () => watchers.delete(call));
      call.on("close", () => watchers.delete(call));
      watchers.add(call);
      call.write(mapUpdate(registry.map));
    },
  }, (method) => log.warn("rpc.unauthenticated", { method }));

  const rpc = await startRpcServer(config.host, config.grpcPort, { Coordinator: service });
  const sweeper = setInterval(() => registry.sweep(), Math.max(100, config.heartbeatMs / 2));

  const http = await startHttp(config.host, config.port, async (request, url) => {
    if (request.method !== "GET" && request.method !== "HEAD") {
      return jsonError(
        405,
        "METHOD_NOT_ALLOWED",
        `${request.method} is not allowed on ${url.pathname}`,
      );
    }
    if (url.pathname === "/healthz") return json({ status: "ok", role: "coordinator" });
    if (url.pathname === "/api/state") {
      return json({
        epoch: registry.map.epoch,
        world: {
          ...config.world,
          tickHz: config.tickHz,
          aoiRadius: config.aoiRadius,
          ghostMargin: config.ghostMargin,
        },
        workers: [...registry.workers.values()].map((w) => ({
          id: w.id,
          grpcAddress: w.grpcAddress,
          httpAddress: w.httpAddress,
          version: w.version,
          state: w.state,
          cells: registry.map.cellsOf(w.id).length,
          entities: w.cells.reduce((n, c) => n + c.entities, 0),
          ghosts: w.ghosts,
          tick: w.tick,
          tickP50Ms: w.tickP50Ms,
          tickP99Ms: w.tickP99Ms,
          lastHeartbeatMsAgo: Date.now() - w.lastHeartbeat,
        })),
        map: { epoch: registry.map.epoch, owners: registry.map.owners },
        entitiesPerCell: registry.entitiesPerCell(),
        events: registry.eventsSince(0).slice(-50),
      });
    }
    const file = await serveStatic(config.static_dir, url.pathname);
    return file ?? jsonError(404, "NOT_FOUND", `No such path: ${url.pathname}`);
  }, log);

  log.info("coordinator.listening", { grpcPort: rpc.port, httpPort: http.port, host: config.host });
  return {
    grpcPort: rpc.port,
    httpPort: http.port,
    registry,
    async close(options: CloseOptions = {}) {
      clearInterval(sweeper);
      for (const call of watchers) call.end();
      watchers.clear();
      await http.close();
      if (!options.exiting) await rpc.close();
      log.info("coordinator.closed");
    },
  };
}
