import assert from "node:assert/strict";
import { sessionsRoutes } from "../../src/cluster/sessions_api.ts";

Deno.test("/api/sessions gathers every gateway's rows and names a gateway that fails", async () => {
  const asked: string[] = [];
  const gateway = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen: () => {} }, (r) => {
    const url = new URL(r.url);
    asked.push(`${url.pathname}?${url.searchParams} ${r.headers.get("authorization")}`);
    return Response.json({ total: 7, sessions: [{ id: "s1", name: "ann" }, { id: "s2" }] });
  });
  const probe = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const closed = (probe.addr as Deno.NetAddr).port;
  probe.close();
  try {
    const routes = sessionsRoutes({
      operatorToken: "operator-token-16ch",
      gateways: {
        list: () => [
          {
            id: "g1",
            httpAddress: `127.0.0.1:${gateway.addr.port}`,
            version: "1",
            sessions: 7,
            bytesOut: 0,
            lastHeartbeat: 0,
          },
          {
            id: "g2",
            httpAddress: `127.0.0.1:${closed}`,
            version: "1",
            sessions: 0,
            bytesOut: 0,
            lastHeartbeat: 0,
          },
        ],
      },
    });
    const url = new URL("http://c/api/sessions?q=an&limit=1");
    const body = await (await routes(new Request(url), url)!).json();
    assert.deepEqual(asked, ["/api/gateway/sessions?q=an&limit=1 Bearer operator-token-16ch"]);
    assert.deepEqual(body.sessions, [{ id: "s1", name: "ann", gateway: "g1" }], "capped at limit");
    assert.equal(body.total, 7);
    assert.deepEqual(body.gateways[0], { id: "g1", total: 7 });
    assert.equal(body.gateways[1].error.code, "UNAVAILABLE");
    assert.match(body.gateways[1].error.message, /no answer from 127\.0\.0\.1:\d+/);
  } finally {
    await gateway.shutdown();
  }
});
