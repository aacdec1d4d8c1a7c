import assert from "node:assert/strict";
import {
  type Config,
  DEFAULTS,
  loadConfig,
  parseConfig,
  parseFlags,
  USAGE,
} from "../../src/config/config.ts";
import { ConfigError, ErrorCode } from "../../src/errors.ts";

const SECRET = "0123456789abcdef";

/** Asserts that `run` throws a ConfigError with exactly `message` and `field`. */
function assertConfigError(run: () => unknown, field: string, message: string | RegExp): void {
  assert.throws(run, (error: unknown) => {
    assert.ok(error instanceof ConfigError, `expected a ConfigError, got ${error}`);
    assert.equal(error.name, "ConfigError");
    assert.equal(error.code, ErrorCode.CONFIG_INVALID);
    assert.equal(error.field, field);
    if (typeof message === "string") assert.equal(error.message, message);
    else assert.match(error.message, message);
    assert.ok(!error.message.includes("\n"), "message is one line");
    return true;
  });
}

/** Writes `text` to a temporary file, runs `use` with its path, and removes the file. */
function withTempFile<T>(text: string, use: (path: string) => T): T {
  const path = Deno.makeTempFileSync({ suffix: ".json" });
  try {
    Deno.writeTextFileSync(path, text);
    return use(path);
  } finally {
    Deno.removeSync(path);
  }
}

// --- bad values -------------------------------------------------------------------------------

Deno.test("an unknown top-level key is rejected by name", () => {
  assertConfigError(() => parseConfig({ prot: 8080 }), "prot", "CONFIG_INVALID: prot: unknown key");
});

Deno.test("an unknown key inside world or game is rejected with its dotted path", () => {
  assertConfigError(
    () => parseConfig({ world: { dims: 2, foo: 1 } }),
    "world.foo",
    "CONFIG_INVALID: world.foo: unknown key",
  );
  assertConfigError(
    () => parseConfig({ game: { npc: 3 } }),
    "game.npc",
    "CONFIG_INVALID: game.npc: unknown key",
  );
});

Deno.test("a string port is a type error, not coerced", () => {
  assertConfigError(
    () => parseConfig({ port: "8080" }),
    "port",
    'CONFIG_INVALID: port: expected an integer in 0..65535, got "8080"',
  );
});

Deno.test("a fractional tickHz is rejected", () => {
  assertConfigError(
    () => parseConfig({ tickHz: 20.5 }),
    "tickHz",
    "CONFIG_INVALID: tickHz: expected an integer in 1..120, got 20.5",
  );
});

Deno.test("a boolean secret is rejected without coercion", () => {
  assertConfigError(
    () => parseConfig({ secret: true }),
    "secret",
    "CONFIG_INVALID: secret: expected a string, got true",
  );
});

Deno.test("a non-numeric cellSize names the nested field", () => {
  assertConfigError(
    () => parseConfig({ world: { cellSize: "abc" } }),
    "world.cellSize",
    'CONFIG_INVALID: world.cellSize: expected a number > 0, got "abc"',
  );
});

Deno.test("a port above 65535 is out of range", () => {
  assertConfigError(
    () => parseConfig({ port: 70000 }),
    "port",
    "CONFIG_INVALID: port: expected an integer in 0..65535, got 70000",
  );
});

Deno.test("world.dims other than 2 or 3 is rejected", () => {
  assertConfigError(
    () => parseConfig({ world: { dims: 4 } }),
    "world.dims",
    "CONFIG_INVALID: world.dims: expected 2 or 3, got 4",
  );
});

Deno.test("world.size must have one extent per dimension", () => {
  assertConfigError(
    () => parseConfig({ world: { dims: 3, size: [1000, 1000] } }),
    "world.size",
    "CONFIG_INVALID: world.size: expected 3 numbers (world.dims), got 2",
  );
});

Deno.test("a non-positive world extent names its axis", () => {
  assertConfigError(
    () => parseConfig({ world: { size: [1000, -5] } }),
    "world.size[1]",
    "CONFIG_INVALID: world.size[1]: expected a number > 0, got -5",
  );
});

