// Node configuration: one JSON file (--config), command-line flags over it, defaults under both,
// validated in one place so a bad value stops start-up with one line naming the field.
// The schema (types, defaults) is in schema.ts, the flags and help text in flags.ts.
import { ConfigError } from "../errors.ts";
import { isPlainObject } from "../protocol/input_reader.ts";
import { CONFIG_STYLE, configFields as read, fail, pick, show } from "./config_fields.ts";
import {
  type AutoscaleConfig,
  type Config,
  COORDINATOR_GRPC_PORT,
  DEFAULTS,
  type DemoGameConfig,
  type GatewayConfig,
  type LoadWeights,
  type LogLevel,
  MAX_CELLS,
  MIN_SECRET_LENGTH,
  type RebalanceConfig,
  type Role,
  type SpaceTimingsConfig,
  type WorldConfig,
} from "./schema.ts";

export * from "./schema.ts";
export { flagError, type Flags, parseFlags, USAGE } from "./flags.ts";

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

  const role = read.oneOf(or(get("role"), DEFAULTS.role), "role", ROLES);
  const nodeId = read.string(or(get("nodeId"), DEFAULTS.nodeId), "nodeId");
  if (nodeId !== "" && !NODE_ID.test(nodeId)) {
    fail("nodeId", `expected 1-64 characters from A-Z a-z 0-9 _ . -, got ${show(nodeId)}`);
  }
  const host = read.string(or(get("host"), DEFAULTS.host), "host", 1);
  const port = read.integer(or(get("port"), DEFAULTS.port), "port", 0, 65535);
  const grpcDefault = role === "coordinator" ? COORDINATOR_GRPC_PORT : DEFAULTS.grpcPort;
  const grpcPort = read.integer(or(get("grpcPort"), grpcDefault), "grpcPort", 0, 65535);
  const advertiseHost = read.string(
    or(get("advertiseHost"), DEFAULTS.advertiseHost),
    "advertiseHost",
    1,
  );
  const static_dir = read.string(or(get("static_dir"), DEFAULTS.static_dir), "static_dir", 1);
  const coordinator = hostPort("coordinator", or(get("coordinator"), DEFAULTS.coordinator));
  const secret = parseSecret(or(get("secret"), DEFAULTS.secret), role);
  const logLevel = read.oneOf(or(get("logLevel"), DEFAULTS.logLevel), "logLevel", LOG_LEVELS);
  const workers = read.integer(or(get("workers"), DEFAULTS.workers), "workers", 1, 64);
  const minWorkers = read.integer(
    or(get("minWorkers"), DEFAULTS.minWorkers),
    "minWorkers",
    1,
    1024,
  );
  const pool = read.boolean(or(get("pool"), DEFAULTS.pool), "pool");
  const world = parseWorld(or(get("world"), {}));
  const tickHz = read.integer(or(get("tickHz"), DEFAULTS.tickHz), "tickHz", 1, 120);
  const aoiRadius = read.positive(or(get("aoiRadius"), DEFAULTS.aoiRadius), "aoiRadius");
  const ghostMargin = read.positive(or(get("ghostMargin"), DEFAULTS.ghostMargin), "ghostMargin");
  if (ghostMargin < aoiRadius) {
    fail("ghostMargin", `must be >= aoiRadius (${aoiRadius}), got ${ghostMargin}`);
  }
  // A band as wide as a cell would need ghosts two cells away, which sync never sends.
  if (ghostMargin >= world.cellSize) {
    fail("ghostMargin", `must be < world.cellSize (${world.cellSize}), got ${ghostMargin}`);
  }
  const heartbeatMs = read.integer(
    or(get("heartbeatMs"), DEFAULTS.heartbeatMs),
    "heartbeatMs",
    50,
    60000,
  );
  const workerTimeoutMs = read.integer(
    or(get("workerTimeoutMs"), DEFAULTS.workerTimeoutMs),
    "workerTimeoutMs",
    1,
    MAX_TIMER_MS,
  );
  if (workerTimeoutMs <= heartbeatMs) {
    fail("workerTimeoutMs", `must be > heartbeatMs (${heartbeatMs}), got ${workerTimeoutMs}`);
  }
  const drainTimeoutMs = read.integer(
    or(get("drainTimeoutMs"), DEFAULTS.drainTimeoutMs),
    "drainTimeoutMs",
    1,
    MAX_TIMER_MS,
  );
  const load = parseLoad(or(get("load"), {}));
  const rebalance = parseRebalance(or(get("rebalance"), {}));
  const autoscale = parseAutoscale(or(get("autoscale"), {}));
  const space = parseSpace(or(get("space"), {}));
  const storage = read.string(or(get("storage"), DEFAULTS.storage), "storage", 1);
  const spatialIndex = read.oneOf(
    or(get("spatialIndex"), DEFAULTS.spatialIndex),
    "spatialIndex",
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
    drainTimeoutMs,
    load,
    rebalance,
    autoscale,
    space,
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
  if (!isPlainObject(raw)) CONFIG_STYLE.mismatch("world", "an object", raw);
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
  const size = rawSize.map((extent: unknown, axis) => read.positive(extent, `world.size[${axis}]`));
  const cellSize = read.positive(pick(raw, "cellSize", DEFAULTS.world.cellSize), "world.cellSize");
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
  if (!isPlainObject(raw)) CONFIG_STYLE.mismatch(field, "an object", raw);
  rejectUnknownKeys(raw, known, `${field}.`);
  return raw;
}

