// Node configuration: one JSON file (--config), command-line flags over it, defaults under both,
// validated in one place so a bad value stops start-up with one line naming the field.

import { parseArgs } from "node:util";
import { ConfigError } from "../errors.ts";

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
  /** Lifetime of login tokens. */
  tokenTtlMs: number;
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

/** Settings of the built-in demo game (wandering NPCs and a bump interaction). */
export interface DemoGameConfig {
  npcs: number;
  speed: number;
  bumpRadius: number;
  bumpCooldownTicks: number;
  seed: number;
  /** A crowd: this fraction of NPCs spawns at `hotspot.at` and stays within `radius` of it. */
  hotspot: { at: number[]; radius: number; fraction: number };
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
  /** "host:port" of the coordinator's gRPC server. */
  coordinator: string;
  /** Cluster secret; "" only in role "all", where the caller generates a random one. */
  secret: string;
  logLevel: LogLevel;
  /** Worker threads started by role "all". */
  workers: number;
  /** The coordinator assigns cells once this many workers have registered. */
  minWorkers: number;
  /** A worker registers as a warm spare instead of taking cells. */
  pool: boolean;
  world: WorldConfig;
  tickHz: number;
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
  /** SQLite file of registered accounts (":memory:" keeps them in memory). */
  storage: string;
  /** Workers' spatial index: a uniform grid of buckets, or an rbush of fat boxes. */
  spatialIndex: "grid" | "rbush";
  gateway: GatewayConfig;
  game: DemoGameConfig;
}

/** The gRPC port a coordinator listens on unless told otherwise; other roles default to 0. */
export const COORDINATOR_GRPC_PORT = 7070;
/** Upper bound on the number of grid cells, product over axes of ceil(size / cellSize). */
export const MAX_CELLS = 1_000_000;
/** Minimum length of the cluster secret. */
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
  logLevel: "info",
  workers: 2,
  minWorkers: 2,
  pool: false,
  world: { dims: 2, size: [1000, 1000], cellSize: 100 },
  tickHz: 20,
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
  storage: "zonescaler.sqlite",
  spatialIndex: "grid",
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
    tokenTtlMs: 86_400_000,
  },
  game: {
    npcs: 400,
    speed: 40,
    bumpRadius: 4,
    bumpCooldownTicks: 20,
    seed: 1,
    hotspot: { at: [0, 0], radius: 0, fraction: 0 },
  },
});

const DEFAULT_WORLD_EXTENT = 1000;
const ROLES: readonly Role[] = ["all", "coordinator", "worker", "gateway"];
const LOG_LEVELS: readonly LogLevel[] = ["debug", "info", "warn", "error"];
const NODE_ID = /^[A-Za-z0-9_.-]{1,64}$/;
const HOST_PORT = /^([^\s:[\]]+|\[[0-9A-Fa-f:.]+\]):(\d{1,5})$/;
// setTimeout fires at once for delays past 2^31 - 1 ms.
const MAX_TIMER_MS = 2_147_483_647;

/**
 * Validates an already-parsed JSON value, filling absent keys with {@linkcode DEFAULTS}.
 * Throws a {@linkcode ConfigError} naming the first bad field.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * const config = parseConfig({ port: 9000 });
 * assert.equal(config.port, 9000);
 * assert.equal(config.tickHz, 20);
 * assert.throws(() => parseConfig({ port: 70000 }), /port: expected an integer in 0\.\.65535/);
 * ```
 */
