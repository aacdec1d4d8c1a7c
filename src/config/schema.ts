// The shape of a node's configuration: every key's type, its documented default and the fixed
// limits, shared by the file parser, the flags and the help text.
import type { DemoOptions } from "../games/demo.ts";
import { DEMO_DEFAULTS } from "../games/demo_options.ts";
import { SPACE_TIMINGS, type SpaceTimings } from "../sim/space_tuning.ts";

/** Which part of the cluster this process runs; "all" runs everything in one process. */
export type Role = "all" | "coordinator" | "worker" | "gateway";

/** Limits and timings of a session gateway (docs/protocol.md, "Limits"). */
export interface GatewayConfig {
  /** Largest client frame, bytes. */
  maxFrameBytes: number;
  /** Client frames per second (token bucket refill) and burst (bucket size). */
  framesPerSecond: number;
  frameBurst: number;
  chatPerSecond: number;
  chatBurst: number;
  /** Refusals within `strikeWindowMs` before the connection is closed. */
  strikeLimit: number;
  strikeWindowMs: number;
  /** Time allowed between connect and HELLO. */
  helloTimeoutMs: number;
  /** Silence allowed after WELCOME. */
  idleTimeoutMs: number;
  /**
   * Longest time a live session may go without a diff from the worker simulating its entity
   * before it is closed with WORLD_STALLED (4008) so the client resumes instead of freezing.
   */
  ownerSilenceMs: number;
  /** DIFFs queued for a slow reader before they collapse into one snapshot. */
  maxQueuedDiffs: number;
  /** Ticks a reader may stay behind before it is closed. */
  maxBehindTicks: number;
  maxQueuedFrames: number;
  maxQueuedBytes: number;
  /** How long a dropped session can be resumed. */
  resumeGraceMs: number;
  /**
   * How often workers save the game's persistent fields of registered players that changed
   * (they are also saved when a player's entity is removed).
   */
  playerSaveMs: number;
  /** Lifetime of login tokens. */
  tokenTtlMs: number;
  /** Account logins and registrations per client IP: a burst, then this many per minute. */
  loginIpBurst: number;
  loginPerIpPerMinute: number;
  /** Wrong passwords in a row before an account backs off... */
  loginAccountFailures: number;
  /** ...for this long, doubled by each further failure up to the maximum. */
  loginBackoffMs: number;
  loginBackoffMaxMs: number;
  /** Room operations (CREATE, SEARCH, JOIN, LEAVE, DESTROY) per second and burst, per session. */
  instanceOpsPerSecond: number;
  instanceOpsBurst: number;
}

/** Rooms (instances), on the coordinator. */
export interface InstancesConfig {
  /** An instance nobody holds a seat of is destroyed after this long. */
  emptyGraceMs: number;
  /** Upper bound of any instance's `maxPlayers`, whatever its mode says. */
  maxPlayers: number;
}
/** Lowest log level that is written. */
export type LogLevel = "debug" | "info" | "warn" | "error";

/** Shape of the world and its grid; the coordinator's copy is authoritative. */
export interface WorldConfig {
  dims: 2 | 3;
  /** Extent per axis, one entry per dimension. */
  size: number[];
  /** Edge length of one grid cell, the unit of ownership and handoff. */
  cellSize: number;
}

/** Settings of the built-in demo game (its options, every one given). */
export type DemoGameConfig = Required<DemoOptions>;

/**
 * Which game the workers run: a module path (its default export a `defineGame` value; "" is the
 * built-in demo) and its options, validated by the game's `parseOptions` when it is loaded
 * (src/games/game_module.ts); the demo's are validated here already.
 */
export interface GameConfig {
  module: string;
  options: Record<string, unknown>;
}

/** Weights of the load estimate per cell: a·entities + b·players + c·interactions/s. */
export interface LoadWeights {
  entities: number;
  players: number;
  interactions: number;
}

/** When and how the coordinator moves cells between workers. */
export interface RebalanceConfig {
  enabled: boolean;
  /** Act when the most loaded worker exceeds the least loaded by this ratio... */
  ratio: number;
  /** ...for at least this long... */
  sustainMs: number;
  /** ...and the hottest worker carries at least this much load. */
  minLoad: number;
  /** Quiet time for a worker after it took part in a migration. */
  cooldownMs: number;
  /** How often the coordinator considers moves. */
  intervalMs: number;
}

/** Claiming and returning warm pool workers; 0 disables a threshold. */
export interface AutoscaleConfig {
  /** Claim a spare when every active worker's load is above this... */
  highWater: number;
  /** ...return one when every active worker's load is below this... */
  lowWater: number;
  /** ...for at least this long. */
  sustainMs: number;
}