Deno.test("snapshotHz must divide tickHz, at most tickHz, 0 for every tick", () => {
  assertConfigError(
    () => parseConfig({ tickHz: 20, snapshotHz: 7 }),
    "snapshotHz",
    "CONFIG_INVALID: snapshotHz: must divide tickHz (20) or be 0 (every tick), got 7",
  );
  assert.throws(() => parseConfig({ tickHz: 20, snapshotHz: 40 }), /snapshotHz/);
  assert.throws(() => parseConfig({ snapshotHz: "10" }), /snapshotHz/);
  assert.equal(parseConfig({ tickHz: 20, snapshotHz: 10 }).snapshotHz, 10);
  assert.equal(parseConfig({}).snapshotHz, 0);
});

Deno.test("a region is a name of 1-64 characters, or none", () => {
  assertConfigError(
    () => parseConfig({ region: "eu west" }),
    "region",
    'CONFIG_INVALID: region: expected 1-64 characters of A-Z a-z 0-9 _ . : -, got "eu west"',
  );
  assert.equal(parseConfig({ region: "eu-west:1" }).region, "eu-west:1");
  assert.equal(parseConfig({}).region, "");
});

Deno.test("ghostMargin below aoiRadius is rejected", () => {
  assertConfigError(
    () => parseConfig({ aoiRadius: 50, ghostMargin: 40 }),
    "ghostMargin",
    "CONFIG_INVALID: ghostMargin: must be >= aoiRadius (50), got 40",
  );
});

Deno.test("ghostMargin as wide as a cell is rejected", () => {
  assertConfigError(
    () => parseConfig({ world: { cellSize: 100 }, ghostMargin: 100 }),
    "ghostMargin",
    "CONFIG_INVALID: ghostMargin: must be < world.cellSize (100), got 100",
  );
});

Deno.test("workerTimeoutMs must exceed heartbeatMs", () => {
  assertConfigError(
    () => parseConfig({ heartbeatMs: 1000, workerTimeoutMs: 1000 }),
    "workerTimeoutMs",
    "CONFIG_INVALID: workerTimeoutMs: must be > heartbeatMs (1000), got 1000",
  );
});

Deno.test("faultTolerance defaults to replica every 2 ticks and rejects bad modes and intervals", () => {
  const config = parseConfig({});
  assert.deepEqual(config.faultTolerance, { mode: "replica", replicationTicks: 2 });
  assert.equal(config.heartbeatMs, 250);
  assert.equal(config.workerTimeoutMs, 1000);
  assert.equal(config.workerStreamGraceMs, 300);
  assert.equal(parseConfig({ faultTolerance: { mode: "pool" } }).faultTolerance.mode, "pool");
  assertConfigError(
    () => parseConfig({ faultTolerance: { mode: "mirror" } }),
    "faultTolerance.mode",
    'CONFIG_INVALID: faultTolerance.mode: expected one of "replica", "pool", "none", got "mirror"',
  );
  assertConfigError(
    () => parseConfig({ faultTolerance: { replicationTicks: 0 } }),
    "faultTolerance.replicationTicks",
    /faultTolerance\.replicationTicks: expected an integer in 1\.\.1000, got 0/,
  );
  assertConfigError(
    () => parseConfig({ faultTolerance: { every: 2 } }),
    "faultTolerance.every",
    /unknown key/,
  );
  assertConfigError(() => parseConfig({ faultTolerance: "replica" }), "faultTolerance", /object/);
  assertConfigError(
    () => parseConfig({ workerStreamGraceMs: -1 }),
    "workerStreamGraceMs",
    /expected an integer/,
  );
});

Deno.test("role worker without a secret is refused", () => {
  assertConfigError(
    () => parseConfig({ role: "worker" }),
    "secret",
    "CONFIG_INVALID: secret: required (at least 16 characters)",
  );
  assertConfigError(
    () => parseConfig({ role: "coordinator", secret: "" }),
    "secret",
    "CONFIG_INVALID: secret: required (at least 16 characters)",
  );
});

Deno.test("a short secret is refused and not echoed in the message", () => {
  assertConfigError(
    () => parseConfig({ secret: "hunter2" }),
    "secret",
    "CONFIG_INVALID: secret: expected at least 16 characters, got 7",
  );
});