export function parseConfig(raw: unknown): Config {
  if (!isPlainObject(raw)) fail("--config", "expected a JSON object");
  rejectUnknownKeys(raw, DEFAULTS, "");
  const get = (key: keyof Config): unknown => pick(raw, key, undefined);
  const or = (value: unknown, fallback: unknown): unknown => value === undefined ? fallback : value;

  const role = oneOf("role", or(get("role"), DEFAULTS.role), ROLES);
  const nodeId = string("nodeId", or(get("nodeId"), DEFAULTS.nodeId));
  if (nodeId !== "" && !NODE_ID.test(nodeId)) {
    fail("nodeId", `expected 1-64 characters from A-Z a-z 0-9 _ . -, got ${show(nodeId)}`);
  }
  const host = nonEmptyString("host", or(get("host"), DEFAULTS.host));
  const port = integer("port", or(get("port"), DEFAULTS.port), 0, 65535);
  const grpcDefault = role === "coordinator" ? COORDINATOR_GRPC_PORT : DEFAULTS.grpcPort;
  const grpcPort = integer("grpcPort", or(get("grpcPort"), grpcDefault), 0, 65535);
  const advertiseHost = nonEmptyString(
    "advertiseHost",
    or(get("advertiseHost"), DEFAULTS.advertiseHost),
  );
  const static_dir = nonEmptyString("static_dir", or(get("static_dir"), DEFAULTS.static_dir));
  const coordinator = hostPort("coordinator", or(get("coordinator"), DEFAULTS.coordinator));
  const secret = parseSecret(or(get("secret"), DEFAULTS.secret), role);
  const logLevel = oneOf("logLevel", or(get("logLevel"), DEFAULTS.logLevel), LOG_LEVELS);
  const workers = integer("workers", or(get("workers"), DEFAULTS.workers), 1, 64);
  const minWorkers = integer("minWorkers", or(get("minWorkers"), DEFAULTS.minWorkers), 1, 1024);
  const pool = boolean("pool", or(get("pool"), DEFAULTS.pool));
  const world = parseWorld(or(get("world"), {}));
  const tickHz = integer("tickHz", or(get("tickHz"), DEFAULTS.tickHz), 1, 120);
  const aoiRadius = positive("aoiRadius", or(get("aoiRadius"), DEFAULTS.aoiRadius));
  const ghostMargin = positive("ghostMargin", or(get("ghostMargin"), DEFAULTS.ghostMargin));
  if (ghostMargin < aoiRadius) {
    fail("ghostMargin", `must be >= aoiRadius (${aoiRadius}), got ${ghostMargin}`);
  }
  // A band as wide as a cell would need ghosts two cells away, which sync never sends.
  if (ghostMargin >= world.cellSize) {
    fail("ghostMargin", `must be < world.cellSize (${world.cellSize}), got ${ghostMargin}`);
  }
  const heartbeatMs = integer(
    "heartbeatMs",
    or(get("heartbeatMs"), DEFAULTS.heartbeatMs),
    50,
    60000,
  );
  const workerTimeoutMs = integer(
    "workerTimeoutMs",
    or(get("workerTimeoutMs"), DEFAULTS.workerTimeoutMs),
    1,
    MAX_TIMER_MS,
  );
  if (workerTimeoutMs <= heartbeatMs) {
    fail("workerTimeoutMs", `must be > heartbeatMs (${heartbeatMs}), got ${workerTimeoutMs}`);
  }
  const workerStreamGraceMs = integer(
    "workerStreamGraceMs",
    or(get("workerStreamGraceMs"), DEFAULTS.workerStreamGraceMs),
    0,
    MAX_TIMER_MS,
  );
  const faultTolerance = parseFaultTolerance(or(get("faultTolerance"), {}));
  const drainTimeoutMs = integer(
    "drainTimeoutMs",
    or(get("drainTimeoutMs"), DEFAULTS.drainTimeoutMs),
    1,
    MAX_TIMER_MS,
  );
  const load = parseLoad(or(get("load"), {}));
  const rebalance = parseRebalance(or(get("rebalance"), {}));
  const autoscale = parseAutoscale(or(get("autoscale"), {}));
  const storage = nonEmptyString("storage", or(get("storage"), DEFAULTS.storage));
  const spatialIndex = oneOf(
    "spatialIndex",
    or(get("spatialIndex"), DEFAULTS.spatialIndex),
    [
      "grid",
      "rbush",
    ] as const,
  );
  const gateway = parseGateway(or(get("gateway"), {}));
  const game = parseGame(or(get("game"), {}), aoiRadius, world);
  return {
    role,
    nodeId,
    host,
    port,
    grpcPort,
    advertiseHost,
    static_dir,
    coordinator,
    secret,
    logLevel,
    workers,
    minWorkers,
    pool,
    world,
    tickHz,
    aoiRadius,
    ghostMargin,
    heartbeatMs,
    workerTimeoutMs,
    workerStreamGraceMs,
    faultTolerance,
    drainTimeoutMs,
    load,
    rebalance,
    autoscale,
    storage,
    spatialIndex,
    gateway,
    game,
  };
}

