import assert from "node:assert/strict";
import { AuditOffError, SpaceLog } from "../../src/sim/space_records.ts";
import { workerRoutes } from "../../src/sim/worker_api.ts";
import { OperatorAuth } from "../../src/net/operator_auth.ts";
import { Logger } from "../../src/observe/log.ts";
import { LocalCluster } from "../../testing/local_cluster.ts";
import { demoGame } from "../../src/games/demo.ts";
import { Grid } from "../../src/world/grid.ts";
import { PartitionMap } from "../../src/world/partition.ts";

const interaction = (id: string) => ({
  id,
  source: 1,
  target: 2,
  kind: "bump",
  data: null,
  hops: 0,
});

Deno.test("audit logs that are off record nothing and say so when read", () => {
  const log = new SpaceLog();
  log.record("acquire", 1, "", 0);
  log.note("applied", 0, interaction("i1"), false);
  assert.equal(log.enabled, false);
  assert.throws(() => log.ownershipSince(0), AuditOffError);
  assert.throws(() => log.interactionsSince(0), /audit logs: they are off .*ZS_AUDIT_EVENTS/);
});

Deno.test("audit logs keep the last N events of each kind, oldest first, after a cursor", () => {
  const log = new SpaceLog(3);
  for (let tick = 0; tick < 5; tick++) log.record("acquire", tick, "", tick);
  log.note("applied", 5, interaction("i1"), false);
  assert.deepEqual(log.ownershipSince(0).map((e) => e.entity), [2, 3, 4], "the oldest two went");
  assert.deepEqual(log.ownershipSince(4).map((e) => e.seq), [5], "a cursor skips what was read");
  assert.deepEqual(log.interactionsSince(0).map((e) => [e.seq, e.id]), [[6, "i1"]]);
  for (let n = 2; n <= 7; n++) log.note("applied", 5, interaction(`i${n}`), false);
  assert.deepEqual(log.interactionsSince(0).map((e) => e.id), ["i5", "i6", "i7"]);
});

/** A demo space of two workers with audit logs as configured, after a few ticks. */
function space(auditEvents: number) {
  const cluster = LocalCluster.of(["a", "b"], {
    grid: new Grid({ dims: 2, size: [200, 100], cellSize: 100 }),
    tickHz: 20,
    ghostMargin: 30,
    game: demoGame,
    gameOptions: { npcs: 50, speed: 40, bumpRadius: 4, bumpCooldownTicks: 20, seed: 1 },
    auditEvents,
  });
  cluster.setMap(new PartitionMap(1, ["a", "b"]));
  cluster.run(1, 5);
  return cluster.get("a");
}

function routes(auditEvents: number) {
  const a = space(auditEvents);
  const auth = new OperatorAuth({
    token: "",
    host: "127.0.0.1",
    log: new Logger({ role: "worker", sink: () => {} }),
  });
  const handle = workerRoutes({
    space: () => a,
    links: () => undefined,
    badBatches: () => 0,
    status: () => "ok",
    faults: () => undefined,
  }, auth);
  const get = (path: string) => {
    const url = new URL(`http://127.0.0.1${path}`);
    return handle(new Request(url), url);
  };
  return { get, space: a };
}

Deno.test("a worker without audit logs answers /api/ownership and /api/interactions with 409 CONFLICT", async () => {
  const { get } = routes(0);
  for (const path of ["/api/ownership?since=0", "/api/interactions"]) {
    const response = await get(path);
    assert.equal(response.status, 409);
    const body = await response.json();
    assert.equal(body.error.code, "CONFLICT");
    assert.match(body.error.message, /audit logs: they are off/);
  }
  assert.equal((await get("/api/state")).status, 200, "the rest of the API is there");
});

Deno.test("a worker with audit logs serves its ownership events", async () => {
  const { get, space } = routes(1000);
  const response = await get("/api/ownership?since=0");
  assert.equal(response.status, 200);
  const body = await response.json();
  const spawned = body.events.filter((e: { kind: string; tick: number }) =>
    e.kind === "acquire" && e.tick === 0
  );
  assert.ok(spawned.length > 0, "world-start spawns are acquisitions at tick 0");
  assert.equal(body.events.length, space.ownershipSince(0).length);
});
