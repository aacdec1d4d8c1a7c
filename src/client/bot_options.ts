// Command line of `--role=bots`: recognising the role before the node's own flag parser runs,
// the bots' flags with their defaults, and strict parsing into validated options.
import { parseArgs } from "node:util";
import type { FrameFormat } from "../protocol/client_protocol.ts";
import { flagError } from "../config/flags.ts";
import { configFields, fail } from "../config/config_fields.ts";

/** Validated options of a bots run. */
export interface BotOptions {
  /** HTTP base URL of the gateway to check in and log in with. */
  gateway: URL;
  clients: number;
  /** Length of the run, ms; every socket is closed with 1000 at its end. */
  durationMs: number;
  /** INPUTs per second per client. */
  rateHz: number;
  /** Clients start evenly spread over this time, ms (at most half the run). */
  rampMs: number;
  /** Time between PINGs of one client, ms. */
  pingMs: number;
  format: FrameFormat;
  /** Where to write the JSON report; undefined: print only. */
  reportPath: string | undefined;
  /** Guest names are `<name>-<n>`. */
  name: string;
  /** Seed of the bots' random walks and gateway choices. */
  seed: number;
  /** Bound on each HTTP request, WebSocket open and wait for WELCOME, ms. */
  timeoutMs: number;
  /** "world": walk the open world; "instances": quick-join `mode`, stay, leave, again. */
  scenario: "world" | "instances";
  /** Instance mode the instances scenario quick-joins. */
  mode: string;
  /** Time a bot stays in an instance (and, halved, in the world between joins), ms. */
  stayMs: number;
  help: boolean;
}

/** Defaults of every bots flag. */
export const BOT_DEFAULTS = Object.freeze({
  gateway: "http://127.0.0.1:8080",
  clients: 200,
  duration: 30,
  rate: 10,
  ramp: 3,
  ping: 3,
  format: "msgpack" as FrameFormat,
  name: "bot",
  seed: 1,
  timeout: 10,
  scenario: "world" as "world" | "instances",
  mode: "duel",
  stay: 3,
});

/** Help text of `--role=bots`. */
export const BOTS_USAGE: string = [
  "Usage: zonescaler --role=bots [flags]",
  "",
  "Simulated players over the real client protocol (docs/protocol.md): each checks in with",
  "GET /gateways, logs in as a guest, opens /ws, walks randomly and pings. Prints a progress",
  "line every second and a report at the end; exits 0 when every client connected and no",
  "error was seen (a stream with no DIFF for over 1 s and a session lost without a resume",
  "count as errors), 1 otherwise, 2 for bad flags.",
  "",
  `  --gateway URL      gateway to check in and log in with (default: ${BOT_DEFAULTS.gateway})`,
  `  --clients N        simulated clients, 1..100000 (default: ${BOT_DEFAULTS.clients})`,
  `  --duration S       seconds to run (default: ${BOT_DEFAULTS.duration})`,
  `  --rate HZ          INPUTs per second per client, 0.1..60 (default: ${BOT_DEFAULTS.rate})`,
  `  --ramp S           seconds over which clients start, at most half the run ` +
  `(default: ${BOT_DEFAULTS.ramp})`,
  `  --ping S           seconds between PINGs of a client (default: ${BOT_DEFAULTS.ping})`,
  `  --format F         msgpack or json (default: ${BOT_DEFAULTS.format})`,
  "  --report FILE      also write the report as JSON to FILE",
  `  --name PREFIX      guest names are PREFIX-1, PREFIX-2, ... (default: ${BOT_DEFAULTS.name})`,
  `  --seed N           seed of the random walks (default: ${BOT_DEFAULTS.seed})`,
  `  --timeout S        bound on each request, connect and handshake (default: ` +
  `${BOT_DEFAULTS.timeout})`,
  `  --scenario S       world (walk) or instances (quick-join --mode, stay, leave, again; ` +
  `join latency in the report) (default: ${BOT_DEFAULTS.scenario})`,
  `  --mode NAME        instance mode the instances scenario joins (default: ${BOT_DEFAULTS.mode})`,
  `  --stay S           seconds a bot stays in an instance, about (default: ${BOT_DEFAULTS.stay})`,
  "  -h, --help         print this help and exit",
].join("\n");

/**
 * True when the command line asks for `--role=bots` (or `--role bots`): such a command line
 * goes to {@linkcode parseBotArgs}, not to the node's config flags.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * assert.equal(wantsBots(["--role=bots", "--clients", "5"]), true);
 * assert.equal(wantsBots(["--role", "bots"]), true);
 * assert.equal(wantsBots(["--role=all"]), false);
 * ```
 */
export function wantsBots(args: readonly string[]): boolean {
  for (let i = 0; i < args.length; i++) {
    if (args[i] === "--") return false;
    if (args[i] === "--role=bots") return true;
    if (args[i] === "--role" && args[i + 1] === "bots") return true;
  }
  return false;
}