/**
 * Reads the JSON file at `path` (undefined: defaults only), merges `overrides` over it
 * (nested objects per key, undefined values ignored) and validates the result, so a flag is
 * checked exactly like the same key in the file.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * const config = loadConfig(undefined, { role: "coordinator", secret: "0123456789abcdef" });
 * assert.equal(config.grpcPort, 7070);
 * ```
 */
export function loadConfig(
  path: string | undefined,
  overrides: Record<string, unknown> = {},
): Config {
  const file = path === undefined ? {} : readConfigFile(path);
  return parseConfig(mergeOverrides(file, overrides));
}

/** Command-line flags: the config file path plus overrides shaped like the file. */
export interface Flags {
  configPath?: string;
  overrides: Record<string, unknown>;
  help: boolean;
  version: boolean;
}

interface FlagSpec {
  flag: string;
  /** Config key the flag overrides; undefined for flags that are not config keys. */
  key?: keyof Config;
  kind: "string" | "integer" | "boolean";
  short?: string;
  arg?: string;
  help: string;
}

const FLAG_SPECS: readonly FlagSpec[] = [
  { flag: "config", kind: "string", arg: "FILE", help: "JSON config file (default: none)" },
  { flag: "storage", key: "storage", kind: "string", arg: "FILE", help: "SQLite file of accounts" },
  {
    flag: "role",
    key: "role",
    kind: "string",
    arg: "ROLE",
    help: "all | coordinator | worker | gateway | bots",
  },
  {
    flag: "node-id",
    key: "nodeId",
    kind: "string",
    arg: "ID",
    help: "node id (default: generated)",
  },
  { flag: "host", key: "host", kind: "string", arg: "HOST", help: "HTTP bind host" },
  { flag: "port", key: "port", kind: "integer", arg: "N", help: "HTTP port, 0 = any free port" },
  {
    flag: "grpc-port",
    key: "grpcPort",
    kind: "integer",
    arg: "N",
    help: `gRPC port (default: ${COORDINATOR_GRPC_PORT} for coordinator, else 0 = any free port)`,
  },
  {
    flag: "advertise-host",
    key: "advertiseHost",
    kind: "string",
    arg: "HOST",
    help: "host other nodes dial to reach this node",
  },
  {
    flag: "coordinator",
    key: "coordinator",
    kind: "string",
    arg: "HOST:PORT",
    help: "coordinator gRPC address",
  },
  {
    flag: "static-dir",
    key: "static_dir",
    kind: "string",
    arg: "DIR",
    help: "directory served over HTTP",
  },
  {
    flag: "log-level",
    key: "logLevel",
    kind: "string",
    arg: "LEVEL",
    help: "debug | info | warn | error",
  },
  {
    flag: "secret",
    key: "secret",
    kind: "string",
    arg: "SECRET",
    help: `cluster secret, >= ${MIN_SECRET_LENGTH} characters (default: required for coordinator ` +
      "and worker, random for all)",
  },
  {
    flag: "workers",
    key: "workers",
    kind: "integer",
    arg: "N",
    help: "worker threads in role all, 1..64",
  },
  {
    flag: "min-workers",
    key: "minWorkers",
    kind: "integer",
    arg: "N",
    help: "workers to wait for before assigning cells",
  },
  {
    flag: "tick-hz",
    key: "tickHz",
    kind: "integer",
    arg: "N",
    help: "simulation ticks per second, 1..120",
  },
  { flag: "pool", key: "pool", kind: "boolean", help: "register this worker as a warm spare" },
  { flag: "help", kind: "boolean", short: "h", help: "print this help and exit" },
  { flag: "version", kind: "boolean", short: "v", help: "print the version and exit" },
];