Deno.test("game.bumpRadius larger than aoiRadius is rejected", () => {
  assertConfigError(
    () => parseConfig({ aoiRadius: 50, game: { bumpRadius: 60 } }),
    "game.bumpRadius",
    "CONFIG_INVALID: game.bumpRadius: must be <= aoiRadius (50), got 60",
  );
});

Deno.test("a world with more than a million cells is rejected", () => {
  assertConfigError(
    () =>
      parseConfig({
        world: { size: [100000, 100000], cellSize: 10 },
        aoiRadius: 5,
        ghostMargin: 6,
      }),
    "world.cellSize",
    "CONFIG_INVALID: world.cellSize: gives 10000 × 10000 = 100000000 cells, " +
      "more than the maximum of 1000000",
  );
  // Exactly the limit is fine: 1000 × 1000 cells.
  const config = parseConfig({
    world: { size: [10000, 10000], cellSize: 10 },
    aoiRadius: 5,
    ghostMargin: 6,
    game: { bumpRadius: 4 },
  });
  assert.equal(config.world.cellSize, 10);
});

Deno.test("an unknown role and a malformed coordinator address are rejected", () => {
  assertConfigError(
    () => parseConfig({ role: "router" }),
    "role",
    'CONFIG_INVALID: role: expected one of "all", "coordinator", "worker", "gateway", got "router"',
  );
  assertConfigError(
    () => parseConfig({ gateway: { maxFrameBytes: 0 } }),
    "gateway.maxFrameBytes",
    "CONFIG_INVALID: gateway.maxFrameBytes: expected an integer in 1..2147483647, got 0",
  );
  assertConfigError(
    () => parseConfig({ rebalance: { ratio: 1 } }),
    "rebalance.ratio",
    "CONFIG_INVALID: rebalance.ratio: must be > 1, got 1",
  );
  assertConfigError(
    () => parseConfig({ autoscale: { highWater: 10, lowWater: 10 } }),
    "autoscale.lowWater",
    "CONFIG_INVALID: autoscale.lowWater: must be < highWater (10), got 10",
  );
  assertConfigError(
    () => parseConfig({ game: { hotspot: { at: [5000, 1], radius: 10, fraction: 0.5 } } }),
    "game.hotspot.at[0]",
    "CONFIG_INVALID: game.hotspot.at[0]: must lie inside the world (< 1000), got 5000",
  );
  assertConfigError(
    () => parseConfig({ load: { entities: -1 } }),
    "load.entities",
    "CONFIG_INVALID: load.entities: expected a number >= 0, got -1",
  );
  assertConfigError(
    () => parseConfig({ coordinator: "127.0.0.1:0" }),
    "coordinator",
    'CONFIG_INVALID: coordinator: expected "host:port" with port 1..65535, got "127.0.0.1:0"',
  );
  assertConfigError(
    () => parseConfig({ nodeId: "a b" }),
    "nodeId",
    'CONFIG_INVALID: nodeId: expected 1-64 characters from A-Z a-z 0-9 _ . -, got "a b"',
  );
});

Deno.test("only the first problem is reported", () => {
  assertConfigError(
    () => parseConfig({ port: -1, tickHz: 0 }),
    "port",
    "CONFIG_INVALID: port: expected an integer in 0..65535, got -1",
  );
});

// --- files ------------------------------------------------------------------------------------

Deno.test("a missing config file reports the OS reason", () => {
  assertConfigError(
    () => loadConfig("nope.json"),
    "--config",
    'CONFIG_INVALID: --config: cannot read "nope.json": No such file or directory',
  );
});

Deno.test("a config file that is not JSON reports the parser message", () => {
  withTempFile("{ port: 8080 }", (path) => {
    assertConfigError(
      () => loadConfig(path),
      "--config",
      new RegExp(
        `^CONFIG_INVALID: --config: "${path.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")}" ` +
          "is not valid JSON: \\S.*$",
      ),
    );
  });
});

Deno.test("a config file holding a non-object JSON value is rejected", () => {
  for (const text of ["[1, 2]", "42", "null", '"port"']) {
    withTempFile(text, (path) => {
      assertConfigError(
        () => loadConfig(path),
        "--config",
        "CONFIG_INVALID: --config: expected a JSON object",
      );
    });
  }
});

// --- good values ------------------------------------------------------------------------------

