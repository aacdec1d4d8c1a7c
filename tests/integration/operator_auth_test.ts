// Operator authentication with real processes: role all's generated token and start line, every
// mutating endpoint without / with a wrong / with the right token, refusals counted, the control
// API on its own admin port.
import assert from "node:assert/strict";
import {
  coordinatorArgs,
  NodeProcess,
  until,
  writeTestConfig,
} from "../../testing/node_process.ts";

const WRONG = "not-the-operator-token-at-all";

function freePort(): number {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const { port } = listener.addr as Deno.NetAddr;
  listener.close();
  return port;
}

async function call(
  url: string,
  token: string | undefined,
  body: unknown,
): Promise<{ status: number; body: Record<string, unknown> }> {
  const response = await fetch(url, {
    method: "POST",
    headers: token === undefined ? {} : { authorization: `Bearer ${token}` },
    body: JSON.stringify(body),
    signal: AbortSignal.timeout(10_000),
  });
  return { status: response.status, body: await response.json() };
}

function unauthenticatedCount(metrics: string): number {
  const line = metrics.split("\n").find((l) =>
    l.startsWith("zs_errors_total{") && l.includes('code="UNAUTHENTICATED"') &&
    l.includes('role="coordinator"')
  );
  return line ? Number(line.split(" ").at(-1)) : 0;
}

Deno.test("role all prints a URL with a generated token; mutations need it: 401, 401, then 2xx", async () => {
  // No operatorToken anywhere: role all makes one for this run.
  const config = writeTestConfig({ role: "all", workers: 2, operatorToken: "" });
  const node = new NodeProcess("all", ["--config", config, "--port", "0"]);
  try {
    await node.waitFor("all.ready");
    const line = await until(
      "the diagnostics start line",
      () => Promise.resolve(node.stderr.find((l) => l.includes("diagnostics at"))),
    );
    const match = /diagnostics at (http:\/\/127\.0\.0\.1:(\d+)\/)\?token=([A-Za-z0-9_-]{43})\b/
      .exec(line);
    assert.ok(match, `a ready-to-click URL with the token: ${line}`);
    const [, base, , token] = match;
    // Read-only views stay open on loopback, the page too.
    assert.equal((await fetch(`${base}api/state`)).status, 200);
    assert.equal((await (await fetch(`${base}?token=${token}`)).text()).includes("<html"), true);
    assert.equal((await fetch(`${base}readyz`)).status, 200);

    const mutations: Array<[string, unknown, number]> = [
      ["api/autoscale", { highWater: 0, lowWater: 0 }, 200],
      ["api/cells/0/move", { to: "w2" }, 202],
      ["api/workers/w1/drain", {}, 202],
    ];
    for (const [path, body, ok] of mutations) {
      const none = await call(`${base}${path}`, undefined, body);
      assert.equal(none.status, 401, `${path} without a token`);
      assert.equal((none.body.error as { code: string }).code, "UNAUTHENTICATED");
      assert.match((none.body.error as { message: string }).message, /needs the operator token/);
      const wrong = await call(`${base}${path}`, WRONG, body);
      assert.equal(wrong.status, 401, `${path} with a wrong token`);
      assert.match((wrong.body.error as { message: string }).message, /token is wrong/);
      const right = await call(`${base}${path}`, token, body);
      assert.equal(right.status, ok, `${path} with the token: ${JSON.stringify(right.body)}`);
    }
    const metrics = await (await fetch(`${base}metrics`)).text();
    assert.equal(unauthenticatedCount(metrics), 6, "every refusal is counted");
    const logged = node.lines.filter((l) => l.event === "http.unauthenticated");
    assert.equal(logged.length, 6, "every refusal is logged");
    assert.ok(!JSON.stringify(node.lines).includes(token), "the token is never logged");
  } finally {
    await node.kill();
    Deno.removeSync(config);
  }
});

Deno.test("with an admin port the control API answers only there, behind the token", async () => {
  const token = "admin-port-operator-token";
  const adminPort = freePort();
  const config = writeTestConfig({ operatorToken: token });
  const node = new NodeProcess(
    "coordinator",
    coordinatorArgs(config, "--admin-port", String(adminPort)),
  );
  try {
    const listening = await node.waitFor("coordinator.listening");
    assert.equal(listening.adminPort, adminPort);
    const main = `http://127.0.0.1:${listening.httpPort}`;
    const admin = `http://127.0.0.1:${adminPort}`;
    const body = { highWater: 0, lowWater: 0 };
    assert.equal((await call(`${main}/api/autoscale`, token, body)).status, 404);
    assert.equal((await (await fetch(`${main}/api/state`)).json()).error.code, "NOT_FOUND");
    assert.equal((await fetch(`${main}/healthz`)).status, 200);
    assert.equal((await call(`${admin}/api/autoscale`, undefined, body)).status, 401);
    assert.equal((await call(`${admin}/api/autoscale`, WRONG, body)).status, 401);
    assert.equal((await call(`${admin}/api/autoscale`, token, body)).status, 200);
    assert.equal((await fetch(`${admin}/api/state`)).status, 200);
  } finally {
    await node.kill();
    Deno.removeSync(config);
  }
});

Deno.test("a node without an operator token refuses every mutation, naming the setting", async () => {
  const config = writeTestConfig({ operatorToken: "" });
  const node = new NodeProcess("coordinator", coordinatorArgs(config));
  try {
    const listening = await node.waitFor("coordinator.listening");
    const answer = await call(
      `http://127.0.0.1:${listening.httpPort}/api/autoscale`,
      WRONG,
      { highWater: 0 },
    );
    assert.equal(answer.status, 401);
    assert.match(
      (answer.body.error as { message: string }).message,
      /no operator token is configured \(set operatorToken or ZS_OPERATOR_TOKEN\)/,
    );
  } finally {
    await node.kill();
    Deno.removeSync(config);
  }
});
