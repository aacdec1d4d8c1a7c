import assert from "node:assert/strict";
import { Grid } from "../../src/world/grid.ts";
import { Registry } from "../../src/cluster/registry.ts";
import { controlRoutes } from "../../src/cluster/control_api.ts";
import { Balancer } from "../../src/cluster/balance_policy.ts";
import { Deploys } from "../../src/cluster/deploys.ts";
import { GatewayDirectory } from "../../src/cluster/gateway_directory.ts";
import { Logger } from "../../src/observe/log.ts";
import { DEFAULTS } from "../../src/config/schema.ts";

const grid = new Grid({ dims: 2, size: [200, 200], cellSize: 100 });
const log = new Logger({ role: "coordinator", sink: () => {} });

/** A registry with w1 (HTTP on `address`) and w2, and the control routes over it. */
function setup(address: string) {
  let now = 1_000;
  const registry = new Registry({ grid, minWorkers: 2, workerTimeoutMs: 3_000, now: () => now });
  for (const [id, http] of [["w1", address], ["w2", ""]]) {
    registry.register({
      nodeId: id,
      grpcAddress: `127.0.0.1:${id.length}`,
      httpAddress: http,
      version: "t",
      pool: false,
    });
  }
  const balancer = new Balancer({
    grid,
    registry,
    rebalance: DEFAULTS.rebalance,
    autoscale: DEFAULTS.autoscale,
    minWorkers: 2,
  });
  const deploys = new Deploys({
    grid,
    registry,
    gateways: new GatewayDirectory({ timeoutMs: 3_000 }),
    cellsPerSecond: 4,
    instancesOn: () => 0,
  });
  const routes = controlRoutes({
    registry,
    balancer,
    deploys,
    log,
    operatorToken: "operator-token-16ch",
  });
  const call = async (path: string, body?: string, method = "POST") => {
    const url = new URL(`http://c${path}`);
    const response = await routes(new Request(url, { method, body }), url)!;
    return [response.status, await response.json()] as const;
  };
  return { registry, call, advance: (ms: number) => (now += ms) };
}

Deno.test("fault requests are forwarded to the worker with the token and recorded", async () => {
  const seen: Array<[string, string | null, unknown]> = [];
  const worker = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen: () => {} }, async (r) => {
    seen.push([new URL(r.url).pathname, r.headers.get("authorization"), await r.json()]);
    return Response.json({ worker: "w1", action: "pause" }, { status: 202 });
  });
  try {
    const { registry, call } = setup(`127.0.0.1:${worker.addr.port}`);
    const [status, body] = await call("/api/workers/w1/faults", '{"action":"pause"}');
    assert.equal(status, 202);
    assert.deepEqual(body, { worker: "w1", action: "pause" });
    assert.deepEqual(seen, [["/api/faults", "Bearer operator-token-16ch", { action: "pause" }]]);
    const event = registry.eventsSince(0).at(-1)!;
    assert.deepEqual([event.kind, event.worker, event.action], ["fault.injected", "w1", "pause"]);
  } finally {
    await worker.shutdown();
  }
});

Deno.test("bad fault requests get a clear 4xx JSON error and reach no worker", async () => {
  // A port nobody listens on: only the unreachable case gets that far.
  const probe = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const closedPort = (probe.addr as Deno.NetAddr).port;
  probe.close();
  const { registry, call, advance } = setup(`127.0.0.1:${closedPort}`);
  const cases: Array<[string, string | undefined, string, number, string, RegExp]> = [
    ["/api/workers/w1/faults", '{"action":"nap"}', "POST", 400, "BAD_REQUEST", /"action"/],
    ["/api/workers/w1/faults", '{"action":"cut"}', "POST", 400, "BAD_REQUEST", /"peer"/],
    ["/api/workers/w1/faults", "x".repeat(5000), "POST", 413, "TOO_BIG", /./],
    ["/api/workers/w9/faults", '{"action":"kill"}', "POST", 404, "NOT_FOUND", /w9/],
    ["/api/workers/w1/faults", '{"action":"cut","peer":"w7"}', "POST", 404, "NOT_FOUND", /w7/],
    ["/api/workers/w2/faults", '{"action":"kill"}', "POST", 503, "UNAVAILABLE", /no HTTP/],
    ["/api/workers/w1/faults", '{"action":"kill"}', "POST", 503, "UNAVAILABLE", /Cannot reach/],
    ["/api/workers/w1/faults", undefined, "GET", 405, "METHOD_NOT_ALLOWED", /use POST/],
  ];
  for (const [path, body, method, status, code, message] of cases) {
    const [got, answer] = await call(path, body, method);
    assert.deepEqual([got, answer.error.code], [status, code], `${method} ${path} ${body}`);
    assert.match(answer.error.message, message);
  }
  advance(5_000);
  registry.heartbeat("w2", { tick: 1, cells: [], ghosts: 0, tickP50Ms: 0, tickP99Ms: 0 });
  registry.sweep();
  const [status, answer] = await call("/api/workers/w1/faults", '{"action":"kill"}');
  assert.deepEqual([status, answer.error.code], [409, "CONFLICT"], "w1 is down: nothing to kill");
  const [resumed, why] = await call("/api/workers/w1/faults", '{"action":"resume"}');
  assert.deepEqual([resumed, why.error.code], [503, "UNAVAILABLE"], "a resume is still sent");
  assert.match(why.error.message, /Cannot reach w1/);
  assert.ok(!registry.eventsSince(0).some((e) => e.kind === "fault.injected"));
});