function parseLoad(raw: unknown): LoadWeights {
  const d = DEFAULTS.load;
  const r = section(raw, "load", d);
  return {
    entities: read.finite(pick(r, "entities", d.entities), "load.entities", 0),
    players: read.finite(pick(r, "players", d.players), "load.players", 0),
    interactions: read.finite(pick(r, "interactions", d.interactions), "load.interactions", 0),
  };
}

function parseRebalance(raw: unknown): RebalanceConfig {
  const d = DEFAULTS.rebalance;
  const r = section(raw, "rebalance", d);
  const ratio = read.finite(pick(r, "ratio", d.ratio), "rebalance.ratio", 1);
  if (ratio <= 1) fail("rebalance.ratio", `must be > 1, got ${ratio}`);
  return {
    enabled: read.boolean(pick(r, "enabled", d.enabled), "rebalance.enabled"),
    ratio,
    sustainMs: read.integer(
      pick(r, "sustainMs", d.sustainMs),
      "rebalance.sustainMs",
      0,
      MAX_TIMER_MS,
    ),
    minLoad: read.finite(pick(r, "minLoad", d.minLoad), "rebalance.minLoad", 0),
    cooldownMs: read.integer(
      pick(r, "cooldownMs", d.cooldownMs),
      "rebalance.cooldownMs",
      0,
      MAX_TIMER_MS,
    ),
    intervalMs: read.integer(
      pick(r, "intervalMs", d.intervalMs),
      "rebalance.intervalMs",
      50,
      MAX_TIMER_MS,
    ),
  };
}

function parseAutoscale(raw: unknown): AutoscaleConfig {
  const d = DEFAULTS.autoscale;
  const r = section(raw, "autoscale", d);
  const highWater = read.finite(pick(r, "highWater", d.highWater), "autoscale.highWater", 0);
  const lowWater = read.finite(pick(r, "lowWater", d.lowWater), "autoscale.lowWater", 0);
  if (highWater > 0 && lowWater >= highWater) {
    fail("autoscale.lowWater", `must be < highWater (${highWater}), got ${lowWater}`);
  }
  return {
    highWater,
    lowWater,
    sustainMs: read.integer(
      pick(r, "sustainMs", d.sustainMs),
      "autoscale.sustainMs",
      0,
      MAX_TIMER_MS,
    ),
  };
}

function parseSpace(raw: unknown): SpaceTimingsConfig {
  const d = DEFAULTS.space;
  const r = section(raw, "space", d);
  const out = {} as SpaceTimingsConfig;
  for (const key of Object.keys(d) as Array<keyof SpaceTimingsConfig>) {
    out[key] = read.integer(pick(r, key, d[key]), `space.${key}`, 1, MAX_TIMER_MS);
  }
  return out;
}

function parseGateway(raw: unknown): GatewayConfig {
  const d = DEFAULTS.gateway;
  const r = section(raw, "gateway", d);
  const out = {} as Record<keyof GatewayConfig, number>;
  for (const key of Object.keys(d) as Array<keyof GatewayConfig>) {
    out[key] = read.integer(pick(r, key, d[key]), `gateway.${key}`, 1, MAX_TIMER_MS);
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
  at.forEach((v, axis) => read.finite(v, `game.hotspot.at[${axis}]`, 0));
  const fraction = read.finite(pick(r, "fraction", d.fraction), "game.hotspot.fraction", 0);
  if (fraction > 1) fail("game.hotspot.fraction", `expected a number in 0..1, got ${fraction}`);
  const radius = read.finite(pick(r, "radius", d.radius), "game.hotspot.radius", 0);
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
  if (!isPlainObject(raw)) CONFIG_STYLE.mismatch("game", "an object", raw);
  rejectUnknownKeys(raw, DEFAULTS.game, "game.");
  const d = DEFAULTS.game;
  const npcs = read.integer(pick(raw, "npcs", d.npcs), "game.npcs", 0, 1_000_000);
  const speed = read.finite(pick(raw, "speed", d.speed), "game.speed", 0);
  const bumpRadius = read.positive(pick(raw, "bumpRadius", d.bumpRadius), "game.bumpRadius");
  if (bumpRadius > aoiRadius) {
    fail("game.bumpRadius", `must be <= aoiRadius (${aoiRadius}), got ${bumpRadius}`);
  }
  const bumpCooldownTicks = read.integer(
    pick(raw, "bumpCooldownTicks", d.bumpCooldownTicks),
    "game.bumpCooldownTicks",
    0,
  );
  const seed = read.integer(pick(raw, "seed", d.seed), "game.seed", -Infinity);
  const hotspot = parseHotspot(pick(raw, "hotspot", d.hotspot), world);
  return { npcs, speed, bumpRadius, bumpCooldownTicks, seed, hotspot };
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

function rejectUnknownKeys(raw: Record<string, unknown>, known: object, prefix: string): void {
  for (const key of Object.keys(raw)) {
    if (!Object.hasOwn(known, key)) fail(`${prefix}${key}`, "unknown key");
  }
}

function hostPort(field: string, value: unknown): string {
  const match = typeof value === "string" ? HOST_PORT.exec(value) : null;
  const port = match ? Number(match[2]) : 0;
  if (match && port >= 1 && port <= 65535) return value as string;
  return fail(field, `expected "host:port" with port 1..65535, got ${show(value)}`);
}
