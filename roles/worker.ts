// The worker role: wires the gRPC services (gateways' Sessions, peers' Sync), the HTTP API and
// the coordinator client to the worker's runtime (space, tick, reports, fencing).
import { loadGame } from "../src/games/game_module.ts";
import type { Config } from "../src/config/config.ts";
import { startHttp } from "../src/net/http.ts";
import { OperatorAuth } from "../src/net/operator_auth.ts";
import { loadNodeTls, useNodeTls } from "../src/net/node_tls.ts";
import type { Logger } from "../src/observe/log.ts";
import { NodeMetrics } from "../src/observe/metrics.ts";
import {
  type CloseOptions,
  grpc,
  type RegisterReply,
  type RegisterRequest,
  requireSecret,
  startRpcServer,
} from "../src/net/rpc.ts";
import type { Space } from "../src/sim/space.ts";
import { nodeVersion } from "../src/version.ts";
import { CoordinatorClient } from "../src/cluster/coordinator_client.ts";
import { GatewayStreams } from "../src/sim/session_service.ts";
import { workerRoutes } from "../src/sim/worker_api.ts";
import { WorkerRuntime } from "../src/sim/worker_runtime.ts";

/** A running worker. */
export interface WorkerHandle {
  id: string;
  grpcPort: number;
  httpPort: number;
  /** The current space (a new one after the worker was fenced and rejoined). */
  readonly space: Space;
  close(options?: CloseOptions): Promise<void>;
  /**
   * Asks the coordinator to move every cell away, waits until they are all handed over and
   * acknowledged (at most drainTimeoutMs), then leaves the cluster. False when it could not.
   */
  drain(): Promise<boolean>;
  /** Resolves when the worker was drained (by drain() or by the coordinator's drain API). */
  readonly drained: Promise<void>;
}

/** Options of {@linkcode startWorker}. */
export interface WorkerOptions {
  /** How an injected kill ends this worker (default: SIGKILL to this process). */
  kill?: () => void;
}

/** Starts a worker and resolves once it is registered with the coordinator. */
export async function startWorker(
  config: Config,
  rootLog: Logger,
  options: WorkerOptions = {},
): Promise<WorkerHandle> {
  const log = rootLog.child("worker", config.nodeId);
  const game = await loadGame(config);
  useNodeTls(loadNodeTls(config.tls));
  const metrics = new NodeMetrics({ role: "worker", node: config.nodeId });
  // Filled in once registered; the servers start first so their ports can be registered.
  const started: { runtime?: WorkerRuntime } = {};
  const gateways = new GatewayStreams({
    log,
    space: () => started.runtime?.status === "ok" ? started.runtime.space : undefined,
    onRejected: () => metrics.countError("BAD_BATCH"),
    route: (gateway, command) => {
      const runtime = started.runtime;
      if (runtime?.status !== "ok") return false;
      // The world's own players never look through the instances.
      if (command.op !== "join" && runtime.space.owned.has(command.entity)) return false;
      return runtime.instances.route(gateway, command);
    },
    onAttached: (gateway) => {
      const runtime = started.runtime;
      if (runtime?.status !== "ok") return;
      let players = runtime.space.resync(gateway);
      for (const room of runtime.instances.spaces().values()) players += room.resync(gateway);
      if (players > 0) log.info("gateway.resynced", { gateway, players });
    },
  });
  const refused = (method: string) => {
    metrics.countError("UNAUTHENTICATED");
    log.warn("rpc.unauthenticated", { method });
  };
  const rpc = await startRpcServer(config.host, config.grpcPort, {
    Sessions: requireSecret(config.secret, gateways.service(), refused),
    Peer: requireSecret(config.secret, {
      Sync(call: grpc.ServerDuplexStream<{ payload: Uint8Array }, { payload: Uint8Array }>) {
        if (started.runtime) return started.runtime.links.accept(call);
        call.on("error", () => {});
        call.emit("error", { code: grpc.status.UNAVAILABLE, details: "worker not registered yet" });
      },
    }, refused),
  });
  const http = await startHttp(
    config.host,
    config.port,
    workerRoutes(
      {
        space: () => started.runtime?.space,
        links: () => started.runtime?.links,
        instances: () => started.runtime?.instances.spaces() ?? new Map(),
        badBatches: () => started.runtime?.badBatches ?? 0,
        status: () => started.runtime?.status ?? "starting",
        faults: () => {
          const runtime = started.runtime;
          if (!runtime) return undefined;
          return {
            id: runtime.id,
            pause: () => runtime.pause(),
            resume: () => runtime.resume(),
            cut: (peer) => runtime.links.cut(peer),
            heal: (peer) => runtime.links.heal(peer),
            kill: () => {
              log.warn("worker.killed", { by: "fault injection" });
              (options.kill ?? (() => Deno.kill(Deno.pid, "SIGKILL")))();
            },
          };
        },
      },
      new OperatorAuth({
        token: config.operatorToken,
        host: config.host,
        log,
        countError: (code) => metrics.countError(code),
      }),
    ),
    log,
    { traffic: metrics.http },
  );

  const coordinator = new CoordinatorClient({
    address: config.coordinator,
    secret: config.secret,
    log,
  });
  const request: RegisterRequest = {
    nodeId: config.nodeId,
    grpcAddress: `${config.advertiseHost}:${rpc.port}`,
    httpAddress: `${config.advertiseHost}:${http.port}`,
    version: nodeVersion(config.version),
    region: config.region,
    pool: config.pool,
    incarnation: crypto.randomUUID(),
    gameName: game.name,
    gameVersion: game.version,
  };
  let reply: RegisterReply;
  try {
    reply = await coordinator.register("Register", request);
  } catch (error) {
    coordinator.close();
    await Promise.all([rpc.close(), http.close()]);
    throw error;
  }
  const id = reply.workerId;
  log.node = id;
  metrics.node = id;
  request.nodeId = id; // register again under the same id (coordinator restart, fencing)
  const live = new WorkerRuntime({
    config,
    log,
    metrics,
    coordinator,
    request,
    reply,
    gateways,
    game,
  });
  started.runtime = live;

  log.info("worker.listening", {
    grpcPort: rpc.port,
    httpPort: http.port,
    index: reply.workerIndex,
  });
  let closed = false;
  return {
    id,
    grpcPort: rpc.port,
    httpPort: http.port,
    get space() {
      return live.space;
    },
    drained: live.drained,
    drain: () => live.drain(),
    async close(options: CloseOptions = {}) {
      if (closed) return;
      closed = true;
      live.close(options);
      coordinator.close(options);
      gateways.close();
      await http.close();
      metrics.close();
      if (!options.exiting) await rpc.close();
      log.info("worker.closed");
    },
  };
}
