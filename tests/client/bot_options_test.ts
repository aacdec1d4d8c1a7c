import assert from "node:assert/strict";
import { BOT_DEFAULTS, parseBotArgs, wantsBots } from "../../src/client/bot_options.ts";
import { ConfigError } from "../../src/errors.ts";

Deno.test("--role=bots and --role bots are recognised before the node's flag parser", () => {
  assert.equal(wantsBots(["--role=bots"]), true);
  assert.equal(wantsBots(["--clients", "3", "--role", "bots"]), true);
  assert.equal(wantsBots(["--role=all", "--config", "config/all.json"]), false);
  assert.equal(wantsBots(["--role", "worker"]), false);
  assert.equal(wantsBots(["--", "--role=bots"]), false);
  assert.equal(wantsBots([]), false);
});

Deno.test("bots flags default to the documented values", () => {
  const options = parseBotArgs(["--role=bots"]);
  assert.equal(options.gateway.href, `${BOT_DEFAULTS.gateway}/`);
  assert.equal(options.clients, BOT_DEFAULTS.clients);
  assert.equal(options.durationMs, BOT_DEFAULTS.duration * 1000);
  assert.equal(options.rateHz, BOT_DEFAULTS.rate);
  assert.equal(options.rampMs, BOT_DEFAULTS.ramp * 1000);
  assert.equal(options.format, "msgpack");
  assert.equal(options.reportPath, undefined);
  assert.equal(options.help, false);
  assert.deepEqual([options.scenario, options.mode, options.stayMs], ["world", "duel", 3000]);
});

Deno.test("the instances scenario takes a mode and a stay", () => {
  const options = parseBotArgs([
    "--role=bots",
    "--scenario",
    "instances",
    "--mode",
    "arena",
    "--stay",
    "1.5",
  ]);
  assert.deepEqual([options.scenario, options.mode, options.stayMs], ["instances", "arena", 1500]);
});

Deno.test("bots flags are read with their units, and the ramp is at most half the run", () => {
  const options = parseBotArgs([
    "--role",
    "bots",
    "--gateway=http://127.0.0.1:9000",
    "--clients",
    "20",
    "--duration",
    "5",
    "--rate",
    "2.5",
    "--ramp",
    "10",
    "--format",
    "json",
    "--report",
    "out.json",
  ]);
  assert.equal(options.gateway.origin, "http://127.0.0.1:9000");
  assert.deepEqual(
    [options.clients, options.durationMs, options.rateHz, options.rampMs, options.format],
    [20, 5000, 2.5, 2500, "json"],
  );
  assert.equal(options.reportPath, "out.json");
});

Deno.test("bad bots flags are one-line CONFIG_INVALID errors naming the flag", () => {
  const cases: Array<[string[], RegExp]> = [
    [["--bogus"], /^CONFIG_INVALID: --bogus: unknown flag$/],
    [["extra"], /^CONFIG_INVALID: args: unexpected argument "extra"$/],
    [["--clients"], /^CONFIG_INVALID: --clients: expected a value/],
    [
      ["--clients", "many"],
      /^CONFIG_INVALID: --clients: expected an integer in 1..100000, got "many"$/,
    ],
    [["--clients", "0"], /^CONFIG_INVALID: --clients: expected an integer in 1/],
    [["--clients", "2.5"], /^CONFIG_INVALID: --clients: expected an integer/],
    [["--duration=-1"], /^CONFIG_INVALID: --duration: expected a number in 0.1..86400/],
    [["--rate", "1000"], /^CONFIG_INVALID: --rate: expected a number in 0.1..60, got 1000$/],
    [
      ["--format", "xml"],
      /^CONFIG_INVALID: --format: expected one of "msgpack", "json", got "xml"$/,
    ],
    [["--gateway", "ws://h/ws"], /^CONFIG_INVALID: --gateway: expected an http:\/\/ or https:\/\//],
    [["--gateway", "not a url"], /^CONFIG_INVALID: --gateway: /],
    [["--name", "a b"], /^CONFIG_INVALID: --name: /],
    [["--report="], /^CONFIG_INVALID: --report: expected a file path$/],
    [["--help=yes"], /^CONFIG_INVALID: --help: takes no value$/],
    [
      ["--scenario", "rooms"],
      /^CONFIG_INVALID: --scenario: expected one of "world", "instances", got "rooms"$/,
    ],
    [["--mode", "1v1"], /^CONFIG_INVALID: --mode: expected an instance mode name, got "1v1"$/],
    [["--stay", "0"], /^CONFIG_INVALID: --stay: expected a number in 0.1..3600, got 0$/],
  ];
  for (const [args, expected] of cases) {
    assert.throws(() => parseBotArgs(["--role=bots", ...args]), (error: unknown) => {
      assert.ok(error instanceof ConfigError, `${args.join(" ")}: ${error}`);
      assert.match(error.message, expected, args.join(" "));
      assert.equal(error.message.split("\n").length, 1);
      return true;
    });
  }
  assert.throws(() => parseBotArgs(["--role=all"]), /--role: expected "bots", got "all"/);
});