const FORMATS: readonly FrameFormat[] = ["msgpack", "json"];

const NUMBER_FLAGS = {
  clients: { min: 1, max: 100_000, integer: true },
  duration: { min: 0.1, max: 86_400, integer: false },
  rate: { min: 0.1, max: 60, integer: false },
  ramp: { min: 0, max: 3_600, integer: false },
  ping: { min: 0.1, max: 3_600, integer: false },
  seed: { min: -(2 ** 31), max: 2 ** 32 - 1, integer: true },
  timeout: { min: 0.1, max: 600, integer: false },
  stay: { min: 0.1, max: 3_600, integer: false },
} as const;

/**
 * Parses the bots' command line (strict: an unknown flag or a positional argument is an
 * error). Throws {@linkcode ConfigError} naming the flag, e.g.
 * `CONFIG_INVALID: --clients: expected an integer in 1..100000, got "many"`.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * const options = parseBotArgs(["--role=bots", "--clients", "20", "--duration", "5"]);
 * assert.equal(options.clients, 20);
 * assert.equal(options.durationMs, 5000);
 * assert.throws(() => parseBotArgs(["--role=bots", "--bogus"]), /--bogus: unknown flag/);
 * ```
 */
export function parseBotArgs(args: readonly string[]): BotOptions {
  let values: Record<string, string | boolean | undefined>;
  try {
    values = parseArgs({
      args: [...args],
      strict: true,
      allowPositionals: false,
      options: {
        role: { type: "string" },
        gateway: { type: "string" },
        clients: { type: "string" },
        duration: { type: "string" },
        rate: { type: "string" },
        ramp: { type: "string" },
        ping: { type: "string" },
        format: { type: "string" },
        report: { type: "string" },
        name: { type: "string" },
        seed: { type: "string" },
        timeout: { type: "string" },
        scenario: { type: "string" },
        mode: { type: "string" },
        stay: { type: "string" },
        help: { type: "boolean", short: "h" },
      },
    }).values;
  } catch (error) {
    throw flagError(error);
  }
  if (values.role !== "bots") {
    fail("--role", `expected "bots", got ${JSON.stringify(values.role ?? "")}`);
  }
  const number = (flag: keyof typeof NUMBER_FLAGS): number => {
    const raw = values[flag];
    const fallback = BOT_DEFAULTS[flag];
    if (raw === undefined) return fallback;
    const { min, max, integer } = NUMBER_FLAGS[flag];
    // Only plain decimals become numbers; anything else is shown as the text it was.
    const value = typeof raw === "string" && /^-?\d+(\.\d+)?$/.test(raw.trim()) ? Number(raw) : raw;
    return integer
      ? configFields.integer(value, `--${flag}`, min, max)
      : configFields.finite(value, `--${flag}`, min, max);
  };
  const format = configFields.oneOf(values.format ?? BOT_DEFAULTS.format, "--format", FORMATS);
  const name = String(values.name ?? BOT_DEFAULTS.name);
  if (!/^[A-Za-z0-9_.-]{1,20}$/.test(name)) {
    fail("--name", `expected 1-20 characters of A-Z a-z 0-9 _ . -, got ${JSON.stringify(name)}`);
  }
  const scenario = configFields.oneOf(
    values.scenario ?? BOT_DEFAULTS.scenario,
    "--scenario",
    ["world", "instances"] as const,
  );
  const mode = String(values.mode ?? BOT_DEFAULTS.mode);
  if (!/^[A-Za-z][A-Za-z0-9_.-]{0,63}$/.test(mode)) {
    fail("--mode", `expected an instance mode name, got ${JSON.stringify(mode)}`);
  }
  const durationMs = Math.round(number("duration") * 1000);
  const report = values.report;
  if (report === "") fail("--report", "expected a file path");
  return {
    gateway: gatewayUrl(String(values.gateway ?? BOT_DEFAULTS.gateway)),
    clients: number("clients"),
    durationMs,
    rateHz: number("rate"),
    rampMs: Math.min(Math.round(number("ramp") * 1000), Math.floor(durationMs / 2)),
    pingMs: Math.round(number("ping") * 1000),
    format,
    reportPath: typeof report === "string" ? report : undefined,
    name,
    seed: number("seed"),
    timeoutMs: Math.round(number("timeout") * 1000),
    scenario,
    mode,
    stayMs: Math.round(number("stay") * 1000),
    help: values.help === true,
  };
}

function gatewayUrl(text: string): URL {
  let url: URL | undefined;
  try {
    url = new URL(text);
  } catch {
    url = undefined;
  }
  if (!url || (url.protocol !== "http:" && url.protocol !== "https:")) {
    fail("--gateway", `expected an http:// or https:// URL, got ${JSON.stringify(text)}`);
  }
  return url;
}
