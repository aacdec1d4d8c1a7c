// gRPC plumbing for every role: loading proto/zonescaler.proto, servers that demand the cluster
// secret on every call, clients that send it, and typed message shapes.
import * as grpc from "@grpc/grpc-js";
import * as protoLoader from "@grpc/proto-loader";
import { createHash, timingSafeEqual } from "node:crypto";

/** Metadata key carrying the cluster secret on every inter-node call. */
export const SECRET_METADATA = "zs-secret";

/** World parameters the coordinator hands every worker at registration. */
export interface WorldSpec {
  dims: number;
  size: number[];
  cellSize: number;
  tickHz: number;
  aoiRadius: number;
  ghostMargin: number;
  worldStartMs: number;
}

export interface RegisterRequest {
  nodeId: string;
  grpcAddress: string;
  httpAddress: string;
  version: string;
  pool: boolean;
}

export interface RegisterReply {
  workerId: string;
  workerIndex: number;
  world: WorldSpec;
  game: Uint8Array;
  heartbeatMs: number;
  /** A worker whose last acknowledged heartbeat is older than this stops writing. */
  workerTimeoutMs: number;
  /** Replica mode: full mirror updates every N ticks; 0 = no replication. */
  replicationTicks: number;
}

export interface CellLoad {
  cell: number;
  entities: number;
  players: number;
  interactions: number;
}

export interface HeartbeatRequest {
  workerId: string;
  tick: number;
  epoch: number;
  cells: CellLoad[];
  ghosts: number;
  tickP50Ms: number;
  tickP99Ms: number;
  pendingTransfers: number;
  pendingHandoffs: number;
  mirrored: number;
}

export interface HeartbeatReply {
  epoch: number;
}

export interface WorkerInfo {
  id: string;
  grpcAddress: string;
  state: string;
}

export interface GatewayInfo {
  id: string;
  httpAddress: string;
  version: string;
  sessions: number;
}

export interface MapUpdate {
  epoch: number;
  owners: string[];
  workers: WorkerInfo[];
  gateways: GatewayInfo[];
  /** Owner worker id → its backup (replica mode). */
  backups: Record<string, string>;
}

export interface BatchMessage {
  payload: Uint8Array;
}

const PROTO_PATH = `${import.meta.dirname}/../../proto/zonescaler.proto`;

let loaded: grpc.GrpcObject | undefined;

/** The package `zonescaler` of the proto, loaded once per isolate. */
export function protoPackage(): grpc.GrpcObject {
  if (!loaded) {
    const definition = protoLoader.loadSync(PROTO_PATH, {
      keepCase: false,
      longs: Number,
      enums: String,
      defaults: true,
      arrays: true,
    });
    loaded = grpc.loadPackageDefinition(definition).zonescaler as grpc.GrpcObject;
  }
  return loaded;
}

function serviceDefinition(name: "Coordinator" | "Peer" | "Sessions"): grpc.ServiceDefinition {
  const ctor = protoPackage()[name] as grpc.ServiceClientConstructor;
  return ctor.service;
}

function digest(value: string): Uint8Array {
  return createHash("sha256").update(value).digest();
}

/** Constant-time check of the secret carried in call metadata. */
export function hasSecret(metadata: grpc.Metadata, secretDigest: Uint8Array): boolean {
  const values = metadata.get(SECRET_METADATA);
  if (values.length !== 1 || typeof values[0] !== "string") return false;
  return timingSafeEqual(digest(values[0]), secretDigest);
}

const UNAUTHENTICATED: Partial<grpc.StatusObject> = {
  code: grpc.status.UNAUTHENTICATED,
  details: "UNAUTHENTICATED: missing or wrong cluster secret",
};

type AnyCall =
  & { metadata: grpc.Metadata; emit(event: string, ...args: unknown[]): boolean }
  & Partial<{ on(event: string, fn: (...args: unknown[]) => void): unknown }>;
// deno-lint-ignore no-explicit-any -- grpc-js handler signatures differ per call type
type Handler = (call: any, callback?: any) => void;

/** Wraps each handler so calls without the cluster secret end with UNAUTHENTICATED. */
export function requireSecret(
  secret: string,
  implementation: Record<string, Handler>,
  onRefused?: (method: string) => void,
): grpc.UntypedServiceImplementation {
  const secretDigest = digest(secret);
  const guarded: grpc.UntypedServiceImplementation = {};
  for (const [method, handler] of Object.entries(implementation)) {
    guarded[method] = ((call: AnyCall, callback?: grpc.sendUnaryData<unknown>) => {
      if (hasSecret(call.metadata, secretDigest)) return handler(call, callback);
      onRefused?.(method);
      if (callback) {
        callback(UNAUTHENTICATED as grpc.ServiceError, null);
      } else {
        // Streaming calls end with a status when an error is emitted on them.
        call.on?.("error", () => {});
        call.emit("error", UNAUTHENTICATED);
      }
    }) as grpc.UntypedHandleCall;
  }
  return guarded;
}