Deno.test("each shipped config file parses with its role", () => {
  const all = loadConfig("config/all.json");
  assert.equal(all.role, "all");
  assert.equal(all.secret, "", "role all makes a random secret at start-up");
  assert.deepEqual(all.world, { dims: 2, size: [1000, 1000], cellSize: 100 });
  assert.equal(all.game.options.npcs, 400);

  // No secret in any shipped file: the other roles take it from the environment.
  const env = { ZS_SECRET: "0123456789abcdef-from-env" };
  assert.throws(() => loadConfig("config/coordinator.json"), /secret: required/);
  const coordinator = loadConfig("config/coordinator.json", {}, env);
  assert.equal(coordinator.secret, env.ZS_SECRET);
  assert.equal(coordinator.role, "coordinator");
  assert.equal(coordinator.grpcPort, 7070);
  assert.equal(coordinator.minWorkers, 2);

  const worker = loadConfig("config/worker.json", {}, env);
  assert.equal(worker.role, "worker");
  assert.equal(worker.port, 0);
  assert.equal(worker.grpcPort, 0);
  assert.equal(worker.coordinator, "127.0.0.1:7070");
  assert.equal(worker.secret, coordinator.secret);
});

Deno.test("an empty config is filled entirely from defaults", () => {
  const config: Config = parseConfig({});
  assert.deepEqual(config, DEFAULTS);
  assert.equal(config.secret, "", "role all leaves the secret for the caller to generate");
  assert.deepEqual(loadConfig(undefined), config);
});

Deno.test("a 3D world without size defaults to 1000 per axis", () => {
  const config = parseConfig({ world: { dims: 3 } });
  assert.deepEqual(config.world.size, [1000, 1000, 1000]);
});

Deno.test("DEFAULTS cannot be mutated by a caller", () => {
  assert.throws(() => {
    (DEFAULTS.world.size as number[]).push(1);
  }, TypeError);
});

Deno.test("flags override values from the file", () => {
  const flags = parseFlags(["--config", "config/all.json", "--port", "9000", "--pool"]);
  const config = loadConfig(flags.configPath, flags.overrides);
  assert.equal(config.port, 9000);
  assert.equal(config.pool, true);
  assert.equal(config.tickHz, 20, "keys without a flag keep the file value");
});

Deno.test("overrides merge into nested objects per key", () => {
  const config = loadConfig("config/all.json", { world: { cellSize: 200 }, game: { npcs: 0 } });
  assert.deepEqual(config.world, { dims: 2, size: [1000, 1000], cellSize: 200 });
  assert.equal(config.game.options.npcs, 0);
  assert.equal(config.game.options.speed, 40);
});

Deno.test("a flag value is validated exactly like the file value", () => {
  const flags = parseFlags(["--port=70000"]);
  assertConfigError(
    () => loadConfig("config/all.json", flags.overrides),
    "port",
    "CONFIG_INVALID: port: expected an integer in 0..65535, got 70000",
  );
});

Deno.test("grpcPort defaults to 7070 for a coordinator and 0 otherwise", () => {
  const coordinator = parseFlags(["--role", "coordinator", "--secret", SECRET]);
  assert.equal(loadConfig(undefined, coordinator.overrides).grpcPort, 7070);
  const worker = parseFlags(["--role", "worker", "--secret", SECRET]);
  assert.equal(loadConfig(undefined, worker.overrides).grpcPort, 0);
  assert.equal(loadConfig(undefined, {}).grpcPort, 0);
  const explicit = parseFlags(["--role", "coordinator", "--secret", SECRET, "--grpc-port", "7100"]);
  assert.equal(loadConfig(undefined, explicit.overrides).grpcPort, 7100);
});

