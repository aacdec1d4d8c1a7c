// The session gateway role, wiring only: registers with the coordinator, follows the map, keeps
// a Sessions stream to every worker, relays chat through the coordinator
// (src/session/coordinator_relay.ts), sends room requests to its directory, and serves the
// gateway HTTP API (src/session/gateway_api.ts) on its own port, or the coordinator's in role all.
import { openAccountStore } from "../src/session/account_store.ts";
import { PlayerSaves } from "../src/session/player_saves.ts";
import { OperatorAuth } from "../src/net/operator_auth.ts";
import { loadNodeTls, nodeTls, useNodeTls } from "../src/net/node_tls.ts";
import type { RelayedChat } from "../src/session/chat_relay.ts";
import { CoordinatorRelay } from "../src/session/coordinator_relay.ts";
import type { Config } from "../src/config/config.ts";
import { boundsOf, gridOf } from "../src/world/world_spec.ts";
import { startHttp } from "../src/net/http.ts";
import type { Logger } from "../src/observe/log.ts";
import { NodeMetrics } from "../src/observe/metrics.ts";
import { GatewayClusterView } from "../src/session/gateway_cluster_view.ts";
import type { CloseOptions, RegisterReply } from "../src/net/rpc.ts";
import { CoordinatorClient } from "../src/cluster/coordinator_client.ts";
import { SessionHub } from "../src/session/hub.ts";
import type { Grid } from "../src/world/grid.ts";
import type { WorldBounds } from "../src/protocol/client_protocol.ts";
import { sessionStreams } from "../src/session/hub_transport.ts";
import {
  gatewayHandler,
  gatewayNodeRoutes,
  type GatewayRoutes,
} from "../src/session/gateway_api.ts";
import { GatewayHandover } from "../src/session/gateway_handover.ts";
import { nodeVersion } from "../src/version.ts";

/** A running gateway. */
export interface GatewayHandle {
  id: string;
  /** Port of its own HTTP server (0 when it serves through the coordinator's). */
  httpPort: number;
  hub: SessionHub;
  /** The gateway's HTTP routes; undefined for paths it does not serve. */
  routes: GatewayRoutes;
  /** Resolves once a deploy drained this gateway's version and it handed every session over. */
  readonly drained: Promise<void>;
  close(options?: CloseOptions): Promise<void>;
}

/** Where the gateway's routes are served. */
export interface GatewayOptions {
  /** Serve on the coordinator's HTTP server at this host:port instead of starting one. */
  sharedHttpAddress?: string;
}

/** Starts a gateway and resolves once it is registered with the coordinator. */
export async function startGateway(
  config: Config,
  rootLog: Logger,
  options: GatewayOptions = {},
): Promise<GatewayHandle> {
  const log = rootLog.child("gateway", config.nodeId);
  useNodeTls(loadNodeTls(config.tls));
  const tls = nodeTls();
  const metrics = new NodeMetrics({ role: "gateway", node: config.nodeId });
  const accounts = await openAccountStore(config.storage, {
    connectMs: config.storageConnectMs,
  });
  const coordinatorClient = new CoordinatorClient({
    address: config.coordinator,
    secret: config.secret,
    log,
  });
  const closing = new AbortController();
  const cluster = new GatewayClusterView();
  const state: { hub?: SessionHub; grid?: Grid; world?: WorldBounds } = {};
  const auth = new OperatorAuth({
    token: config.operatorToken,
    host: config.host,
    log,
    countError: (code) => metrics.countError(code),
  });

  const routes = gatewayNodeRoutes({
    config,
    accounts,
    log,
    auth,
    cluster,
    self: () => id,
    hub: () => closing.signal.aborted ? undefined : state.hub,
    state,
    secure: tls !== undefined,
  });

  // Our own HTTP server, unless role all serves us on the coordinator's.
  const http = options.sharedHttpAddress ? undefined : await startHttp(
    config.host,
    config.port,
    gatewayHandler(routes, () => state.hub !== undefined, auth),
    log,
    { traffic: metrics.http, tls },
  );
  const httpAddress = options.sharedHttpAddress ?? `${config.advertiseHost}:${http!.port}`;

  // Register (retrying while the coordinator is not up yet).
  const request = { nodeId: config.nodeId, httpAddress, version: nodeVersion(config.version) };
  let reply: RegisterReply;
  try {
    reply = await coordinatorClient.register("RegisterGateway", request);
  } catch (error) {
    coordinatorClient.close();
    await accounts.close();
    await http?.close();
    throw new Error(
      `Cannot register gateway with ${config.coordinator}: ${(error as Error).message}`,
      { cause: error },
    );
  }
  const id = reply.workerId;
  request.nodeId = id;
  log.node = id;
  metrics.node = id;
  const world = reply.world;
  const grid = gridOf(world);
  state.grid = grid;
  state.world = boundsOf(world);

  // A Sessions stream to each worker: commands batched per worker, reports into the hub.
  const { links, outbox } = sessionStreams({
    self: id,
    secret: config.secret,
    log,
    countError: (code) => metrics.countError(code),
    onReport: (report) => hub.onReport(report),
  });

  const hub = new SessionHub({
    config: config.gateway,
    world,
    secret: config.secret,
    log,
    transport: {
      gatewayId: id,
      ownerAt: (x, y, z) => cluster.map.ownerOf(grid.cellOf(x, y, z)),
      workers: () => cluster.workers,
      send: (worker, command) => outbox.send(worker, command),
      relay: (chat: RelayedChat) => relay.write(chat),
    },
    directory: async (payload) =>
      (await coordinatorClient.call<{ payload: Uint8Array }>("Instances", { payload })).payload,
    saves: new PlayerSaves(accounts, log),
  });
  state.hub = hub;

  // A deploy replaced our version: hand the sessions over, then stop.
  const drained = Promise.withResolvers<void>();
  const handover = new GatewayHandover({
    self: id,
    hub,
    sessionsPerSecond: config.deploy.sessionsPerSecond,
    secure: tls !== undefined,
    onEmpty: () => {
      log.info("gateway.drained", {});
      drained.resolve();
    },
  });

  // Follow the map: who owns which cell, which workers to attach to, the gateway list.
  coordinatorClient.watch(id, (update) => {
    links.update(cluster.apply(update));
    handover.update(cluster.gateways);
  });

  const relay: CoordinatorRelay = new CoordinatorRelay({
    id,
    coordinator: () => coordinatorClient.client,
    log,
    onChat: (chat) => hub.onRelay(chat),
    countError: (code) => metrics.countError(code),
  });

  const beat = setInterval(() => {
    metrics.sessions = hub.size;
    void coordinatorClient.beat("GatewayHeartbeat", {
      gatewayId: id,
      sessions: hub.size,
      bytesOut: hub.counters.bytesOut,
    });
  }, reply.heartbeatMs);

  // Listening once the first map is in: a HELLO before it would be refused as "not ready".
  await cluster.ready(5_000);
  log.info("gateway.listening", { httpAddress, httpPort: http?.port ?? 0 });
  return {
    id,
    httpPort: http?.port ?? 0,
    hub,
    routes,
    drained: drained.promise,
    async close(closeOptions: CloseOptions = {}) {
      if (closing.signal.aborted) return;
      closing.abort();
      handover.close();
      clearInterval(beat);
      await hub.closeAll();
      relay.close();
      links.close(closeOptions);
      await http?.close();
      await accounts.close();
      metrics.close();
      coordinatorClient.close(closeOptions);
      log.info("gateway.closed");
    },
  };
}
