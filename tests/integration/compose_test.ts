// docker-compose.yml's start commands run as local processes (Docker cannot run here): the same
// commands and environment, the image's ENV, hosts mapped to 127.0.0.1 and ports to free ones,
// each service started after its dependencies pass the image's own HEALTHCHECK command.
import assert from "node:assert/strict";
import postgres from "postgres";
import { readCompose, readDockerfile, startOrder } from "../../testing/compose.ts";
import { NodeProcess, until } from "../../testing/node_process.ts";
import { startPostgres } from "../../testing/postgres.ts";

const SECRETS = {
  ZS_SECRET: "compose-test-cluster-secret",
  ZS_OPERATOR_TOKEN: "compose-test-operator-token",
  ZS_DB_PASSWORD: "compose-test-db-password",
};

function freePort(): number {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const { port } = listener.addr as Deno.NetAddr;
  listener.close();
  return port;
}

/** Runs the image's HEALTHCHECK command with a service's environment; true on exit 0. */
async function healthy(command: string[], env: Record<string, string>): Promise<boolean> {
  const [program, ...args] = command;
  const output = await new Deno.Command(program, {
    args,
    env,
    stdout: "null",
    stderr: "null",
    signal: AbortSignal.timeout(10_000),
  }).output();
  return output.success;
}

Deno.test("the compose services start as processes and pass the image's health check", async () => {
  const compose = readCompose(SECRETS);
  const image = readDockerfile();
  assert.ok(image.healthcheck.length > 0, "the Dockerfile has a HEALTHCHECK command");
  const database = await startPostgres();
  const dataDir = await Deno.makeTempDir({ prefix: "zs-compose-" });
  const nodes: NodeProcess[] = [];
  try {
    // The postgres service: its user and database, on our private server.
    const admin = postgres(database.url, { max: 1, onnotice: () => {} });
    await admin.unsafe(`CREATE ROLE zonescaler LOGIN PASSWORD '${SECRETS.ZS_DB_PASSWORD}'`);
    await admin.unsafe("ALTER DATABASE zonescaler OWNER TO zonescaler");
    await admin.end();
    const grpcPorts = new Map<string, number>();
    const httpPorts = new Map<string, number>();
    for (const service of startOrder(compose.services)) {
      if (!service.build) {
        assert.equal(service.name, "postgres", "the only image-based service");
        continue;
      }
      const env: Record<string, string> = { ...image.env, ...service.environment };
      // One machine instead of a network of containers: loopback, free ports, a temp volume.
      env.ZS_HOST = "127.0.0.1";
      env.ZS_ADVERTISE_HOST = "127.0.0.1";
      const http = freePort();
      httpPorts.set(service.name, http);
      env.ZS_PORT = String(http);
      if (env.ZS_GRPC_PORT) {
        const grpc = freePort();
        grpcPorts.set(service.name, grpc);
        env.ZS_GRPC_PORT = String(grpc);
      }
      if (env.ZS_COORDINATOR) {
        const [host] = env.ZS_COORDINATOR.split(":");
        env.ZS_COORDINATOR = `127.0.0.1:${grpcPorts.get(host)}`;
      }
      if (env.ZS_STORAGE_URL) {
        env.ZS_STORAGE_URL = env.ZS_STORAGE_URL.replace(
          "@postgres:5432/",
          `@127.0.0.1:${database.port}/`,
        );
      }
      env.ZS_STORAGE = env.ZS_STORAGE.replace(/^\/data\//, `${dataDir}/`);
      env.ZS_COORDINATOR_STATE = env.ZS_COORDINATOR_STATE.replace(/^\/data\//, `${dataDir}/`);
      for (const key of Object.keys(env)) {
        assert.ok(!/^(localhost|0\.0\.0\.0)$/.test(env[key]) || key === "ZS_HOST", `${key}`);
      }
      const node = new NodeProcess(service.name, service.command, env);
      nodes.push(node);
      await until(
        `${service.name} healthy`,
        async () => await healthy(image.healthcheck, env) ? true : undefined,
        60_000,
      );
    }
    const coordinator = `http://127.0.0.1:${httpPorts.get("coordinator")}`;
    const state = await until("both workers active", async () => {
      const s = await (await fetch(`${coordinator}/api/state`)).json();
      return s.workers.filter((w: { state: string }) => w.state === "active").length === 2
        ? s
        : undefined;
    });
    assert.deepEqual(state.workers.map((w: { id: string }) => w.id).sort(), ["w1", "w2"]);
    const gateway = `http://127.0.0.1:${httpPorts.get("gateway")}`;
    const registered = await fetch(`${gateway}/login`, {
      method: "POST",
      body: JSON.stringify({
        username: "compose_user",
        password: "compose-password",
        register: true,
      }),
    });
    assert.equal(registered.status, 200, await registered.clone().text());
    const body = await registered.json();
    assert.deepEqual(body.gateways.map((g: { url: string }) => g.url), [
      `ws://127.0.0.1:${httpPorts.get("gateway")}/ws`,
    ]);
    // Mutations need the operator token from the environment.
    const unauthorized = await fetch(`${coordinator}/api/autoscale`, {
      method: "POST",
      body: "{}",
    });
    assert.equal(unauthorized.status, 401);
    await unauthorized.body?.cancel();
    const authorized = await fetch(`${coordinator}/api/autoscale`, {
      method: "POST",
      headers: { authorization: `Bearer ${SECRETS.ZS_OPERATOR_TOKEN}` },
      body: "{}",
    });
    assert.equal(authorized.status, 200);
    await authorized.body?.cancel();
  } finally {
    await Promise.all(nodes.map((node) => node.kill()));
    await database.close();
    await Deno.remove(dataDir, { recursive: true });
  }
});
