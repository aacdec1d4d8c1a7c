// The session gateway role: registers with the coordinator, follows the map, keeps a Sessions
// stream to every worker, relays chat through the coordinator, and serves POST /login,
// GET /gateways, the WebSocket /ws and the /play client (on its own port, or the coordinator's
// in role all).
import { AccountStore } from "../src/session/account_store.ts";
import { signToken } from "../src/session/login_tokens.ts";
import { decodeRelay, encodeRelay, type RelayedChat } from "../src/session/chat_relay.ts";
import { frameFormatOf } from "../src/protocol/client_protocol.ts";
import type { Config } from "../src/config/config.ts";
import { readJsonObject } from "../src/cluster/control_api.ts";
import { CodedError, ErrorCode } from "../src/errors.ts";
import { Grid } from "../src/world/grid.ts";
import { httpStatusOf, json, jsonError, serveStatic, startHttp } from "../src/net/http.ts";
import type { Logger } from "../src/observe/log.ts";
import { parseLoginRequest } from "../src/session/login_request.ts";
import { metricsResponse, NodeMetrics } from "../src/observe/metrics.ts";
import { PartitionMap } from "../src/world/partition.ts";
import { NODE_METADATA, PeerLinks } from "../src/sync/peer_links.ts";
import { type CloseOptions, type GatewayInfo, grpc, type RegisterReply } from "../src/net/rpc.ts";
import { CoordinatorClient } from "../src/cluster/coordinator_client.ts";
import { SessionHub } from "../src/session/hub.ts";
import { decodeReport, encodeCommands, type GatewayCommand } from "../src/session/session_wire.ts";
import { VERSION } from "../src/version.ts";

/** A running gateway. */
export interface GatewayHandle {
  id: string;
  /** Port of its own HTTP server (0 when it serves through the coordinator's). */
  httpPort: number;
  hub: SessionHub;
  /** The gateway's HTTP routes; undefined for paths it does not serve. */
  routes(request: Request, url: URL): Promise<Response> | undefined;
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
  const metrics = new NodeMetrics({ role: "gateway", node: config.nodeId });
  const accounts = new AccountStore({ path: config.storage });
  const coordinatorClient = new CoordinatorClient({
    address: config.coordinator,
    secret: config.secret,
    log,
  });
  const coordinator = coordinatorClient.client;
  const closing = new AbortController();
  let gateways: GatewayInfo[] = [];
  let map = PartitionMap.empty(0);
  let workers: string[] = [];
  const state: { hub?: SessionHub; links?: PeerLinks } = {};

  const routes = (request: Request, url: URL): Promise<Response> | undefined => {
    const path = url.pathname;
    if (path === "/gateways" && request.method === "GET") {
      return Promise.resolve(json({ gateways: listed() }));
    }
    if (path === "/login") return login(request).catch(loginError);
    if (path === "/ws") return Promise.resolve(upgrade(request, url));
    if (path === "/play" || path.startsWith("/play/")) {
      const file = path === "/play" ? "/play/" : path;
      return serveStatic(config.static_dir, file).then((r) =>
        r ?? jsonError(404, "NOT_FOUND", `No such path: ${path}`)
      );
    }
    return undefined;
  };

  const listed = () =>
    gateways.map((g) => ({
      id: g.id,
      url: `ws://${g.httpAddress}/ws`,
      version: g.version,
      sessions: g.sessions,
    }));

  const login = async (request: Request): Promise<Response> => {
    if (request.method !== "POST") {
      return jsonError(
        405,
        ErrorCode.METHOD_NOT_ALLOWED,
        `${request.method} is not allowed on /login; use POST`,
      );
    }
    const body = await readJsonObject(request, [
      "guest",
      "name",
      "username",
      "password",
      "register",
    ]);
    const parsed = parseLoginRequest(body);
    const expiresAt = Date.now() + config.gateway.tokenTtlMs;
    let sub: string, name: string;
    if (parsed.kind === "guest") {
      sub = `guest:${crypto.randomUUID()}`;
      name = parsed.name;
    } else {
      const account = parsed.register
        ? await accounts.register(parsed.username, parsed.password)
        : await accounts.verify(parsed.username, parsed.password);
      sub = `account:${account.id}`;
      name = account.username;
    }
    const token = signToken({ sub, name, kind: parsed.kind, exp: expiresAt }, config.secret);
    return json({ token, expiresAt, gateways: listed() });
  };

  const loginError = (error: unknown): Response => {
    if (error instanceof CodedError) {
      return jsonError(httpStatusOf(error.code), error.code, error.message);
    }
    log.error("login.failed", { error });
    return jsonError(500, ErrorCode.INTERNAL, "Internal error");
  };

  const upgrade = (request: Request, url: URL): Response => {
    if ((request.headers.get("upgrade") ?? "").toLowerCase() !== "websocket") {
      return jsonError(
        400,
        ErrorCode.BAD_REQUEST,
        "/ws is a WebSocket endpoint: send an Upgrade: websocket request",
      );
    }
    const hub = state.hub;
    if (!hub || closing.signal.aborted) {
      return jsonError(503, ErrorCode.UNAVAILABLE, "The gateway is not ready");
    }
    let format;
    try {
      format = frameFormatOf(url);
    } catch (error) {
      return jsonError(400, ErrorCode.BAD_REQUEST, (error as Error).message);
    }
    const { socket, response } = Deno.upgradeWebSocket(request, { idleTimeout: 0 });
    hub.accept(socket, format);
    return response;
  };

