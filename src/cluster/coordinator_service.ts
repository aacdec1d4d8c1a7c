// The coordinator's gRPC service: workers and gateways register and beat, follow the map over
// WatchMap (a worker's broken stream is a hint of its death), drain and leave; gateways relay
// chat to each other. Transport glue around the Registry and the GatewayDirectory.
import { gameMismatch, type LoadedGame } from "../games/game_module.ts";
import type { Config } from "../config/config.ts";
import { CodedError } from "../errors.ts";
import type { Logger } from "../observe/log.ts";
import type { PartitionMap } from "../world/partition.ts";
import type { Registry } from "./registry.ts";
import type { GatewayDirectory } from "./gateway_directory.ts";
import type { Deploys } from "./deploys.ts";
import { FENCED } from "./coordinator_client.ts";
import {
  grpc,
  type HeartbeatRequest,
  type MapUpdate,
  type RegisterReply,
  type RegisterRequest,
  type requireSecret,
  type WorldSpec,
} from "../net/rpc.ts";
import { encode } from "../protocol/msgpack.ts";
import type { InstanceDirectory } from "./instance_directory.ts";
import { type InstanceService, placementMessage } from "./instance_service.ts";

/** Handlers as requireSecret takes them. */
type Handlers = Parameters<typeof requireSecret>[1];
type Duplex = grpc.ServerDuplexStream<{ payload: Uint8Array }, { payload: Uint8Array }>;

/** Largest chat line relayed between gateways, in bytes. */
const MAX_RELAY_BYTES = 4096;

/** Options of {@linkcode CoordinatorService}. */
export interface CoordinatorServiceOptions {
  config: Config;
  log: Logger;
  registry: () => Registry;
  gateways: GatewayDirectory;
  /** Version records: every registration is noted, the gateway list follows the live one. */
  deploys: () => Deploys;
  world: WorldSpec;
  /** The cluster's game: workers running another are refused. */
  game: LoadedGame;
  /** Rooms: the directory the map lists instances from, and the Instances RPC. */
  instances?: { directory: InstanceDirectory; service: InstanceService };
}

/** The Coordinator service's handlers and the open map streams they publish to. */
export class CoordinatorService {
  #o: CoordinatorServiceOptions;
  #watchers = new Set<grpc.ServerWritableStream<unknown, MapUpdate>>();
  #relays = new Map<string, Duplex>();
  #closing = false;
  /** The last map published: a new watcher starts from it, never from one not yet durable. */
  #announced?: PartitionMap;

  constructor(options: CoordinatorServiceOptions) {
    this.#o = options;
  }