Deno.test("every flag maps to its config key with numbers converted", () => {
  const flags = parseFlags([
    "--role=worker",
    "--node-id=w1",
    "--host=0.0.0.0",
    "--port=1",
    "--grpc-port=2",
    "--advertise-host=10.0.0.5",
    "--coordinator=10.0.0.1:7070",
    "--static-dir=public",
    "--log-level=debug",
    `--secret=${SECRET}`,
    "--workers=3",
    "--min-workers=4",
    "--tick-hz=30",
    "--pool",
  ]);
  assert.deepEqual(flags.overrides, {
    role: "worker",
    nodeId: "w1",
    host: "0.0.0.0",
    port: 1,
    grpcPort: 2,
    advertiseHost: "10.0.0.5",
    coordinator: "10.0.0.1:7070",
    static_dir: "public",
    logLevel: "debug",
    secret: SECRET,
    workers: 3,
    minWorkers: 4,
    tickHz: 30,
    pool: true,
  });
  assert.equal(flags.configPath, undefined);
  assert.equal(flags.help, false);
  assert.equal(flags.version, false);
  assert.equal(loadConfig(undefined, flags.overrides).nodeId, "w1");
});

Deno.test("an unknown flag is named in the error", () => {
  assertConfigError(
    () => parseFlags(["--prot", "80"]),
    "--prot",
    "CONFIG_INVALID: --prot: unknown flag",
  );
});

Deno.test("a non-numeric --port is rejected at the flag", () => {
  assertConfigError(
    () => parseFlags(["--port", "abc"]),
    "--port",
    'CONFIG_INVALID: --port: expected an integer, got "abc"',
  );
  assertConfigError(
    () => parseFlags(["--tick-hz=2.5"]),
    "--tick-hz",
    'CONFIG_INVALID: --tick-hz: expected an integer, got "2.5"',
  );
});

Deno.test("a flag missing its value and a stray argument are rejected", () => {
  assertConfigError(
    () => parseFlags(["--port"]),
    "--port",
    /^CONFIG_INVALID: --port: expected a value/,
  );
  assertConfigError(
    () => parseFlags(["--pool", "true"]),
    "args",
    'CONFIG_INVALID: args: unexpected argument "true"',
  );
});

Deno.test("--help, -h, --version and -v set their booleans", () => {
  assert.equal(parseFlags(["--help"]).help, true);
  assert.equal(parseFlags(["-h"]).help, true);
  assert.equal(parseFlags(["--version"]).version, true);
  assert.equal(parseFlags(["-v"]).version, true);
  assert.deepEqual(parseFlags([]), { overrides: {}, help: false, version: false });
});

Deno.test("USAGE lists every flag", () => {
  for (
    const flag of [
      "--config",
      "--role",
      "--node-id",
      "--host",
      "--port",
      "--grpc-port",
      "--advertise-host",
      "--coordinator",
      "--static-dir",
      "--log-level",
      "--secret",
      "--workers",
      "--min-workers",
      "--tick-hz",
      "--pool",
      "--help",
      "--version",
    ]
  ) {
    assert.match(USAGE, new RegExp(`${flag}\\b`), flag);
  }
  assert.match(USAGE, /--port N\s+.*\(default: 8080\)/);
});

Deno.test("a worker's sync waits are config keys in ms, defaulting to the space's own", () => {
  const config = parseConfig({ space: { epochWaitMs: 500 } });
  assert.equal(config.space.epochWaitMs, 500);
  assert.equal(config.space.forwardMs, DEFAULTS.space.forwardMs);
  assert.deepEqual(parseConfig({}).space, DEFAULTS.space);
  assertConfigError(
    () => parseConfig({ space: { forwardMs: 0 } }),
    "space.forwardMs",
    "CONFIG_INVALID: space.forwardMs: expected an integer in 1..2147483647, got 0",
  );
  assertConfigError(
    () => parseConfig({ space: { resendTicks: 40 } }),
    "space.resendTicks",
    "CONFIG_INVALID: space.resendTicks: unknown key",
  );
});

Deno.test("auditEvents is off by default and must be an integer in 0..1000000", () => {
  assert.equal(parseConfig({}).auditEvents, 0, "audit logs are off unless asked for");
  assert.equal(parseConfig({ auditEvents: 5000 }).auditEvents, 5000);
  assertConfigError(() => parseConfig({ auditEvents: -1 }), "auditEvents", /0\.\.1000000/);
  assertConfigError(() => parseConfig({ auditEvents: 1_000_001 }), "auditEvents", /0\.\.1000000/);
  assertConfigError(() => parseConfig({ auditEvents: "on" }), "auditEvents", /integer/);
  assertConfigError(() => parseConfig({ auditEvents: true }), "auditEvents", /integer/);
});
