// Node configuration: one JSON file (--config), command-line flags over it, defaults under both,
// validated in one place so a bad value stops start-up with one line naming the field.
// The schema (types, defaults) is in schema.ts, the flags and help text in flags.ts.
import { ConfigError } from "../errors.ts";
import { isPlainObject } from "../protocol/input_reader.ts";
import { REGION } from "../protocol/room_frames.ts";
import { envOverrides } from "./env.ts";
import { configFields as read, fail, pick, show } from "./config_fields.ts";
import {
  allIntegers,
  keysOf,
  MAX_TIMER_MS,
  parseAutoscale,
  parseDeploy,
  parseFaultTolerance,
  parseGame,
  parseGateway,
  parseLoad,
  parseRebalance,
  parseTls,
  parseWorld,
} from "./config_sections.ts";
import {
  type Config,
  COORDINATOR_GRPC_PORT,
  DEFAULTS,
  type LogLevel,
  MAX_AUDIT_EVENTS,
  MIN_SECRET_LENGTH,
  type Role,
} from "./schema.ts";

export * from "./schema.ts";
export { flagError, type Flags, parseFlags, USAGE } from "./flags.ts";
export { envNameOf, envOverrides, envVariables } from "./env.ts";

const ROLES: readonly Role[] = ["all", "coordinator", "worker", "gateway"];
const LOG_LEVELS: readonly LogLevel[] = ["debug", "info", "warn", "error"];
const NODE_ID = /^[A-Za-z0-9_.-]{1,64}$/;
const VERSION_TEXT = /^[A-Za-z0-9_.+-]{1,64}$/;
const HOST_PORT = /^([^\s:[\]]+|\[[0-9A-Fa-f:.]+\]):(\d{1,5})$/;

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
  const top = keysOf(raw, "", DEFAULTS);
  const role = top.oneOf("role", ROLES);
  const nodeId = top.string("nodeId");
  if (nodeId !== "" && !NODE_ID.test(nodeId)) {
    fail("nodeId", `expected 1-64 characters from A-Z a-z 0-9 _ . -, got ${show(nodeId)}`);
  }
  const host = top.string("host", 1);
  const port = top.integer("port", 0, 65535);
  const grpcDefault = role === "coordinator" ? COORDINATOR_GRPC_PORT : DEFAULTS.grpcPort;
  const grpcPort = read.integer(pick(raw, "grpcPort", grpcDefault), "grpcPort", 0, 65535);
  const advertiseHost = top.string("advertiseHost", 1);
  const static_dir = top.string("static_dir", 1);
  const coordinatorValue = top.value("coordinator");
  const coordinator = typeof coordinatorValue === "string" && coordinatorValue.includes(",")
    ? coordinatorValue.split(",").map((one) => hostPort("coordinator", one.trim())).join(",")
    : hostPort("coordinator", coordinatorValue);
  const secret = parseSecret(top.value("secret"), role);
  const operatorToken = top.string("operatorToken");
  // The token itself never goes into a message: messages end up in logs.
  if (operatorToken !== "" && operatorToken.length < MIN_SECRET_LENGTH) {
    fail(
      "operatorToken",
      `expected at least ${MIN_SECRET_LENGTH} characters, got ${operatorToken.length}`,
    );
  }
  const adminPort = top.integer("adminPort", 0, 65535);
  const logLevel = top.oneOf("logLevel", LOG_LEVELS);
  const workers = top.integer("workers", 1, 64);
  const minWorkers = top.integer("minWorkers", 1, 1024);
  const pool = top.boolean("pool");
  const world = parseWorld(pick(raw, "world", {}));
  const tickHz = top.integer("tickHz", 1, 120);
  const snapshotHz = top.integer("snapshotHz", 0, tickHz);
  if (snapshotHz > 0 && tickHz % snapshotHz !== 0) {
    fail("snapshotHz", `must divide tickHz (${tickHz}) or be 0 (every tick), got ${snapshotHz}`);
  }
  const aoiRadius = top.positive("aoiRadius");
  const ghostMargin = top.positive("ghostMargin");
  if (ghostMargin < aoiRadius) {
    fail("ghostMargin", `must be >= aoiRadius (${aoiRadius}), got ${ghostMargin}`);
  }
  // A band as wide as a cell would need ghosts two cells away, which sync never sends.
  if (ghostMargin >= world.cellSize) {
    fail("ghostMargin", `must be < world.cellSize (${world.cellSize}), got ${ghostMargin}`);
  }
  const heartbeatMs = top.integer("heartbeatMs", 50, 60000);
  const workerTimeoutMs = top.integer("workerTimeoutMs", 1, MAX_TIMER_MS);
  if (workerTimeoutMs <= heartbeatMs) {
    fail("workerTimeoutMs", `must be > heartbeatMs (${heartbeatMs}), got ${workerTimeoutMs}`);
  }
  const workerStreamGraceMs = top.integer("workerStreamGraceMs", 0, MAX_TIMER_MS);
  const faultTolerance = parseFaultTolerance(pick(raw, "faultTolerance", {}));
  const drainTimeoutMs = top.integer("drainTimeoutMs", 1, MAX_TIMER_MS);
  const load = parseLoad(pick(raw, "load", {}));
  const rebalance = parseRebalance(pick(raw, "rebalance", {}));
  const autoscale = parseAutoscale(pick(raw, "autoscale", {}));
  const deploy = parseDeploy(pick(raw, "deploy", {}));
  const version = top.string("version");
  const region = top.string("region");
  if (region !== "" && !REGION.test(region)) {
    fail("region", `expected 1-64 characters of A-Z a-z 0-9 _ . : -, got ${show(region)}`);
  }
  if (version !== "" && !VERSION_TEXT.test(version)) {
    fail("version", `expected 1-64 characters of A-Z a-z 0-9 . _ + -, got ${show(version)}`);
  }
  const space = allIntegers(pick(raw, "space", {}), "space", DEFAULTS.space, 1, MAX_TIMER_MS);
  const storage = top.string("storage", 1);
  const storageConnectMs = top.integer("storageConnectMs", 0, MAX_TIMER_MS);
  const coordinatorState = top.string("coordinatorState", 1);
  const standbyOfValue = top.value("standbyOf");
  const standbyOf = standbyOfValue === "" ? "" : hostPort("standbyOf", standbyOfValue);
  const standbyTakeoverMs = top.integer("standbyTakeoverMs", 100, MAX_TIMER_MS);
  const spatialIndex = top.oneOf("spatialIndex", ["grid", "rbush"] as const);
  const auditEvents = top.integer("auditEvents", 0, MAX_AUDIT_EVENTS);
  const gateway = parseGateway(pick(raw, "gateway", {}));
  const instances = allIntegers(
    pick(raw, "instances", {}),
    "instances",
    DEFAULTS.instances,
    1,
    MAX_TIMER_MS,
  );
  const game = parseGame(pick(raw, "game", {}), aoiRadius, world);
  const tls = parseTls(pick(raw, "tls", {}));
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
    operatorToken,
    adminPort,
    logLevel,
    workers,
    minWorkers,
    pool,
    world,
    tickHz,
    snapshotHz,
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
    deploy,
    version,
    region,
    space,
    storage,
    storageConnectMs,
    coordinatorState,
    standbyOf,
    standbyTakeoverMs,
    spatialIndex,
    auditEvents,
    gateway,
    instances,
    game,
    tls,
  };
}

