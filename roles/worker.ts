// The worker role: registers with the coordinator, follows the partition map, runs the space's
// fixed-rate tick, exchanges batches with peers over gRPC and reports load by heartbeat.
import { decodeBatch, encodeBatch } from "../src/sync/batch_codec.ts";
import type { Config } from "../src/config/config.ts";
import { loadGame } from "../src/games/game_module.ts";
import { gameErrorReporter, guardGame } from "../src/sim/game_guard.ts";
import { spaceWorldOf } from "../src/world/world_spec.ts";
import { json, jsonError, startHttp } from "../src/net/http.ts";
import type { Logger } from "../src/observe/log.ts";
import { metricsResponse, NodeMetrics } from "../src/observe/metrics.ts";
import { PartitionMap } from "../src/world/partition.ts";
import { NODE_METADATA, PeerLinks } from "../src/sync/peer_links.ts";
import { decodeCommands, encodeReport } from "../src/session/session_wire.ts";

type SessionStream = grpc.ServerDuplexStream<{ payload: Uint8Array }, { payload: Uint8Array }>;
import {
  type CloseOptions,
  grpc,
  type MapUpdate,
  type RegisterReply,
  type RegisterRequest,
  requireSecret,
  rpcClient,
  startRpcServer,
  statusOf,
  unary,
} from "../src/net/rpc.ts";
import { Space } from "../src/sim/space.ts";
import { TickClock, ticksToRun } from "../src/sim/tick_clock.ts";
import { DurationRing } from "../src/sim/tick_stats.ts";
import { VERSION } from "../src/version.ts";
import { decode } from "../src/protocol/msgpack.ts";

/** A running worker. */
export interface WorkerHandle {
  id: string;
  grpcPort: number;
  httpPort: number;
  space: Space;
  close(options?: CloseOptions): Promise<void>;
  /**
   * Asks the coordinator to move every cell away, waits until they are all handed over and
   * acknowledged (at most drainTimeoutMs), then leaves the cluster. False when it could not.
   */
  drain(): Promise<boolean>;
  /** Resolves when the worker was drained (by drain() or by the coordinator's drain API). */
  readonly drained: Promise<void>;
}

const MAX_CATCH_UP = 5;

function delay(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(resolve, ms);
    signal.addEventListener("abort", () => (clearTimeout(timer), resolve()), { once: true });
  });
}

