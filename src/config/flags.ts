// Command-line flags of a node: which flag overrides which config key, the help text listing
// them with their defaults, and strict parsing into overrides shaped like the config file.
import { parseArgs } from "node:util";
import { ConfigError } from "../errors.ts";
import { fail, show } from "./config_fields.ts";
import { type Config, COORDINATOR_GRPC_PORT, DEFAULTS, MIN_SECRET_LENGTH } from "./schema.ts";

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
  /** The flag sets this key inside the config key's object (`--game` → `game.module`). */
  nested?: string;
}

const FLAG_SPECS: readonly FlagSpec[] = [
  { flag: "config", kind: "string", arg: "FILE", help: "JSON config file (default: none)" },
  {
    flag: "storage",
    key: "storage",
    kind: "string",
    arg: "FILE|URL",
    help: "SQLite file of accounts, or a postgres:// URL",
  },
  {
    flag: "coordinator-state",
    key: "coordinatorState",
    kind: "string",
    arg: "FILE",
    help: "the coordinator's state file (SQLite; :memory: = nothing survives a restart)",
  },
  {
    flag: "standby-of",
    key: "standbyOf",
    kind: "string",
    arg: "HOST:PORT",
    help: "start this coordinator as the standby of the active one at HOST:PORT (gRPC)",
  },
  {
    flag: "admin-port",
    key: "adminPort",
    kind: "integer",
    arg: "N",
    help: "serve the coordinator's control API on its own port (0 = on --port)",
  },
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
    arg: "HOST:PORT[,HOST:PORT]",
    help: "coordinator gRPC address (both of an active/standby pair, comma-separated)",
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
  {
    flag: "game",
    key: "game",
    nested: "module",
    kind: "string",
    arg: "FILE",
    help: "game module, its default export a defineGame(...) value (default: the demo game)",
  },
  { flag: "pool", key: "pool", kind: "boolean", help: "register this worker as a warm spare" },
  {
    flag: "region",
    key: "region",
    kind: "string",
    arg: "NAME",
    help: 'the region this worker runs in (rooms on it carry it; "" = none)',
  },
  { flag: "help", kind: "boolean", short: "h", help: "print this help and exit" },
  { flag: "version", kind: "boolean", short: "v", help: "print the version and exit" },
];

/**
 * Help text listing every flag with its default.
 */
export const USAGE: string = [
  "Usage: zonescaler [--config FILE] [flags]",
  "",
  "Flags override ZS_* environment variables, which override the config file; defaults fill",
  "the rest. Secrets (ZS_SECRET, ZS_OPERATOR_TOKEN) are best given in the environment.",
  "",
  ...FLAG_SPECS.map((spec) => {
    const name = `${spec.short ? `-${spec.short}, ` : "    "}--${spec.flag}${
      spec.arg ? ` ${spec.arg}` : ""
    }`;
    const fallback = spec.key === undefined || spec.key === "grpcPort" || spec.key === "nodeId" ||
        spec.key === "secret" || spec.nested !== undefined
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
      overrides[spec.key] = spec.nested === undefined ? value : { [spec.nested]: value };
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