/**
 * Reads the JSON file at `path` (undefined: defaults only), merges the `ZS_*` variables of
 * `env` over it (src/config/env.ts), then `overrides` (the flags; nested objects per key,
 * undefined values ignored) and validates the result, so a flag or a variable is checked
 * exactly like the same key in the file. Precedence: flags, then environment, then file.
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
  env: Readonly<Record<string, string>> = {},
): Config {
  const file = path === undefined ? {} : readConfigFile(path);
  return parseConfig(mergeOverrides(mergeOverrides(file, envOverrides(env)), overrides));
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

function parseSecret(value: unknown, role: Role): string {
  const secret = read.string(value, "secret");
  if (secret === "" && role !== "all") {
    fail("secret", `required (at least ${MIN_SECRET_LENGTH} characters)`);
  }
  // The secret itself never goes into a message: messages end up in logs.
  if (secret !== "" && secret.length < MIN_SECRET_LENGTH) {
    fail("secret", `expected at least ${MIN_SECRET_LENGTH} characters, got ${secret.length}`);
  }
  return secret;
}

function hostPort(field: string, value: unknown): string {
  const match = typeof value === "string" ? HOST_PORT.exec(value) : null;
  const port = match ? Number(match[2]) : 0;
  if (match && port >= 1 && port <= 65535) return value as string;
  return fail(field, `expected "host:port" with port 1..65535, got ${show(value)}`);
}
