import assert from "node:assert/strict";
import { Logger } from "../../src/observe/log.ts";
import { isLoopbackHost, OperatorAuth } from "../../src/net/operator_auth.ts";
import { coordinatorAccess } from "../../src/cluster/control_api.ts";
import { gatewayHandler } from "../../src/session/gateway_api.ts";

const TOKEN = "unit-test-operator-token";

function auth(host: string, token = TOKEN) {
  const refused: string[] = [];
  const lines: unknown[] = [];
  const guard = new OperatorAuth({
    token,
    host,
    log: new Logger({ role: "coordinator", sink: (line) => lines.push(line) }),
    countError: (code) => refused.push(code),
  });
  return { guard, refused, lines };
}

function request(path: string, init: RequestInit = {}): [Request, URL] {
  const url = new URL(`http://node${path}`);
  return [new Request(url, init), url];
}

const bearer = (token: string) => ({ authorization: `Bearer ${token}` });

Deno.test("read-only views are open on loopback and need the token on any other bind", () => {
  assert.ok(isLoopbackHost("127.0.0.1") && isLoopbackHost("::1") && isLoopbackHost("localhost"));
  assert.ok(!isLoopbackHost("0.0.0.0") && !isLoopbackHost("10.0.0.5") && !isLoopbackHost("::"));
  const loop = auth("127.0.0.1");
  assert.equal(loop.guard.check(...request("/api/state"), "read"), undefined);
  const open = auth("0.0.0.0");
  assert.equal(open.guard.check(...request("/api/state"), "read")?.status, 401);
  assert.equal(
    open.guard.check(...request("/api/state", { headers: bearer("wrong-token-here") }), "read")
      ?.status,
    401,
  );
  assert.equal(
    open.guard.check(...request("/api/state", { headers: bearer(TOKEN) }), "read"),
    undefined,
  );
  assert.deepEqual(open.refused, ["UNAUTHENTICATED", "UNAUTHENTICATED"]);
});

Deno.test("a ?token= opens read-only GETs (EventSource) and is removed from the URL", () => {
  const { guard } = auth("0.0.0.0");
  const [req, url] = request(`/api/events?since=3&token=${TOKEN}`);
  assert.equal(guard.check(req, url, "read"), undefined);
  assert.equal(url.search, "?since=3", "routes never see the token");
  // A mutation takes the token only from the header.
  const [post, postUrl] = request(`/api/autoscale?token=${TOKEN}`, { method: "POST" });
  assert.equal(guard.check(post, postUrl, "write")?.status, 401);
});

Deno.test("mutations need the header even on loopback; 401 carries the JSON error and a challenge", async () => {
  const { guard, lines } = auth("127.0.0.1");
  const denied = guard.check(...request("/api/autoscale", { method: "POST" }), "write")!;
  assert.equal(denied.status, 401);
  assert.equal(denied.headers.get("www-authenticate"), 'Bearer realm="zonescaler"');
  const body = await denied.json();
  assert.equal(body.error.code, "UNAUTHENTICATED");
  assert.equal(lines.length, 1);
  assert.equal(
    guard.check(...request("/api/autoscale", { method: "POST", headers: bearer(TOKEN) }), "write"),
    undefined,
  );
  // A token that is a prefix, or longer, is wrong too.
  for (const near of [TOKEN.slice(0, -1), `${TOKEN}x`, TOKEN.toUpperCase()]) {
    assert.equal(
      guard.check(...request("/api/autoscale", { method: "POST", headers: bearer(near) }), "write")
        ?.status,
      401,
    );
  }
});

Deno.test("an empty operator token refuses every mutation", () => {
  const { guard } = auth("127.0.0.1", "");
  assert.equal(
    guard.check(...request("/api/autoscale", { method: "POST", headers: bearer("") }), "write")
      ?.status,
    401,
  );
});

Deno.test("the coordinator's routes: moves, drains and autoscale are writes, views reads", () => {
  const post = (path: string) => request(path, { method: "POST" });
  assert.equal(coordinatorAccess(...post("/api/cells/3/move")), "write");
  assert.equal(coordinatorAccess(...post("/api/workers/w1/drain")), "write");
  assert.equal(coordinatorAccess(...post("/api/instances/i1/move")), "write");
  assert.equal(coordinatorAccess(...request("/api/instances")), "read");
  assert.equal(coordinatorAccess(...post("/api/autoscale")), "write");
  for (const path of ["/api/state", "/api/logs", "/api/events", "/api/entities", "/metrics"]) {
    assert.equal(coordinatorAccess(...request(path)), "read", path);
  }
  for (const path of ["/", "/app.js", "/healthz", "/readyz", "/login", "/play/"]) {
    assert.equal(coordinatorAccess(...request(path)), "open", path);
  }
});

Deno.test("a gateway bound off loopback serves /metrics only with the token", async () => {
  const { guard } = auth("0.0.0.0");
  const handler = gatewayHandler(() => undefined, () => true, guard);
  const context = { closing: new AbortController().signal, remoteAddress: "10.0.0.9" };
  const [bare, bareUrl] = request("/metrics");
  assert.equal((await handler(bare, bareUrl, context)).status, 401);
  const [good, goodUrl] = request("/metrics", { headers: bearer(TOKEN) });
  assert.equal((await handler(good, goodUrl, context)).status, 200);
  const [ready, readyUrl] = request("/readyz");
  assert.equal((await handler(ready, readyUrl, context)).status, 200, "readiness stays open");
});
