import assert from "node:assert/strict";
import {
  fetchGateways,
  login,
  LoginApiError,
  parseGatewayList,
  parseLoginResponse,
} from "../../src/client/login_client.ts";

const GATEWAY = { id: "gw-1", url: "ws://127.0.0.1:1/ws", version: "0.1.0", sessions: 2 };

Deno.test("gateway lists and login answers that break the protocol are refused naming the field", () => {
  assert.deepEqual(parseGatewayList({ gateways: [GATEWAY] }), [GATEWAY]);
  const cases: Array<[() => unknown, RegExp]> = [
    [() => parseGatewayList([]), /GET \/gateways must answer a JSON object/],
    [() => parseGatewayList({}), /gateways must be an array/],
    [() => parseGatewayList({ gateways: [{ ...GATEWAY, url: "http://x" }] }), /gateways\[0\]\.url/],
    [() => parseGatewayList({ gateways: [{ ...GATEWAY, sessions: -1 }] }), /sessions/],
    [() => parseLoginResponse({ token: "a b", expiresAt: 1, gateways: [] }), /token/],
    [() => parseLoginResponse({ token: "t", expiresAt: "1", gateways: [] }), /expiresAt/],
    [() => parseLoginResponse({ token: "t", expiresAt: 1 }), /gateways must be an array/],
  ];
  for (const [parse, expected] of cases) {
    assert.throws(parse, (error: unknown) => {
      assert.ok(error instanceof LoginApiError);
      assert.equal(error.code, "BAD_REQUEST");
      assert.match(error.message, expected);
      return true;
    });
  }
});

Deno.test({
  name: "login API failures carry the server's code, Retry-After, or UNAVAILABLE",
  async fn() {
    const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen() {} }, (request) => {
      const path = new URL(request.url).pathname;
      if (path === "/gateways") return Response.json({ gateways: [GATEWAY] });
      return Response.json(
        { error: { code: "RATE_LIMITED", message: "Cannot log in: too many logins" } },
        { status: 429, headers: { "retry-after": "2" } },
      );
    });
    const base = new URL(`http://127.0.0.1:${server.addr.port}`);
    try {
      assert.deepEqual(await fetchGateways(base, { timeoutMs: 5000 }), [GATEWAY]);
      const limited = await login(base, { guest: true, name: "Ann" }, { timeoutMs: 5000 })
        .catch((e) => e);
      assert.ok(limited instanceof LoginApiError);
      assert.equal(limited.code, "RATE_LIMITED");
      assert.equal(limited.retryAfterMs, 2000);
      assert.match(limited.message, /HTTP 429 RATE_LIMITED: Cannot log in: too many logins/);
    } finally {
      await server.shutdown();
    }
    const down = await fetchGateways(base, { timeoutMs: 5000 }).catch((e) => e);
    assert.ok(down instanceof LoginApiError);
    assert.equal(down.code, "UNAVAILABLE");
  },
});