/** Starts a worker and resolves once it is registered with the coordinator. */
export async function startWorker(config: Config, rootLog: Logger): Promise<WorkerHandle> {
  const log = rootLog.child("worker", config.nodeId);
  const game = await loadGame(config);
  const stop = new AbortController();
  const badBatches = { count: 0 };
  const metrics = new NodeMetrics({ role: "worker", node: config.nodeId });
  // Filled in once registered; the servers start first so their ports can be registered.
  const live: { space?: Space; links?: PeerLinks } = {};

  // Gateways attached to this worker: one stream each, by gateway id.
  const gatewayStreams = new Map<string, SessionStream>();
  const rpc = await startRpcServer(config.host, config.grpcPort, {
    Sessions: requireSecret(config.secret, {
      Attach(call: SessionStream) {
        const values = call.metadata.get(NODE_METADATA);
        const gateway = typeof values[0] === "string" ? values[0] : "";
        call.on("error", (error) => log.debug("gateway.stream_error", { gateway, error }));
        const space = live.space;
        if (!gateway || !space) {
          call.emit("error", {
            code: gateway ? grpc.status.UNAVAILABLE : grpc.status.INVALID_ARGUMENT,
            details: gateway
              ? "worker not registered yet"
              : `Attach needs ${NODE_METADATA} metadata`,
          });
          return;
        }
        gatewayStreams.get(gateway)?.end();
        gatewayStreams.set(gateway, call);
        log.info("gateway.attached", { gateway });
        call.on("data", (message: { payload?: unknown }) => {
          const payload = message?.payload;
          try {
            if (!(payload instanceof Uint8Array)) {
              throw new TypeError("Cannot accept commands: no payload");
            }
            const { gateway: from, commands } = decodeCommands(payload);
            if (from !== gateway) {
              throw new TypeError(
                `Cannot accept commands: they claim to be from ${from} on ${gateway}'s stream`,
              );
            }
            for (const command of commands) space.command(gateway, command);
          } catch (error) {
            metrics.countError("BAD_BATCH");
            log.error("commands.rejected", { gateway, error });
          }
        });
        const gone = () => {
          if (gatewayStreams.get(gateway) !== call) return;
          gatewayStreams.delete(gateway);
          log.info("gateway.detached", { gateway });
        };
        call.on("end", gone);
        call.on("close", gone);
        call.on("cancelled", gone);
      },
    }, (method) => {
      metrics.countError("UNAUTHENTICATED");
      log.warn("rpc.unauthenticated", { method });
    }),
    Peer: requireSecret(config.secret, {
      Sync(call: grpc.ServerDuplexStream<{ payload: Uint8Array }, { payload: Uint8Array }>) {
        const links = live.links;
        if (!links) {
          call.on("error", () => {});
          call.emit("error", {
            code: grpc.status.UNAVAILABLE,
            details: "worker not registered yet",
          });
          return;
        }
        links.accept(call);
      },
    }, (method) => {
      metrics.countError("UNAUTHENTICATED");
      log.warn("rpc.unauthenticated", { method });
    }),
  });

  const http = await startHttp(
    config.host,
    config.port,
    (_request, url) => {
      if (url.pathname === "/metrics") return metricsResponse();
      const { space, links } = live;
      if (url.pathname === "/healthz") {
        return json({ status: space ? "ok" : "starting", role: "worker", id: space?.id ?? "" });
      }
      if (!space) return jsonError(503, "UNAVAILABLE", "worker not registered yet");
      const since = Number(url.searchParams.get("since") ?? 0);
      if (!Number.isSafeInteger(since) || since < 0) {
        return jsonError(
          400,
          "BAD_REQUEST",
          `since must be a non-negative integer, got ${url.searchParams.get("since")}`,
        );
      }
      switch (url.pathname) {
        case "/api/state":
          return json({
            id: space.id,
            epoch: space.map.epoch,
            tick: space.tick,
            owned: [...space.owned.values()].map((e) => [e.id, e.x, e.y, e.z, e.cell]),
            ghosts: [...space.ghosts.ghosts.values()].map((e) => [e.id, e.x, e.y, e.z, e.owner]),
            counters: {
              ...space.counters,
              badBatches: badBatches.count,
              linkDrops: links?.dropped ?? 0,
            },
            links: links?.connected() ?? [],
          });
        case "/api/ownership":
          return json({ tick: space.tick, events: space.ownershipSince(since) });
        case "/api/interactions":
          return json({ tick: space.tick, events: space.interactionsSince(since) });
        default:
          return jsonError(404, "NOT_FOUND", `No such path: ${url.pathname}`);
      }
    },
    log,
    { traffic: metrics.http },
  );

  const coordinator = rpcClient("Coordinator", config.coordinator, config.secret);
  const request: RegisterRequest = {
    nodeId: config.nodeId,
    grpcAddress: `${config.advertiseHost}:${rpc.port}`,
    httpAddress: `${config.advertiseHost}:${http.port}`,
    version: VERSION,
    pool: config.pool,
    gameName: game.name,
    gameVersion: game.version,
  };

  const register = async (): Promise<RegisterReply> => {
    for (let attempt = 1;; attempt++) {
      try {
        return await unary<RegisterRequest, RegisterReply>(coordinator, "Register", request, 3_000);
      } catch (error) {
        const status = statusOf(error);
        if (status === grpc.status.UNAUTHENTICATED) {
          throw new Error(
            `Cannot register with ${config.coordinator}: the cluster secret was refused`,
            {
              cause: error,
            },
          );
        }
        if (status === grpc.status.FAILED_PRECONDITION) {
          // A different game: retrying cannot help (src/games/game_module.ts, gameMismatch).
          throw new Error((error as { details?: string }).details ?? String(error), {
            cause: error,
          });
        }
        if (stop.signal.aborted) throw new Error("closed before registering", { cause: error });
        if (attempt === 1 || attempt % 20 === 0) {
          log.warn("register.retry", { coordinator: config.coordinator, attempt, error });
        }
        await delay(500, stop.signal);
      }
    }
  };

  let reply: RegisterReply;
  try {
    reply = await register();
  } catch (error) {
    coordinator.close();
    await Promise.all([rpc.close(), http.close()]);
    throw error;
  }
  const id = reply.workerId;
  log.node = id;
  metrics.node = id;
  request.nodeId = id; // re-register under the same id after a coordinator restart
  const world = reply.world;
  const { grid, ...timings } = spaceWorldOf(world);
  const liveSpace = new Space({
    id,
    index: reply.workerIndex,
    grid,
    ...timings,
    resumeGraceMs: config.gateway.resumeGraceMs,
    timings: config.space,
    spatialIndex: config.spatialIndex,
    game: guardGame(
      game.definition,
      gameErrorReporter(log, () => metrics.countError("GAME_ERROR")),
    ),
    gameOptions: decode(reply.game),
    seed: game.seed,
    log,
  });
  live.space = liveSpace;
  const peers = new PeerLinks({
    self: id,
    secret: config.secret,
    log,
    onPayload(payload, peer) {
      try {
        const batch = decodeBatch(payload);
        if (batch.from !== peer) {
          throw new TypeError(
            `Cannot accept batch: it claims to be from ${batch.from} on ${peer}'s link`,
          );
        }
        liveSpace.receive(batch);
      } catch (error) {
        badBatches.count++;
        metrics.countError("BAD_BATCH");
        log.error("batch.rejected", { peer, bytes: payload.length, error });
      }
    },
    onPeerRemoved(peer) {
      const dropped = liveSpace.peerGone(peer);
      log.info("peer.removed", { peer, ghostsDropped: dropped });
    },
  });
  live.links = peers;
  metrics.watchWorker(liveSpace, peers.traffic);

  // Follow the partition map.
  const watch = () => {
    if (stop.signal.aborted) return;
    const call = (coordinator as unknown as {
      WatchMap(request: { nodeId: string }): grpc.ClientReadableStream<MapUpdate>;
    }).WatchMap({ nodeId: id });
    call.on("data", (update: MapUpdate) => {
      if (update.epoch > liveSpace.map.epoch || update.epoch === liveSpace.map.epoch) {
        if (update.epoch !== liveSpace.map.epoch) {
          log.info("map.epoch", {
            epoch: update.epoch,
            cells: update.owners.filter((o) => o === id).length,
          });
        }
        liveSpace.setMap(new PartitionMap(update.epoch, update.owners));
      }
      peers.update(update.workers);
      liveSpace.players.gatewaysAlive(update.gateways.map((g) => g.id));
      myState = update.workers.find((w) => w.id === id)?.state ?? myState;
      checkDrained();
    });
    call.on("error", (error) => {
      if (!stop.signal.aborted) log.warn("watch.error", { error });
    });
    call.on("end", () => {
      if (!stop.signal.aborted) setTimeout(watch, 1_000);
    });
    stopWatch = () => call.cancel();
  };
  let stopWatch = () => {};
  // Resolved when the coordinator reports this worker drained (all cells moved, acknowledged)
  // and it has left the cluster.
  const drained = { ...Promise.withResolvers<void>(), settled: false };
  let myState = "";
  const checkDrained = () => {
    if (drained.settled || myState !== "drained" || !liveSpace.empty) return;
    drained.settled = true;
    unary(coordinator, "Leave", { workerId: id })
      .catch((error) => log.warn("leave.failed", { error }))
      .finally(() => {
        log.info("worker.drained");
        drained.resolve();
      });
  };
  watch();

  const clock = new TickClock(world.worldStartMs, world.tickHz);
  const durations = new DurationRing(1024);
  // Load reports, sent from the tick loop every heartbeatMs worth of ticks.
  const reportTicks = Math.max(1, Math.round(reply.heartbeatMs / clock.periodMs));
  let nextReport = 0;
  let lastReportAt = performance.now();
  const heartbeat = async () => {
    const seconds = Math.max(0.001, (performance.now() - lastReportAt) / 1000);
    lastReportAt = performance.now();
    const interactions = liveSpace.takeInteractionCounts();
    const cells = [...liveSpace.entitiesPerCell()].map(([cell, entities]) => ({
      cell,
      entities,
      players: 0,
      interactions: Math.round((interactions.get(cell) ?? 0) / seconds),
    }));
    try {
      await unary(coordinator, "Heartbeat", {
        workerId: id,
        tick: liveSpace.tick,
        epoch: liveSpace.map.epoch,
        cells,
        ghosts: liveSpace.ghosts.size,
        tickP50Ms: durations.percentile(0.5),
        tickP99Ms: durations.percentile(0.99),
        pendingTransfers: liveSpace.pendingTransfers,
      }, 2_000);
    } catch (error) {
      if (stop.signal.aborted) return;
      if (statusOf(error) === grpc.status.NOT_FOUND) {
        log.warn("heartbeat.unknown", { note: "coordinator forgot us; registering again" });
        await unary(coordinator, "Register", request, 3_000).catch((e) =>
          log.warn("register.failed", { error: e })
        );
      } else {
        log.warn("heartbeat.failed", { error });
      }
    }
  };

  // The fixed-rate tick on the global clock.
  let last = clock.current();
  let timer: ReturnType<typeof setTimeout> | undefined;
  const runTick = (tick: number) => {
    const started = performance.now();
    const out = liveSpace.step(tick);
    for (const [peer, batch] of out) peers.send(peer, encodeBatch(batch));
    for (const [gateway, report] of liveSpace.takeReports()) {
      gatewayStreams.get(gateway)?.write({ payload: encodeReport(report) });
    }
    const ms = performance.now() - started;
    durations.add(ms);
    if (myState === "drained") checkDrained();
    metrics.observeTick(ms / 1000);
    last = tick;
    // Every worker reports at the same global ticks, so the coordinator's sums are exact.
    if (tick >= nextReport) {
      nextReport = (Math.floor(tick / reportTicks) + 1) * reportTicks;
      void heartbeat();
    }
  };
  const loop = () => {
    if (stop.signal.aborted) return;
    const { from, to } = ticksToRun(last, clock.current(), MAX_CATCH_UP);
    if (from > last + 1) log.warn("tick.skipped", { skipped: from - last - 1, at: from });
    // One tick per turn of the event loop: a worker catching up still answers its peers,
    // gateways, heartbeats and HTTP between ticks.
    if (from <= to) runTick(from);
    const behind = clock.current() > last;
    timer = setTimeout(loop, behind ? 0 : Math.max(1, clock.msUntil(last + 1)));
  };
  loop();

  log.info("worker.listening", {
    grpcPort: rpc.port,
    httpPort: http.port,
    index: reply.workerIndex,
  });
  return {
    id,
    grpcPort: rpc.port,
    httpPort: http.port,
    space: liveSpace,
    drained: drained.promise,
    async drain() {
      try {
        const reply = await unary<{ workerId: string }, { cells: number }>(coordinator, "Drain", {
          workerId: id,
        });
        log.info("drain.started", { cells: reply.cells });
      } catch (error) {
        log.warn("drain.refused", { error, note: "stopping without moving cells" });
        return false;
      }
      let timer: ReturnType<typeof setTimeout> | undefined;
      const timedOut = new Promise<boolean>((resolve) => {
        timer = setTimeout(() => resolve(false), config.drainTimeoutMs);
      });
      const done = await Promise.race([drained.promise.then(() => true), timedOut]);
      clearTimeout(timer);
      if (!done) {
        log.error("drain.timeout", { ms: config.drainTimeoutMs, owned: liveSpace.owned.size });
      }
      return done;
    },
    async close(options: CloseOptions = {}) {
      if (stop.signal.aborted) return;
      stop.abort();
      clearTimeout(timer);
      stopWatch();
      peers.close(options);
      for (const call of gatewayStreams.values()) call.end();
      gatewayStreams.clear();
      await http.close();
      metrics.close();
      if (!options.exiting) {
        coordinator.close();
        await rpc.close();
      }
      log.info("worker.closed");
    },
  };
}