/**
 * Help text listing every flag with its default.
 */
export const USAGE: string = [
  "Usage: zonescaler [--config FILE] [flags]",
  "",
  "Flags override the same keys in the config file; defaults fill the rest.",
  "",
  ...FLAG_SPECS.map((spec) => {
    const name = `${spec.short ? `-${spec.short}, ` : "    "}--${spec.flag}${
      spec.arg ? ` ${spec.arg}` : ""
    }`;
    const fallback = spec.key === undefined || spec.key === "grpcPort" || spec.key === "nodeId" ||
        spec.key === "secret"
      ? ""
      : ` (default: ${String(DEFAULTS[spec.key])})`;
    return `  ${name.padEnd(30)} ${spec.help}${fallback}`;
  }),
].join("\n");

/**
 * Parses command-line arguments (strict: unknown flags and positional arguments are errors).
 * Integer flags become numbers here; ranges are checked later by {@linkcode loadConfig}.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * const flags = parseFlags(["--config", "config/all.json", "--port", "9000", "--pool"]);
 * assert.equal(flags.configPath, "config/all.json");
 * assert.deepEqual(flags.overrides, { port: 9000, pool: true });
 * ```
 */
export function parseFlags(args: string[]): Flags {
  const options: Record<string, { type: "string" | "boolean"; short?: string }> = {};
  for (const spec of FLAG_SPECS) {
    options[spec.flag] = spec.short === undefined
      ? { type: spec.kind === "boolean" ? "boolean" : "string" }
      : { type: spec.kind === "boolean" ? "boolean" : "string", short: spec.short };
  }
  let values: Record<string, unknown>;
  try {
    values = parseArgs({ args, options, strict: true, allowPositionals: false }).values;
  } catch (error) {
    throw flagError(error);
  }
  const overrides: Record<string, unknown> = {};
  for (const spec of FLAG_SPECS) {
    const value = values[spec.flag];
    if (value === undefined || spec.key === undefined) continue;
    if (spec.kind === "integer") {
      const text = String(value);
      if (!/^-?\d+$/.test(text)) fail(`--${spec.flag}`, `expected an integer, got ${show(text)}`);
      overrides[spec.key] = Number(text);
    } else {
      overrides[spec.key] = value;
    }
  }
  const configPath = values["config"];
  return {
    ...(typeof configPath === "string" ? { configPath } : {}),
    overrides,
    help: values["help"] === true,
    version: values["version"] === true,
  };
}

/**
 * Turns a `node:util` parseArgs error into a one-line ConfigError naming the flag; shared by
 * every command line of the executable (the bots have their own flags).
 */
export function flagError(error: unknown): ConfigError {
  const code = (error as { code?: unknown } | null)?.code;
  const message = error instanceof Error ? error.message : String(error);
  // Node names a flag with a short form as '-h, --help'.
  const named = /'(?:-[^-' ], )?(-[^' ]+)/.exec(message)?.[1];
  const options = { cause: error };
  if (code === "ERR_PARSE_ARGS_UNKNOWN_OPTION" && named) {
    return new ConfigError(named, "unknown flag", options);
  }
  if (code === "ERR_PARSE_ARGS_UNEXPECTED_POSITIONAL") {
    const argument = /'([^']*)'/.exec(message)?.[1] ?? "";
    return new ConfigError("args", `unexpected argument ${show(argument)}`, options);
  }
  if (code === "ERR_PARSE_ARGS_INVALID_OPTION_VALUE" && named) {
    const problem = /does not take an argument/.test(message)
      ? "takes no value"
      : `expected a value (write ${named}=VALUE for a value starting with "-")`;
    return new ConfigError(named, problem, options);
  }
  return new ConfigError("args", message.split("\n")[0], options);
}

