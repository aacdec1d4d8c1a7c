import assert from "node:assert/strict";
import {
  DEFAULTS,
  envNameOf,
  envOverrides,
  envVariables,
  loadConfig,
  parseFlags,
} from "../../src/config/config.ts";

const SECRET = "a-secret-from-the-env";
const TOKEN = "an-operator-token-from-env";

Deno.test("ZS_SECRET and ZS_OPERATOR_TOKEN configure a coordinator with no secret in any file", () => {
  const config = loadConfig("config/coordinator.json", {}, {
    ZS_SECRET: SECRET,
    ZS_OPERATOR_TOKEN: TOKEN,
  });
  assert.equal(config.secret, SECRET);
  assert.equal(config.operatorToken, TOKEN);
  for (const file of Deno.readDirSync("config")) {
    const text = Deno.readTextFileSync(`config/${file.name}`);
    assert.doesNotMatch(text, /"secret"|"operatorToken"/, `config/${file.name} holds a secret`);
  }
});

Deno.test("flags win over the environment, which wins over the file", () => {
  const env = { ZS_SECRET: SECRET, ZS_PORT: "9100", ZS_LOG_LEVEL: "warn" };
  const fromEnv = loadConfig("config/coordinator.json", {}, env);
  assert.equal(fromEnv.port, 9100, "env over the file's 8080");
  assert.equal(fromEnv.logLevel, "warn");
  const flags = parseFlags(["--port", "9200"]);
  assert.equal(loadConfig("config/coordinator.json", flags.overrides, env).port, 9200);
  assert.equal(loadConfig("config/coordinator.json", {}, { ZS_SECRET: SECRET }).port, 8080);
});

Deno.test("nested keys, booleans, JSON values and the storage URL alias", () => {
  const overrides = envOverrides({
    ZS_GATEWAY_LOGIN_IP_BURST: "3",
    ZS_REBALANCE_ENABLED: "false",
    ZS_WORLD_SIZE: "[200, 300]",
    ZS_STORAGE_URL: "postgres://zs@db:5432/zonescaler",
    PATH: "/usr/bin",
  });
  assert.deepEqual(overrides, {
    gateway: { loginIpBurst: 3 },
    rebalance: { enabled: false },
    world: { size: [200, 300] },
    storage: "postgres://zs@db:5432/zonescaler",
  });
  const config = loadConfig(undefined, {}, {
    ZS_WORLD_SIZE: "[200, 300]",
    ZS_STORAGE_URL: "postgres://zs@db:5432/zonescaler",
  });
  assert.deepEqual(config.world.size, [200, 300]);
  assert.equal(config.storage, "postgres://zs@db:5432/zonescaler");
});

Deno.test("a bad or unknown ZS_ variable is one CONFIG_INVALID line naming it", () => {
  assert.throws(
    () => envOverrides({ ZS_PORTT: "1" }),
    /CONFIG_INVALID: ZS_PORTT: unknown configuration variable/,
  );
  assert.throws(() => envOverrides({ ZS_PORT: "eighty" }), /ZS_PORT: expected a number/);
  assert.throws(() => envOverrides({ ZS_POOL: "yes" }), /ZS_POOL: expected true or false/);
  assert.throws(() => envOverrides({ ZS_WORLD_SIZE: "[1," }), /ZS_WORLD_SIZE: expected JSON/);
  assert.throws(
    () => loadConfig(undefined, {}, { ZS_PORT: "70000" }),
    /CONFIG_INVALID: port: expected an integer in 0\.\.65535/,
  );
  assert.throws(
    () => loadConfig(undefined, {}, { ZS_OPERATOR_TOKEN: "short" }),
    /operatorToken: expected at least 16 characters, got 5/,
  );
});

Deno.test("every config key has a variable, and names follow the UPPER_SNAKE rule", () => {
  const names = envVariables().map((v) => v.name);
  assert.equal(new Set(names).size, names.length);
  assert.ok(names.includes("ZS_SECRET"));
  assert.ok(names.includes("ZS_OPERATOR_TOKEN"));
  assert.ok(names.includes("ZS_GATEWAY_TOKEN_TTL_MS"));
  assert.equal(envNameOf("static_dir"), "ZS_STATIC_DIR");
  assert.equal(envNameOf("space.epochWaitMs"), "ZS_SPACE_EPOCH_WAIT_MS");
});

Deno.test("docs/operations.md lists every environment variable with its key, type and default", () => {
  const doc = Deno.readTextFileSync("docs/operations.md");
  const valueOf = (key: string) =>
    key.split(".").reduce<unknown>(
      (o, k) => (o as Record<string, unknown>)?.[k],
      DEFAULTS,
    );
  const wrong = envVariables().map((v) => {
    const fallback = v.name === "ZS_STORAGE_URL" ? "—" : JSON.stringify(valueOf(v.key));
    return `| \`${v.name}\` | \`${v.key}\` | ${v.type} | \`${fallback}\` |`;
  }).filter((row) => !doc.includes(row));
  assert.deepEqual(wrong, []);
});

Deno.test("ZS_STORAGE_URL wins over ZS_STORAGE whatever their order", () => {
  const url = "postgres://zs@db/zonescaler";
  for (
    const env of [{ ZS_STORAGE: "/data/x.sqlite", ZS_STORAGE_URL: url }, {
      ZS_STORAGE_URL: url,
      ZS_STORAGE: "/data/x.sqlite",
    }]
  ) {
    assert.equal(envOverrides(env).storage, url);
  }
});

Deno.test("tls.cert, tls.key and tls.ca go together", () => {
  const paths = { cert: "node.pem", key: "node.key", ca: "ca.pem" };
  assert.deepEqual(loadConfig(undefined, { tls: paths }).tls, paths);
  assert.throws(
    () => loadConfig(undefined, {}, { ZS_TLS_CERT: "node.pem" }),
    /CONFIG_INVALID: tls: cert, key and ca go together/,
  );
});