/** Services a node serves; each must be wrapped by {@linkcode requireSecret}. */
export interface ServiceImplementations {
  Coordinator?: grpc.UntypedServiceImplementation;
  Peer?: grpc.UntypedServiceImplementation;
  Sessions?: grpc.UntypedServiceImplementation;
}

/** A started gRPC server and the port it is bound to. */
export interface RpcServer {
  server: grpc.Server;
  port: number;
  /** Graceful shutdown (GOAWAY to every client, then wait briefly for in-flight calls). */
  close(): Promise<void>;
}

/**
 * How a role's handle closes. `exiting: true` means the process (or thread) ends right after:
 * every stream is still ended at the application level, but the HTTP/2 GOAWAY exchange is
 * skipped and the OS closes the sockets. Deno 2.9's nghttp2 can abort the process while it
 * processes a GOAWAY (denoland/deno#36788), which no JavaScript can catch.
 */
export interface CloseOptions {
  exiting?: boolean;
}

/** Binds a server on host:port (0 = ephemeral) serving the given services. */
export async function startRpcServer(
  host: string,
  port: number,
  services: ServiceImplementations,
): Promise<RpcServer> {
  const server = new grpc.Server({
    "grpc.max_receive_message_length": 16 * 1024 * 1024,
    "grpc.keepalive_time_ms": 10_000,
    "grpc.keepalive_timeout_ms": 5_000,
  });
  if (services.Coordinator) {
    server.addService(serviceDefinition("Coordinator"), services.Coordinator);
  }
  if (services.Peer) server.addService(serviceDefinition("Peer"), services.Peer);
  if (services.Sessions) server.addService(serviceDefinition("Sessions"), services.Sessions);
  const bound = await new Promise<number>((resolve, reject) => {
    server.bindAsync(
      `${host}:${port}`,
      grpc.ServerCredentials.createInsecure(),
      (error, actual) => error ? reject(error) : resolve(actual),
    );
  });
  return {
    server,
    port: bound,
    close: () =>
      new Promise<void>((resolve) => {
        // Give in-flight calls a moment, then cut the rest.
        const timer = setTimeout(() => server.forceShutdown(), 1_000);
        server.tryShutdown(() => {
          clearTimeout(timer);
          resolve();
        });
      }),
  };
}

function secretInterceptor(secret: string): grpc.Interceptor {
  return (options, nextCall) =>
    new grpc.InterceptingCall(nextCall(options), {
      start(metadata, listener, next) {
        metadata.set(SECRET_METADATA, secret);
        next(metadata, listener);
      },
    });
}

/** A client of `service` at `address` that sends `secret` on every call ("" sends none). */
export function rpcClient(
  service: "Coordinator" | "Peer" | "Sessions",
  address: string,
  secret: string,
): grpc.Client {
  const ctor = protoPackage()[service] as grpc.ServiceClientConstructor;
  return new ctor(address, grpc.credentials.createInsecure(), {
    interceptors: secret ? [secretInterceptor(secret)] : [],
    "grpc.max_receive_message_length": 16 * 1024 * 1024,
    "grpc.keepalive_time_ms": 10_000,
    "grpc.keepalive_timeout_ms": 5_000,
  });
}

/** Calls a unary method with a deadline and resolves with its reply. */
export function unary<Req, Res>(
  client: grpc.Client,
  method: string,
  request: Req,
  timeoutMs = 5_000,
): Promise<Res> {
  return new Promise<Res>((resolve, reject) => {
    const fn = (client as unknown as Record<string, unknown>)[method];
    if (typeof fn !== "function") {
      reject(new TypeError(`Cannot call ${method}: no such method on the client`));
      return;
    }
    fn.call(
      client,
      request,
      { deadline: Date.now() + timeoutMs },
      (error: grpc.ServiceError | null, reply: Res) => error ? reject(error) : resolve(reply),
    );
  });
}

/** The gRPC status code of an error from a call, or undefined for other errors. */
export function statusOf(error: unknown): grpc.status | undefined {
  if (typeof error === "object" && error !== null && "code" in error) {
    const code = (error as { code: unknown }).code;
    if (typeof code === "number") return code as grpc.status;
  }
  return undefined;
}

export { grpc };