  // Our own HTTP server, unless role all serves us on the coordinator's.
  const http = options.sharedHttpAddress ? undefined : await startHttp(
    config.host,
    config.port,
    async (request, url) => {
      if (url.pathname === "/healthz") {
        return json({
          status: state.hub ? "ok" : "starting",
          role: "gateway",
        });
      }
      if (url.pathname === "/metrics") return await metricsResponse();
      return await (routes(request, url) ??
        jsonError(404, "NOT_FOUND", `No such path: ${url.pathname}`));
    },
    log,
    { traffic: metrics.http },
  );
  const httpAddress = options.sharedHttpAddress ?? `${config.advertiseHost}:${http!.port}`;

  // Register (retrying while the coordinator is not up yet).
  const request = { nodeId: config.nodeId, httpAddress, version: VERSION };
  let reply: RegisterReply;
  try {
    reply = await coordinatorClient.register("RegisterGateway", request);
  } catch (error) {
    coordinatorClient.close();
    accounts.close();
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
  const grid = new Grid({ dims: world.dims as 2 | 3, size: world.size, cellSize: world.cellSize });

  // Commands to workers, batched per worker until the end of the current task.
  const outbox = new Map<string, GatewayCommand[]>();
  let flushing = false;
  const send = (worker: string, command: GatewayCommand) => {
    const list = outbox.get(worker) ?? [];
    list.push(command);
    outbox.set(worker, list);
    if (flushing) return;
    flushing = true;
    setTimeout(() => {
      flushing = false;
      for (const [to, commands] of outbox) links.send(to, encodeCommands(id, commands));
      outbox.clear();
    }, 0);
  };

  let relay: grpc.ClientDuplexStream<{ payload: Uint8Array }, { payload: Uint8Array }> | undefined;
  const hub = new SessionHub({
    config: config.gateway,
    world,
    secret: config.secret,
    log,
    transport: {
      gatewayId: id,
      ownerAt: (x, y, z) => map.ownerOf(grid.cellOf(x, y, z)),
      workers: () => workers,
      send,
      relay: (chat: RelayedChat) => relay?.write({ payload: encodeRelay(chat) }),
    },
  });
  state.hub = hub;

  const links = new PeerLinks({
    self: id,
    secret: config.secret,
    log,
    link: { service: "Sessions", method: "Attach" },
    dials: () => true,
    onPayload(payload, worker) {
      try {
        const report = decodeReport(payload);
        if (report.worker !== worker) {
          throw new TypeError(
            `Cannot accept report: it claims ${report.worker} on ${worker}'s stream`,
          );
        }
        hub.onReport(report);
      } catch (error) {
        metrics.countError(ErrorCode.BAD_BATCH);
        log.error("report.rejected", { worker, error });
      }
    },
  });
  state.links = links;

  // Follow the map: who owns which cell, which workers to attach to, the gateway list.
  coordinatorClient.watch(id, (update) => {
    if (update.epoch >= map.epoch) map = new PartitionMap(update.epoch, update.owners);
    const live = update.workers.filter((w) =>
      w.state !== "down" && w.state !== "fenced" && w.state !== "drained"
    );
    workers = live.map((w) => w.id);
    links.update(live);
    gateways = update.gateways;
  });

  const openRelay = () => {
    if (closing.signal.aborted) return;
    const metadata = new grpc.Metadata();
    metadata.set(NODE_METADATA, id);
    const call = (coordinator as unknown as {
      Relay(
        m: grpc.Metadata,
      ): grpc.ClientDuplexStream<{ payload: Uint8Array }, { payload: Uint8Array }>;
    }).Relay(metadata);
    relay = call;
    call.on("data", (message: { payload?: unknown }) => {
      try {
        if (!(message?.payload instanceof Uint8Array)) {
          throw new TypeError("Cannot relay: no payload");
        }
        hub.onRelay(decodeRelay(message.payload));
      } catch (error) {
        metrics.countError(ErrorCode.BAD_BATCH);
        log.warn("relay.rejected", { error });
      }
    });
    const lost = () => {
      if (relay !== call) return;
      relay = undefined;
      if (!closing.signal.aborted) setTimeout(openRelay, 1_000);
    };
    call.on("error", lost);
    call.on("end", lost);
  };
  openRelay();

  const beat = setInterval(() => {
    metrics.sessions = hub.size;
    void coordinatorClient.beat("GatewayHeartbeat", { gatewayId: id, sessions: hub.size });
  }, reply.heartbeatMs);

  log.info("gateway.listening", { httpAddress, httpPort: http?.port ?? 0 });
  return {
    id,
    httpPort: http?.port ?? 0,
    hub,
    routes,
    async close(closeOptions: CloseOptions = {}) {
      if (closing.signal.aborted) return;
      closing.abort();
      clearInterval(beat);
      hub.closeAll();
      relay?.cancel();
      links.close(closeOptions);
      await http?.close();
      accounts.close();
      metrics.close();
      coordinatorClient.close(closeOptions);
      log.info("gateway.closed");
    },
  };
}
