// The gateway's HTTP API without a server: requests in, responses out.
import assert from "node:assert/strict";
import { AccountStore } from "../../src/session/account_store.ts";
import { gatewayApi, gatewayHandler } from "../../src/session/gateway_api.ts";
import { verifyToken } from "../../src/session/login_tokens.ts";
import { MAX_BODY_BYTES } from "../../src/protocol/json_body.ts";
import { Logger } from "../../src/observe/log.ts";
import type { HttpContext } from "../../src/net/http.ts";

const SECRET = "gateway-api-secret-0123";
const NOW = 1_700_000_000_000;

function api() {
  const accounts = new AccountStore({ path: ":memory:" });
  const logged: Array<{ level: string; event: string }> = [];
  const routes = gatewayApi({
    accounts,
    secret: SECRET,
    tokenTtlMs: 60_000,
    staticDir: "static",
    log: new Logger({
      role: "gateway",
      level: "info",
      sink: (line) => {
        const { level, event } = JSON.parse(line);
        logged.push({ level, event });
      },
    }),
    gateways: () => [{ id: "g1", httpAddress: "10.0.0.5:8080", version: "0.1.0", sessions: 2 }],
    hub: () => undefined,
    now: () => NOW,
  });
  const call = async (path: string, init?: RequestInit) => {
    const url = new URL(`http://gateway${path}`);
    const response = await routes(new Request(url, init), url);
    assert.ok(response, `no route for ${path}`);
    return { status: response.status, body: await response.json() };
  };
  return { accounts, routes, call, logged, [Symbol.dispose]: () => accounts.close() };
}

const post = (body: unknown): RequestInit => ({
  method: "POST",
  body: typeof body === "string" ? body : JSON.stringify(body),
});

Deno.test("a guest login answers a signed token that expires after tokenTtlMs, and the gateways", async () => {
  using t = api();
  const { status, body } = await t.call("/login", post({ guest: true, name: "Ann" }));
  assert.equal(status, 200);
  assert.equal(body.expiresAt, NOW + 60_000);
  const claims = verifyToken(body.token, SECRET, NOW);
  assert.equal(claims.name, "Ann");
  assert.equal(claims.kind, "guest");
  assert.deepEqual(body.gateways, [
    { id: "g1", url: "ws://10.0.0.5:8080/ws", version: "0.1.0", sessions: 2 },
  ]);
  assert.throws(() => verifyToken(body.token, SECRET, NOW + 60_001), /expired/);
});

Deno.test("an account registers once and then logs in with its password", async () => {
  using t = api();
  const account = { username: "grace", password: "correct horse battery" };
  const first = await t.call("/login", post({ ...account, register: true }));
  assert.equal(first.status, 200);
  assert.equal(verifyToken(first.body.token, SECRET, NOW).kind, "account");
  const again = await t.call("/login", post({ ...account, register: true }));
  assert.deepEqual([again.status, again.body.error.code], [
    409,
    "USERNAME_TAKEN",
  ]);
  const wrong = await t.call("/login", post({ ...account, password: "wrong password!" }));
  assert.equal(wrong.status, 401);
  const right = await t.call("/login", post(account));
  assert.equal(right.status, 200);
});

Deno.test("bad login requests get the documented status and code", async () => {
  using t = api();
  const cases: Array<[RequestInit, number, string]> = [
    [{ method: "GET" }, 405, "METHOD_NOT_ALLOWED"],
    [post("{not json"), 400, "BAD_REQUEST"],
    [post([1, 2]), 400, "BAD_REQUEST"],
    [post({ guest: true, color: "red" }), 400, "BAD_REQUEST"],
    [post("x".repeat(MAX_BODY_BYTES + 1)), 413, "TOO_BIG"],
  ];
  for (const [init, status, expected] of cases) {
    const response = await t.call("/login", init);
    assert.deepEqual(
      [response.status, response.body.error.code],
      [status, expected],
      String(init.body),
    );
  }
});

Deno.test("/ws refuses plain requests and upgrades while the gateway is not ready", async () => {
  using t = api();
  const plain = await t.call("/ws");
  assert.equal(plain.status, 400);
  const early = await t.call("/ws", { headers: { upgrade: "websocket" } });
  assert.equal(early.status, 503);
  const url = new URL("http://gateway/api/state");
  assert.equal(t.routes(new Request(url), url), undefined);
});

Deno.test("the gateway's own server answers healthz by readiness and 404 for unknown paths", async () => {
  using t = api();
  let ready = false;
  const handler = gatewayHandler(t.routes, () => ready);
  const get = async (path: string) => {
    const url = new URL(`http://gateway${path}`);
    const response = await handler(new Request(url), url, {} as HttpContext);
    return { status: response.status, body: await response.json() };
  };
  assert.equal((await get("/healthz")).body.status, "starting");
  ready = true;
  assert.equal((await get("/healthz")).body.status, "ok");
  assert.equal((await get("/nowhere")).status, 404);
});

Deno.test("a login whose client went away mid-body is logged at info, not as an error", async () => {
  using t = api();
  const body = new ReadableStream({
    pull(controller) {
      controller.error(new Deno.errors.BadResource("Bad resource ID"));
    },
  });
  const { status, body: answer } = await t.call("/login", { method: "POST", body });
  assert.equal(status, 400);
  assert.equal(answer.error.code, "BAD_REQUEST");
  assert.deepEqual(t.logged.filter((l) => l.event.startsWith("login.")), [
    { level: "info", event: "login.aborted" },
  ]);
});
