// The inter-node gRPC surface every role imports: message shapes of proto/zonescaler.proto,
// the cluster-secret guard, and the transport of this folder (gRPC-Web framing over Deno's
// native HTTP/2; see docs/architecture.md for why not @grpc/grpc-js).
import { createHash, timingSafeEqual } from "node:crypto";
import { type Metadata, SECRET_METADATA } from "./call_metadata.ts";
import { status } from "./grpc_status.ts";
import type { Implementation } from "./rpc_server.ts";

export { Metadata, SECRET_METADATA } from "./call_metadata.ts";
export { RpcError, status, type StatusObject, statusOf } from "./grpc_status.ts";
export {
  type Implementation,
  type RpcServer,
  type ServiceImplementations,
  startRpcServer,
} from "./rpc_server.ts";
export { ClientCall, RpcClient, rpcClient, unary } from "./rpc_client.ts";
export * as grpc from "./grpc.ts";

export type { WorldSpec } from "../world/world_spec.ts";
import type { WorldSpec } from "../world/world_spec.ts";

export interface RegisterRequest {
  nodeId: string;
  grpcAddress: string;
  httpAddress: string;
  version: string;
  pool: boolean;
  /** Random per process, so a retried registration is not taken for a restart. */
  incarnation?: string;
  /** The worker's game (name and version); the coordinator refuses any other. */
  gameName: string;
  gameVersion: string;
  /** Where the worker runs ("" = none): its rooms carry it. */
  region?: string;
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
  /** The map's epoch at this registration: older maps (kept from before a fencing) are ignored. */
  epoch: number;
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
  /** Entities handed off to other workers since it started (a counter). */
  handoffsOut: number;
}

export interface HeartbeatReply {
  epoch: number;
}

export interface WorkerInfo {
  id: string;
  grpcAddress: string;
  state: string;
  /** The game version it runs ("" from a coordinator that does not say). */
  gameVersion?: string;
}

export interface GatewayInfo {
  id: string;
  httpAddress: string;
  version: string;
  sessions: number;
  /** Its version is draining: it hands its sessions over and exits when empty. */
  draining?: boolean;
}

export interface MapUpdate {
  epoch: number;
  owners: string[];
  workers: WorkerInfo[];
  gateways: GatewayInfo[];
  /** Owner worker id → its backup (replica mode). */
  backups: Record<string, string>;
  /** Live instances (rooms) and where they run; `options` is msgpack. */
  instances?: InstancePlacementMessage[];
  /** The directory's newest instance sequence number when the list was made. */
  instanceSeq?: number;
}

/** An instance as MapUpdate lists it. */
export interface InstancePlacementMessage {
  id: string;
  seq: number;
  worker: string;
  mode: string;
  options: Uint8Array;
  maxPlayers: number;
  /** How often it changed worker (live moves, failovers): only at 0 does the host run onCreate. */
  moves?: number;
}

/** Coordinator.Status: the caller's term and address (a coordinator of the pair) or 0, "". */
export interface StatusRequest {
  term: number;
  address: string;
}

export interface StatusReply {
  role: "active" | "standby";
  term: number;
  index: number;
  active: string;
  httpAddress: string;
  activeHttp: string;
}

/** What a standby sends on Follow: where it stands (first message), then acknowledgements. */
export interface FollowMessage {
  address: string;
  lastIndex: number;
  lastTerm: number;
  acked: number;
  httpAddress: string;
}

/** One record of the active's log stream. */
export interface LogRecord {
  index: number;
  term: number;
  kind: "change" | "snapshot" | "keepalive";
  payload: Uint8Array;
  httpAddress: string;
}

export interface BatchMessage {
  payload: Uint8Array;
}

function digest(value: string): Uint8Array {
  return createHash("sha256").update(value).digest();
}

/** Constant-time check of the secret carried in call metadata. */
export function hasSecret(metadata: Metadata, secretDigest: Uint8Array): boolean {
  const values = metadata.get(SECRET_METADATA);
  if (values.length !== 1) return false;
  return timingSafeEqual(digest(values[0]), secretDigest);
}

const UNAUTHENTICATED = {
  code: status.UNAUTHENTICATED,
  details: "UNAUTHENTICATED: missing or wrong cluster secret",
};

interface GuardedCall {
  metadata: Metadata;
  emit(event: string, ...args: unknown[]): boolean;
}

/** Wraps each handler so calls without the cluster secret end with UNAUTHENTICATED. */
export function requireSecret(
  secret: string,
  implementation: Implementation,
  onRefused?: (method: string) => void,
): Implementation {
  const secretDigest = digest(secret);
  const guarded: Implementation = {};
  for (const [method, handler] of Object.entries(implementation)) {
    guarded[method] = (call: GuardedCall, callback?: (error: unknown) => void) => {
      if (hasSecret(call.metadata, secretDigest)) return handler(call, callback);
      onRefused?.(method);
      if (callback) callback(UNAUTHENTICATED);
      else call.emit("error", UNAUTHENTICATED); // a streaming call ends with the emitted status
    };
  }
  return guarded;
}

/**
 * How a role's handle closes. `exiting: true` means the process (or thread) ends right after,
 * so waiting for servers to drain is skipped. (With grpc-js this also skipped the HTTP/2 GOAWAY
 * that made Deno 2.9's nghttp2 abort, denoland/deno#36788; the native transport has no such bug.)
 */
export interface CloseOptions {
  exiting?: boolean;
}
