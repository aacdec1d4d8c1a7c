// The nested sections of the node config (world, load, rebalance, autoscale, deploy, fault
// tolerance, gateway, game, tls) and the reader of a section's keys: each one's keys, ranges and
// cross-field rules, so config.ts only reads the top level and puts the sections together.
import { isPlainObject } from "../protocol/input_reader.ts";
import { CONFIG_STYLE, configFields as read, fail, pick, show } from "./config_fields.ts";
import { optionsContext } from "./game_options.ts";
import { parseDemoOptions } from "../games/demo_options.ts";
import {
  type AutoscaleConfig,
  DEFAULTS,
  type DeployConfig,
  type FaultToleranceConfig,
  type GameConfig,
  type GatewayConfig,
  type LoadWeights,
  MAX_CELLS,
  type RebalanceConfig,
  type TlsConfig,
  type WorldConfig,
} from "./schema.ts";

const DEFAULT_WORLD_EXTENT = 1000;
/** Longest timer a config may set: setTimeout fires at once for delays past 2^31 - 1 ms. */
export const MAX_TIMER_MS = 2_147_483_647;

export function parseTls(raw: unknown): TlsConfig {
  const t = keysOf(raw, "tls", DEFAULTS.tls);
  const tls = { cert: t.string("cert"), key: t.string("key"), ca: t.string("ca") };
  const set = Object.values(tls).filter((v) => v !== "").length;
  if (set !== 0 && set !== 3) fail("tls", "cert, key and ca go together: set all three or none");
  return tls;
}

export function parseWorld(raw: unknown): WorldConfig {
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

/** Typed readers of one config object's keys, each falling back to its default. */
export function keysOf<T extends object>(raw: unknown, name: string, defaults: T) {
  if (!isPlainObject(raw)) CONFIG_STYLE.mismatch(name, "an object", raw);
  const prefix = name === "" ? "" : `${name}.`;
  rejectUnknownKeys(raw, defaults, prefix);
  type Key = keyof T & string;
  const value = (key: Key): unknown => pick(raw, key, defaults[key]);
  return {
    value,
    integer: (key: Key, min = -Infinity, max = Infinity) =>
      read.integer(value(key), prefix + key, min, max),
    finite: (key: Key, min?: number) => read.finite(value(key), prefix + key, min),
    positive: (key: Key) => read.positive(value(key), prefix + key),
    boolean: (key: Key) => read.boolean(value(key), prefix + key),
    string: (key: Key, min?: number) => read.string(value(key), prefix + key, min),
    oneOf: <V extends string>(key: Key, allowed: readonly V[]) =>
      read.oneOf(value(key), prefix + key, allowed),
  };
}

/** A section whose every key is an integer in `min..max`. */
export function allIntegers<T extends { [K in keyof T]: number }>(
  raw: unknown,
  name: string,
  defaults: T,
  min: number,
  max: number,
): T {
  const keys = keysOf(raw, name, defaults);
  const out = {} as Record<string, number>;
  for (const key of Object.keys(defaults)) {
    out[key] = keys.integer(key as keyof T & string, min, max);
  }
  return out as T;
}

export function parseLoad(raw: unknown): LoadWeights {
  const load = keysOf(raw, "load", DEFAULTS.load);
  return {
    entities: load.finite("entities", 0),
    players: load.finite("players", 0),
    interactions: load.finite("interactions", 0),
  };
}

export function parseRebalance(raw: unknown): RebalanceConfig {
  const r = keysOf(raw, "rebalance", DEFAULTS.rebalance);
  const ratio = r.finite("ratio", 1);
  if (ratio <= 1) fail("rebalance.ratio", `must be > 1, got ${ratio}`);
  return {
    enabled: r.boolean("enabled"),
    ratio,
    sustainMs: r.integer("sustainMs", 0, MAX_TIMER_MS),
    minLoad: r.finite("minLoad", 0),
    cooldownMs: r.integer("cooldownMs", 0, MAX_TIMER_MS),
    intervalMs: r.integer("intervalMs", 50, MAX_TIMER_MS),
  };
}

export function parseAutoscale(raw: unknown): AutoscaleConfig {
  const a = keysOf(raw, "autoscale", DEFAULTS.autoscale);
  const highWater = a.finite("highWater", 0);
  const lowWater = a.finite("lowWater", 0);
  if (highWater > 0 && lowWater >= highWater) {
    fail("autoscale.lowWater", `must be < highWater (${highWater}), got ${lowWater}`);
  }
  return { highWater, lowWater, sustainMs: a.integer("sustainMs", 0, MAX_TIMER_MS) };
}

export function parseDeploy(raw: unknown): DeployConfig {
  const d = keysOf(raw, "deploy", DEFAULTS.deploy);
  const cellsPerSecond = d.positive("cellsPerSecond");
  if (cellsPerSecond > 1000) {
    fail("deploy.cellsPerSecond", `expected at most 1000, got ${cellsPerSecond}`);
  }
  const sessionsPerSecond = d.integer("sessionsPerSecond", 1, 100_000);
  return { cellsPerSecond, sessionsPerSecond };
}

export function parseFaultTolerance(raw: unknown): FaultToleranceConfig {
  const f = keysOf(raw, "faultTolerance", DEFAULTS.faultTolerance);
  return {
    mode: f.oneOf("mode", ["replica", "pool", "none"] as const),
    replicationTicks: f.integer("replicationTicks", 1, 1000),
  };
}

export function parseGateway(raw: unknown): GatewayConfig {
  const gateway = allIntegers(raw, "gateway", DEFAULTS.gateway, 1, MAX_TIMER_MS);
  if (gateway.maxFrameBytes > 16 * 1024 * 1024) {
    fail("gateway.maxFrameBytes", `expected at most 16777216, got ${gateway.maxFrameBytes}`);
  }
  return gateway;
}

/**
 * The `game` section: `{ module, options }`, or the legacy form where the demo's options sit
 * directly under `game`. The demo's options are validated here; a module's when it is loaded.
 */
export function parseGame(raw: unknown, aoiRadius: number, world: WorldConfig): GameConfig {
  if (!isPlainObject(raw)) CONFIG_STYLE.mismatch("game", "an object", raw);
  const legacy = !Object.hasOwn(raw, "module") && !Object.hasOwn(raw, "options");
  if (legacy) {
    return {
      module: "",
      options: { ...parseDemoOptions(raw, optionsContext("game", aoiRadius, world)) },
    };
  }
  for (const key of Object.keys(raw)) {
    if (Object.hasOwn(DEFAULTS.game, key)) continue;
    fail(`game.${key}`, "unknown key (with game.module, a game's options go in game.options)");
  }
  const module = read.string(pick(raw, "module", ""), "game.module");
  const options = pick(raw, "options", {});
  if (!isPlainObject(options)) CONFIG_STYLE.mismatch("game.options", "an object", options);
  if (module !== "") return { module, options };
  return {
    module,
    options: { ...parseDemoOptions(options, optionsContext("game.options", aoiRadius, world)) },
  };
}

export function rejectUnknownKeys(
  raw: Record<string, unknown>,
  known: object,
  prefix: string,
): void {
  for (const key of Object.keys(raw)) {
    if (!Object.hasOwn(known, key)) fail(`${prefix}${key}`, "unknown key");
  }
}