function readConfigFile(path: string): unknown {
  let text: string;
  try {
    text = Deno.readTextFileSync(path);
  } catch (error) {
    // Deno appends " (os error 2): readfile 'path'"; the path is already in our message.
    const reason = (error instanceof Error ? error.message : String(error)).replace(
      / \(os error \d+\).*$/s,
      "",
    );
    throw new ConfigError("--config", `cannot read ${show(path)}: ${reason}`, { cause: error });
  }
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error) {
    const reason = error instanceof Error ? error.message : String(error);
    throw new ConfigError("--config", `${show(path)} is not valid JSON: ${reason}`, {
      cause: error,
    });
  }
  if (!isPlainObject(value)) fail("--config", "expected a JSON object");
  return value;
}

function mergeOverrides(base: unknown, overrides: Record<string, unknown>): unknown {
  if (!isPlainObject(base)) return base;
  const merged: Record<string, unknown> = { ...base };
  for (const [key, value] of Object.entries(overrides)) {
    if (value === undefined) continue;
    const current = merged[key];
    merged[key] = isPlainObject(current) && isPlainObject(value)
      ? mergeOverrides(current, value)
      : value;
  }
  return merged;
}

function parseWorld(raw: unknown): WorldConfig {
  if (!isPlainObject(raw)) fail("world", `expected an object, got ${show(raw)}`);
  rejectUnknownKeys(raw, DEFAULTS.world, "world.");
  const dims = pick(raw, "dims", DEFAULTS.world.dims);
  if (dims !== 2 && dims !== 3) fail("world.dims", `expected 2 or 3, got ${show(dims)}`);
  const rawSize = pick(raw, "size", new Array<number>(dims).fill(DEFAULT_WORLD_EXTENT));
  if (!Array.isArray(rawSize)) {
    fail("world.size", `expected an array of ${dims} numbers, got ${show(rawSize)}`);
  }
  if (rawSize.length !== dims) {
    fail("world.size", `expected ${dims} numbers (world.dims), got ${rawSize.length}`);
  }
  const size = rawSize.map((extent: unknown, axis) => positive(`world.size[${axis}]`, extent));
  const cellSize = positive("world.cellSize", pick(raw, "cellSize", DEFAULTS.world.cellSize));
  const perAxis = size.map((extent) => Math.ceil(extent / cellSize));
  const cells = perAxis.reduce((product, count) => product * count, 1);
  if (cells > MAX_CELLS) {
    fail(
      "world.cellSize",
      `gives ${perAxis.join(" × ")} = ${cells} cells, more than the maximum of ${MAX_CELLS}`,
    );
  }
  return { dims, size, cellSize };
}

function section(raw: unknown, field: string, known: object): Record<string, unknown> {
  if (!isPlainObject(raw)) fail(field, `expected an object, got ${show(raw)}`);
  rejectUnknownKeys(raw, known, `${field}.`);
  return raw;
}

function parseLoad(raw: unknown): LoadWeights {
  const d = DEFAULTS.load;
  const r = section(raw, "load", d);
  return {
    entities: finite("load.entities", pick(r, "entities", d.entities), 0),
    players: finite("load.players", pick(r, "players", d.players), 0),
    interactions: finite("load.interactions", pick(r, "interactions", d.interactions), 0),
  };
}

function parseRebalance(raw: unknown): RebalanceConfig {
  const d = DEFAULTS.rebalance;
  const r = section(raw, "rebalance", d);
  const ratio = finite("rebalance.ratio", pick(r, "ratio", d.ratio), 1);
  if (ratio <= 1) fail("rebalance.ratio", `must be > 1, got ${ratio}`);
  return {
    enabled: boolean("rebalance.enabled", pick(r, "enabled", d.enabled)),
    ratio,
    sustainMs: integer("rebalance.sustainMs", pick(r, "sustainMs", d.sustainMs), 0, MAX_TIMER_MS),
    minLoad: finite("rebalance.minLoad", pick(r, "minLoad", d.minLoad), 0),
    cooldownMs: integer(
      "rebalance.cooldownMs",
      pick(r, "cooldownMs", d.cooldownMs),
      0,
      MAX_TIMER_MS,
    ),
    intervalMs: integer(
      "rebalance.intervalMs",
      pick(r, "intervalMs", d.intervalMs),
      50,
      MAX_TIMER_MS,
    ),
  };
}