/** Deploys of a new version (docs/operations.md, "Deploys"). */
export interface DeployConfig {
  /** Cells a deploy migrates per second from old-version to new-version workers. */
  cellsPerSecond: number;
  /** Sessions a draining gateway hands to the live version's gateways per second. */
  sessionsPerSecond: number;
}

/** How the cluster survives a worker's death (docs/operations.md, "Failure modes"). */
export interface FaultToleranceConfig {
  /**
   * replica: every active worker mirrors its state to a backup, which takes over on its death
   * (a warm spare takes the cells instead when one exists); pool: a warm spare takes them and
   * respawns world-start entities; none: a live worker takes them and respawns.
   */
  mode: "replica" | "pool" | "none";
  /** Replica mode: full mirror updates every this many ticks (progress lost on a death). */
  replicationTicks: number;
}

/** A worker's sync waits and memories, in ms (src/sim/space_tuning.ts explains each). */
export type SpaceTimingsConfig = SpaceTimings;

/** Paths of PEM files; all "" (the default) means cleartext. */
export interface TlsConfig {
  /** This node's certificate, served to peers and clients and presented as a client. */
  cert: string;
  key: string;
  /** The CA that signed every node's certificate. */
  ca: string;
}

/** A fully validated node configuration. */
export interface Config {
  role: Role;
  /** "" means: generate one at start-up. */
  nodeId: string;
  /** HTTP bind host. */
  host: string;
  /** HTTP port; 0 picks a free one. */
  port: number;
  /** gRPC port; 0 picks a free one. */
  grpcPort: number;
  /** Host other nodes dial to reach this node. */
  advertiseHost: string;
  static_dir: string;
  /**
   * "host:port" of the coordinator's gRPC server, or of each coordinator of an active/standby
   * pair separated by commas ("a:7070,b:7070"): workers and gateways follow the active one.
   */
  coordinator: string;
  /** Cluster secret; "" only in role "all", where the caller generates a random one. */
  secret: string;
  /**
   * Bearer token of the operator HTTP API (moves, drains, autoscale; read-only views off
   * loopback); "" disables those routes, except in role "all", which generates one.
   */
  operatorToken: string;
  /** Serve the coordinator's control and diagnostics API on this port only; 0: on `port`. */
  adminPort: number;
  logLevel: LogLevel;
  /** Worker threads started by role "all". */
  workers: number;
  /** The coordinator assigns cells once this many workers have registered. */
  minWorkers: number;
  /** A worker registers as a warm spare instead of taking cells. */
  pool: boolean;
  world: WorldConfig;
  tickHz: number;
  /**
   * Players' DIFFs per second, a divisor of tickHz (10 halves the fan-out of a big world at
   * 20 ticks/s); 0: every tick.
   */
  snapshotHz: number;
  /** Radius within which a client sees entities. */
  aoiRadius: number;
  /** Width of the border band mirrored to neighbouring cells as ghosts. */
  ghostMargin: number;
  heartbeatMs: number;
  /** A worker silent for this long is considered dead. */
  workerTimeoutMs: number;
  /**
   * A worker whose map stream to the coordinator broke (a TCP reset when it is killed) is
   * considered dead after this long unless it re-attaches or beats; 0 waits for the timeout.
   */
  workerStreamGraceMs: number;
  faultTolerance: FaultToleranceConfig;
  /** How long a draining worker waits for its cells to move before it gives up. */
  drainTimeoutMs: number;
  load: LoadWeights;
  rebalance: RebalanceConfig;
  autoscale: AutoscaleConfig;
  deploy: DeployConfig;
  /**
   * The version this node registers with (deploys move the world to a version); "" is the
   * build's version (src/version.ts).
   */
  version: string;
  /**
   * The region a worker runs in ("" = none): rooms carry their host's region, a client may
   * create, search and quick-join rooms by region (docs/protocol.md, Rooms).
   */
  region: string;
  /** Waits and memories of a worker's space, in ms, so they hold at any tickHz. */
  space: SpaceTimingsConfig;
  /**
   * Account storage: a SQLite file (":memory:" keeps them in memory) or a
   * `postgres://user:password@host:port/db` URL shared by every gateway.
   */
  storage: string;
  /**
   * How long a gateway keeps trying to reach a PostgreSQL `storage` at start-up (retrying with
   * backoff while the server is not up yet) before it exits with one line.
   */
  storageConnectMs: number;
  /**
   * The coordinator's state file (SQLite: a log of state changes and snapshots), so a restart
   * carries on with the same map; ":memory:" keeps nothing across restarts.
   */
  coordinatorState: string;
  /** Start as the standby of the active coordinator at this "host:port" ("" = not a standby). */
  standbyOf: string;
  /** A standby whose active was silent this long takes over (a new term). */
  standbyTakeoverMs: number;
  /** Workers' spatial index: a uniform grid of buckets, or an rbush of fat boxes. */
  spatialIndex: "grid" | "rbush";
  /**
   * Workers' audit logs (ownership changes, interactions; read by /api/ownership and
   * /api/interactions): the last this many events of each kind; 0 keeps none (off).
   */
  auditEvents: number;
  gateway: GatewayConfig;
  instances: InstancesConfig;
  game: GameConfig;
  /** TLS of gRPC between nodes and of the coordinator's and gateways' HTTP (https, wss). */
  tls: TlsConfig;
}