  /** The map as it goes on the wire: owners, workers, gateways, backups. */
  mapUpdate(map: PartitionMap): MapUpdate {
    const registry = this.#o.registry();
    return {
      epoch: map.epoch,
      owners: [...map.owners],
      workers: [...registry.workers.values()].map((w) => ({
        id: w.id,
        grpcAddress: w.grpcAddress,
        state: w.state,
        gameVersion: w.gameVersion,
      })),
      gateways: this.#o.deploys().listGateways(this.#o.gateways.list()).map((g) => ({
        id: g.id,
        httpAddress: g.httpAddress,
        version: g.version,
        sessions: g.sessions,
        draining: g.draining,
      })),
      backups: Object.fromEntries(map.backups),
      instances: [...this.#o.instances?.directory.all() ?? []].map(placementMessage),
      instanceSeq: this.#o.instances?.directory.seq ?? 0,
    };
  }

  /** Sends the map to every watcher. */
  publish(map: PartitionMap = this.#o.registry().map): void {
    this.#announced = map;
    const update = this.mapUpdate(map);
    for (const call of this.#watchers) call.write(update);
  }

  /** Ends every stream. */
  close(): void {
    this.#closing = true;
    this.endStreams();
  }

  /**
   * Ends every map and relay stream (a coordinator stepping down: its watchers go to the
   * active) and forgets the last announced map.
   */
  endStreams(): void {
    const closing = this.#closing;
    this.#closing = true; // streams ended here are no hint of a worker's death
    for (const call of this.#watchers) call.end();
    for (const call of this.#relays.values()) call.end();
    this.#watchers.clear();
    this.#relays.clear();
    this.#announced = undefined;
    this.#closing = closing;
  }

  /** The handlers (wrap them with requireSecret). */
  handlers(): Handlers {
    const { config, log, gateways, world, game } = this.#o;
    const deploys = () => this.#o.deploys();
    const registry = () => this.#o.registry();
    const reply = (workerId: string, index: number, game: Uint8Array): RegisterReply => ({
      workerId,
      workerIndex: index,
      world,
      game,
      heartbeatMs: config.heartbeatMs,
      workerTimeoutMs: config.workerTimeoutMs,
      epoch: registry().map.epoch,
      replicationTicks: config.faultTolerance.mode === "replica"
        ? config.faultTolerance.replicationTicks
        : 0,
    });
    return {
      Register(
        call: grpc.ServerUnaryCall<RegisterRequest, RegisterReply>,
        callback: grpc.sendUnaryData<RegisterReply>,
      ) {
        if (!call.request.grpcAddress) {
          return callback({
            code: grpc.status.INVALID_ARGUMENT,
            details: "grpc_address is required",
          });
        }
        // Another game is never admitted; another version of this one only across a deploy.
        const mismatch = call.request.gameName === game.name
          ? deploys().gameRefusal(call.request, game)
          : gameMismatch(call.request, game);
        if (mismatch) {
          log.warn("worker.refused", { address: call.request.grpcAddress, reason: mismatch });
          return callback({ code: grpc.status.FAILED_PRECONDITION, details: mismatch });
        }
        deploys().seen(call.request.version, call.request.gameVersion);
        const record = registry().register(call.request);
        callback(null, reply(record.id, record.index, encode(game.options)));
      },
      Heartbeat(
        call: grpc.ServerUnaryCall<HeartbeatRequest, { epoch: number }>,
        callback: grpc.sendUnaryData<{ epoch: number }>,
      ) {
        const r = call.request;
        if (r.epoch > registry().map.epoch) {
          // Every announced epoch was durable first: a newer one means a lost write (a bug).
          log.error("worker.epoch_ahead", {
            worker: r.workerId,
            reported: r.epoch,
            epoch: registry().map.epoch,
          });
        }
        const outcome = registry().heartbeat(r.workerId, r);
        if (outcome === "unknown") {
          return callback({
            code: grpc.status.NOT_FOUND,
            details: `NOT_FOUND: worker ${r.workerId} is not registered`,
          });
        }
        if (outcome === "fenced") {
          return callback({
            code: grpc.status.FAILED_PRECONDITION,
            details: `${FENCED}: worker ${r.workerId} was declared down and its cells given ` +
              "away; drop your state and register again as a spare",
          });
        }
        callback(null, { epoch: registry().map.epoch });
      },
      Drain(
        call: grpc.ServerUnaryCall<{ workerId: string }, { cells: number; epoch: number }>,
        callback: grpc.sendUnaryData<{ cells: number; epoch: number }>,
      ) {
        try {
          const moves = registry().drain(call.request.workerId);
          callback(null, { cells: moves.length, epoch: registry().map.epoch });
        } catch (error) {
          callback(rpcError(error));
        }
      },
      Leave(
        call: grpc.ServerUnaryCall<{ workerId: string }, Record<string, never>>,
        callback: grpc.sendUnaryData<Record<string, never>>,
      ) {
        try {
          registry().leave(call.request.workerId);
          callback(null, {});
        } catch (error) {
          callback(rpcError(error));
        }
      },
      RegisterGateway: (
        call: grpc.ServerUnaryCall<
          { nodeId: string; httpAddress: string; version: string },
          unknown
        >,
        callback: grpc.sendUnaryData<unknown>,
      ) => {
        if (!call.request.httpAddress) {
          return callback({
            code: grpc.status.INVALID_ARGUMENT,
            details: "http_address is required",
          });
        }
        deploys().seen(call.request.version);
        const record = gateways.register(call.request);
        registry().event("gateway.joined", {
          gateway: record.id,
          address: record.httpAddress,
          version: record.version,
        });
        callback(null, reply(record.id, 0, new Uint8Array()));
        this.publish();
      },
      GatewayHeartbeat(
        call: grpc.ServerUnaryCall<
          { gatewayId: string; sessions: number; bytesOut?: number },
          { epoch: number }
        >,
        callback: grpc.sendUnaryData<{ epoch: number }>,
      ) {
        const { gatewayId, sessions, bytesOut } = call.request;
        if (!gateways.heartbeat(gatewayId, sessions, bytesOut ?? 0)) {
          return callback({
            code: grpc.status.NOT_FOUND,
            details: `NOT_FOUND: gateway ${call.request.gatewayId} is not registered`,
          });
        }
        callback(null, { epoch: registry().map.epoch });
      },
      Relay: (call: Duplex) => this.#relay(call, log),
      Instances: (
        call: grpc.ServerUnaryCall<{ payload: Uint8Array }, { payload: Uint8Array }>,
        callback: grpc.sendUnaryData<{ payload: Uint8Array }>,
      ) => {
        const service = this.#o.instances?.service;
        const payload = call.request?.payload;
        if (!service || !(payload instanceof Uint8Array)) {
          return callback({ code: grpc.status.INVALID_ARGUMENT, details: "no payload" });
        }
        callback(null, { payload: service.handle(payload) });
      },
      WatchMap: (call: grpc.ServerWritableStream<{ nodeId: string }, MapUpdate>) => {
        const node = String(call.request?.nodeId ?? "");
        call.on("error", (error) => log.debug("watch.error", { error }));
        let attached = true;
        const gone = () => {
          this.#watchers.delete(call);
          if (!attached || this.#closing) return;
          attached = false;
          // A TCP reset (kill -9) ends the stream at once: the first sign of a death.
          if (node) registry().streamLost(node);
        };
        call.on("cancelled", gone);
        call.on("close", gone);
        this.#watchers.add(call);
        if (node) registry().streamAttached(node);
        call.write(this.mapUpdate(this.#announced ?? registry().map));
      },
    };
  }

  /** Chat relay between gateways: what one gateway sends, every other one receives. */
  #relay(call: Duplex, log: Logger): void {
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
    this.#relays.set(from, call);
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
      for (const [id, other] of this.#relays) if (id !== from) other.write({ payload });
    });
    const gone = () => this.#relays.get(from) === call && this.#relays.delete(from);
    call.on("end", gone);
    call.on("close", gone);
    call.on("cancelled", gone);
  }
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