function parseAutoscale(raw: unknown): AutoscaleConfig {
  const d = DEFAULTS.autoscale;
  const r = section(raw, "autoscale", d);
  const highWater = finite("autoscale.highWater", pick(r, "highWater", d.highWater), 0);
  const lowWater = finite("autoscale.lowWater", pick(r, "lowWater", d.lowWater), 0);
  if (highWater > 0 && lowWater >= highWater) {
    fail("autoscale.lowWater", `must be < highWater (${highWater}), got ${lowWater}`);
  }
  return {
    highWater,
    lowWater,
    sustainMs: integer("autoscale.sustainMs", pick(r, "sustainMs", d.sustainMs), 0, MAX_TIMER_MS),
  };
}

function parseFaultTolerance(raw: unknown): FaultToleranceConfig {
  const d = DEFAULTS.faultTolerance;
  const r = section(raw, "faultTolerance", d);
  return {
    mode: oneOf(
      "faultTolerance.mode",
      pick(r, "mode", d.mode),
      ["replica", "pool", "none"] as const,
    ),
    replicationTicks: integer(
      "faultTolerance.replicationTicks",
      pick(r, "replicationTicks", d.replicationTicks),
      1,
      1000,
    ),
  };
}

function parseGateway(raw: unknown): GatewayConfig {
  const d = DEFAULTS.gateway;
  const r = section(raw, "gateway", d);
  const out = {} as Record<keyof GatewayConfig, number>;
  for (const key of Object.keys(d) as Array<keyof GatewayConfig>) {
    out[key] = integer(`gateway.${key}`, pick(r, key, d[key]), 1, MAX_TIMER_MS);
  }
  if (out.maxFrameBytes > 16 * 1024 * 1024) {
    fail("gateway.maxFrameBytes", `expected at most 16777216, got ${out.maxFrameBytes}`);
  }
  return out;
}

function parseHotspot(raw: unknown, world: WorldConfig): DemoGameConfig["hotspot"] {
  const d = DEFAULTS.game.hotspot;
  const r = section(raw, "game.hotspot", d);
  const at = pick(r, "at", d.at);
  if (!Array.isArray(at) || at.length < 2 || at.length > 3) {
    fail("game.hotspot.at", `expected [x, y] or [x, y, z], got ${show(at)}`);
  }
  at.forEach((v, axis) => finite(`game.hotspot.at[${axis}]`, v, 0));
  const fraction = finite("game.hotspot.fraction", pick(r, "fraction", d.fraction), 0);
  if (fraction > 1) fail("game.hotspot.fraction", `expected a number in 0..1, got ${fraction}`);
  const radius = finite("game.hotspot.radius", pick(r, "radius", d.radius), 0);
  if (fraction > 0 && radius <= 0) fail("game.hotspot.radius", `must be > 0 when fraction > 0`);
  for (let axis = 0; axis < at.length && fraction > 0; axis++) {
    if (at[axis] >= (world.size[axis] ?? Infinity)) {
      fail(
        `game.hotspot.at[${axis}]`,
        `must lie inside the world (< ${world.size[axis]}), got ${at[axis]}`,
      );
    }
  }
  return { at: at as number[], radius, fraction };
}

function parseGame(raw: unknown, aoiRadius: number, world: WorldConfig): DemoGameConfig {
  if (!isPlainObject(raw)) fail("game", `expected an object, got ${show(raw)}`);
  rejectUnknownKeys(raw, DEFAULTS.game, "game.");
  const d = DEFAULTS.game;
  const npcs = integer("game.npcs", pick(raw, "npcs", d.npcs), 0, 1_000_000);
  const speed = finite("game.speed", pick(raw, "speed", d.speed), 0);
  const bumpRadius = positive("game.bumpRadius", pick(raw, "bumpRadius", d.bumpRadius));
  if (bumpRadius > aoiRadius) {
    fail("game.bumpRadius", `must be <= aoiRadius (${aoiRadius}), got ${bumpRadius}`);
  }
  const bumpCooldownTicks = integer(
    "game.bumpCooldownTicks",
    pick(raw, "bumpCooldownTicks", d.bumpCooldownTicks),
    0,
  );
  const seed = integer("game.seed", pick(raw, "seed", d.seed));
  const hotspot = parseHotspot(pick(raw, "hotspot", d.hotspot), world);
  return { npcs, speed, bumpRadius, bumpCooldownTicks, seed, hotspot };
}

