// Two gateways sharing accounts through a real PostgreSQL (storage from ZS_STORAGE_URL):
// register on one, log in on the other; /readyz answers once each is registered.
import assert from "node:assert/strict";
import { coordinatorArgs, NodeProcess, writeTestConfig } from "../../testing/node_process.ts";
import { startPostgres } from "../../testing/postgres.ts";

interface LoginAnswer {
  token?: string;
  error?: { code: string; message: string };
}

async function login(base: string, body: unknown): Promise<{ status: number; json: LoginAnswer }> {
  const response = await fetch(`${base}/login`, {
    method: "POST",
    body: JSON.stringify(body),
    signal: AbortSignal.timeout(10_000),
  });
  return { status: response.status, json: await response.json() };
}

Deno.test("an account registered on one gateway logs in on another through PostgreSQL", async () => {
  const postgres = await startPostgres();
  const config = writeTestConfig({});
  const nodes: NodeProcess[] = [];
  try {
    const coordinator = new NodeProcess("coordinator", coordinatorArgs(config));
    nodes.push(coordinator);
    const listening = await coordinator.waitFor("coordinator.listening");
    const api = `http://127.0.0.1:${listening.httpPort}`;
    assert.equal((await fetch(`${api}/readyz`)).status, 200);
    const gateways: string[] = [];
    for (const id of ["g1", "g2"]) {
      const gateway = new NodeProcess(id, [
        "--role=gateway",
        "--config",
        config,
        "--coordinator",
        `127.0.0.1:${listening.grpcPort}`,
        "--port",
        "0",
        "--node-id",
        id,
      ], { ZS_STORAGE_URL: postgres.url });
      nodes.push(gateway);
      const ready = await gateway.waitFor("gateway.listening");
      gateways.push(`http://${ready.httpAddress}`);
    }
    for (const base of gateways) {
      const readyz = await fetch(`${base}/readyz`);
      assert.deepEqual([readyz.status, (await readyz.json()).status], [200, "ready"]);
    }
    const account = { username: "Shared_Player", password: "correct horse battery" };
    const registered = await login(gateways[0], { ...account, register: true });
    assert.equal(registered.status, 200, JSON.stringify(registered.json));
    const elsewhere = await login(gateways[1], { ...account, username: "shared_player" });
    assert.equal(elsewhere.status, 200, JSON.stringify(elsewhere.json));
    assert.equal(typeof elsewhere.json.token, "string");
    const twice = await login(gateways[1], { ...account, register: true });
    assert.deepEqual([twice.status, twice.json.error?.code], [409, "USERNAME_TAKEN"]);
    const wrong = await login(gateways[1], { ...account, password: "wrong horse battery" });
    assert.deepEqual([wrong.status, wrong.json.error?.code], [401, "BAD_CREDENTIALS"]);
  } finally {
    await Promise.all(nodes.map((node) => node.kill()));
    Deno.removeSync(config);
    await postgres.close();
  }
});