/** The gRPC port a coordinator listens on unless told otherwise; other roles default to 0. */
export const COORDINATOR_GRPC_PORT = 7070;
/** Upper bound on the number of grid cells, product over axes of ceil(size / cellSize). */
export const MAX_CELLS = 1_000_000;
/** Most audit events a worker keeps of each kind. */
export const MAX_AUDIT_EVENTS = 1_000_000;
/** Minimum length of the cluster secret and of the operator token. */
export const MIN_SECRET_LENGTH = 16;

/**
 * Defaults for every key. `grpcPort` is the non-coordinator default
 * ({@linkcode COORDINATOR_GRPC_PORT} for role "coordinator"); `world.size` defaults to 1000 per
 * axis of `world.dims`.
 */
export const DEFAULTS: Readonly<Config> = deepFreeze({
  role: "all",
  nodeId: "",
  host: "127.0.0.1",
  port: 8080,
  grpcPort: 0,
  advertiseHost: "127.0.0.1",
  static_dir: "static",
  coordinator: "127.0.0.1:7070",
  secret: "",
  operatorToken: "",
  adminPort: 0,
  logLevel: "info",
  workers: 2,
  minWorkers: 2,
  pool: false,
  world: { dims: 2, size: [1000, 1000], cellSize: 100 },
  tickHz: 20,
  snapshotHz: 0,
  aoiRadius: 50,
  ghostMargin: 60,
  heartbeatMs: 250,
  workerTimeoutMs: 1000,
  workerStreamGraceMs: 300,
  faultTolerance: { mode: "replica", replicationTicks: 2 },
  drainTimeoutMs: 30000,
  load: { entities: 1, players: 10, interactions: 0.5 },
  rebalance: {
    enabled: true,
    ratio: 1.5,
    sustainMs: 3000,
    minLoad: 50,
    cooldownMs: 5000,
    intervalMs: 1000,
  },
  autoscale: { highWater: 0, lowWater: 0, sustainMs: 5000 },
  deploy: { cellsPerSecond: 4, sessionsPerSecond: 100 },
  version: "",
  region: "",
  space: { ...SPACE_TIMINGS },
  storage: "zonescaler.sqlite",
  storageConnectMs: 15_000,
  coordinatorState: "zonescaler-coordinator.sqlite",
  standbyOf: "",
  standbyTakeoverMs: 1500,
  spatialIndex: "grid",
  auditEvents: 0,
  gateway: {
    maxFrameBytes: 8192,
    framesPerSecond: 60,
    frameBurst: 120,
    chatPerSecond: 1,
    chatBurst: 5,
    strikeLimit: 50,
    strikeWindowMs: 10_000,
    helloTimeoutMs: 5_000,
    idleTimeoutMs: 30_000,
    ownerSilenceMs: 3_000,
    maxQueuedDiffs: 4,
    maxBehindTicks: 100,
    maxQueuedFrames: 256,
    maxQueuedBytes: 1_048_576,
    resumeGraceMs: 15_000,
    playerSaveMs: 30_000,
    tokenTtlMs: 86_400_000,
    loginIpBurst: 20,
    loginPerIpPerMinute: 30,
    loginAccountFailures: 5,
    loginBackoffMs: 1_000,
    loginBackoffMaxMs: 900_000,
    instanceOpsPerSecond: 2,
    instanceOpsBurst: 10,
  },
  instances: { emptyGraceMs: 30_000, maxPlayers: 1_000 },
  tls: { cert: "", key: "", ca: "" },
  game: { module: "", options: DEMO_DEFAULTS as unknown as Record<string, unknown> },
});

function deepFreeze<T extends object>(value: T): T {
  for (const inner of Object.values(value)) {
    if (typeof inner === "object" && inner !== null) deepFreeze(inner);
  }
  return Object.freeze(value);
}