function parseSecret(value: unknown, role: Role): string {
  const secret = string("secret", value);
  if (secret === "" && role !== "all") {
    fail("secret", `required (at least ${MIN_SECRET_LENGTH} characters)`);
  }
  // The secret itself never goes into a message: messages end up in logs.
  if (secret !== "" && secret.length < MIN_SECRET_LENGTH) {
    fail("secret", `expected at least ${MIN_SECRET_LENGTH} characters, got ${secret.length}`);
  }
  return secret;
}

function rejectUnknownKeys(raw: Record<string, unknown>, known: object, prefix: string): void {
  for (const key of Object.keys(raw)) {
    if (!Object.hasOwn(known, key)) fail(`${prefix}${key}`, "unknown key");
  }
}

function integer(field: string, value: unknown, min = -Infinity, max = Infinity): number {
  if (typeof value === "number" && Number.isSafeInteger(value) && value >= min && value <= max) {
    return value;
  }
  const range = min > -Infinity && max < Infinity
    ? ` in ${min}..${max}`
    : min > -Infinity
    ? ` >= ${min}`
    : "";
  return fail(field, `expected an integer${range}, got ${show(value)}`);
}

function finite(field: string, value: unknown, min: number): number {
  if (typeof value === "number" && Number.isFinite(value) && value >= min) return value;
  return fail(field, `expected a number >= ${min}, got ${show(value)}`);
}

function positive(field: string, value: unknown): number {
  if (typeof value === "number" && Number.isFinite(value) && value > 0) return value;
  return fail(field, `expected a number > 0, got ${show(value)}`);
}

function string(field: string, value: unknown): string {
  if (typeof value === "string") return value;
  return fail(field, `expected a string, got ${show(value)}`);
}

function nonEmptyString(field: string, value: unknown): string {
  if (typeof value === "string" && value !== "") return value;
  return fail(field, `expected a non-empty string, got ${show(value)}`);
}

function boolean(field: string, value: unknown): boolean {
  if (typeof value === "boolean") return value;
  return fail(field, `expected true or false, got ${show(value)}`);
}

function oneOf<T extends string>(field: string, value: unknown, allowed: readonly T[]): T {
  if ((allowed as readonly unknown[]).includes(value)) return value as T;
  return fail(field, `expected one of ${allowed.map(show).join(", ")}, got ${show(value)}`);
}

function hostPort(field: string, value: unknown): string {
  const match = typeof value === "string" ? HOST_PORT.exec(value) : null;
  const port = match ? Number(match[2]) : 0;
  if (match && port >= 1 && port <= 65535) return value as string;
  return fail(field, `expected "host:port" with port 1..65535, got ${show(value)}`);
}

function fail(field: string, problem: string): never {
  throw new ConfigError(field, problem);
}

/** Renders a bad value for a one-line message: JSON where possible, cut to a readable length. */
function show(value: unknown): string {
  if (typeof value === "number" || value === undefined) return String(value);
  let text: string;
  try {
    text = JSON.stringify(value) ?? String(value);
  } catch {
    text = String(value);
  }
  return text.length > 60 ? `${text.slice(0, 57)}...` : text;
}

/** An own, defined value of `key`, else `fallback`; JSON `null` is a value, and a wrong one. */
function pick(raw: Record<string, unknown>, key: string, fallback: unknown): unknown {
  return Object.hasOwn(raw, key) && raw[key] !== undefined ? raw[key] : fallback;
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  if (typeof value !== "object" || value === null || Array.isArray(value)) return false;
  const proto = Object.getPrototypeOf(value);
  return proto === Object.prototype || proto === null;
}

function deepFreeze<T extends object>(value: T): T {
  for (const inner of Object.values(value)) {
    if (typeof inner === "object" && inner !== null) deepFreeze(inner);
  }
  return Object.freeze(value);
}
