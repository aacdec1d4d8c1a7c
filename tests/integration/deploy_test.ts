// Zero-downtime deploys with real processes: a cluster on version 0.1.0 under bots, new-version
// workers and gateways started beside it, a deploy rolled back half way and another one run to
// the end: cells migrate live, old nodes exit 0, no entity and no session is lost, new logins
// land on the new version once it is live; and the deploy API's bad requests.
import assert from "node:assert/strict";
import { type ClusterState, startCluster } from "../../testing/cluster.ts";
import { getJson, type NodeProcess, until } from "../../testing/node_process.ts";
import { assertCensus, settledCensus } from "../../testing/audit.ts";
import { BotClient } from "../../src/client/bot_client.ts";
import { BotMetrics, buildReport } from "../../src/client/bot_report.ts";
import { mulberry32 } from "../../src/sim/random.ts";

const A = "0.1.0", B = "0.2.0", C = "0.3.0";

interface DeployState {
  live: string;
  current: { version: string; state: string; moves: number } | null;
  runs: Array<{ version: string; state: string; moves: number }>;
  versions: Array<{ version: string; state: string; cells: number; sessions: number }>;
}

type Cluster = Awaited<ReturnType<typeof startCluster>>;

const workerUrls = (state: ClusterState) =>
  new Map(state.workers.map((w) => [w.id, `http://${w.httpAddress}`]));

/** Owners of the map, as a set of worker ids. */
const ownerSet = (state: ClusterState) => new Set(state.map.owners);

async function expectError(response: Response, status: number, code: string): Promise<void> {
  const body = await response.json();
  assert.equal(response.status, status, JSON.stringify(body));
  assert.equal(body.error.code, code, JSON.stringify(body));
}

/** Waits until `process` exits by itself and asserts status 0. */
async function exitsZero(process: NodeProcess): Promise<void> {
  const status = await process.stop("SIGCONT", 30_000);
  assert.equal(status.code, 0, `${process.name}: ${process.stderr.slice(-5).join("\n")}`);
}

function bots(cluster: Cluster, metrics: BotMetrics, random: () => number, n: number, from = 0) {
  return Array.from({ length: n }, (_, i) =>
    new BotClient({
      gateway: new URL(cluster.gateways[0]),
      name: `bot-${from + i + 1}`,
      format: "msgpack",
      rateHz: 10,
      pingMs: 2_000,
      timeoutMs: 10_000,
      metrics,
      random,
    }));
}

Deno.test({
  name:
    "a deploy under bots moves every cell to the new version, and a rollback moves them back, " +
    "losing no entity and no session",
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    const cluster = await startCluster(
      { rebalance: { enabled: false }, deploy: { cellsPerSecond: 4, sessionsPerSecond: 50 } },
      { workers: 2, gateways: 1, parallel: true },
    );
    const random = mulberry32(18);
    const metrics = new BotMetrics(random);
    const clients = bots(cluster, metrics, random, 8);
    const deployState = () => getJson<DeployState>(`${cluster.api}/api/deploys`, 5_000);
    try {
      await Promise.all(clients.map((b) => b.start()));
      assert.equal(metrics.connected, clients.length, JSON.stringify(metrics.failedConnects));
      const before = await settledCensus(workerUrls(await cluster.state()));
      assertCensus(before, "before the deploys");

      // Version B beside A: staged, nothing routed to it, its spares not claimed.
      const w3 = await cluster.startWorker("w3", { ZS_VERSION: B });
      const w4 = await cluster.startWorker("w4", { ZS_VERSION: B });
      await cluster.startGateway(2, { ZS_VERSION: B });
      const staged = await deployState();
      assert.equal(staged.live, A);
      assert.deepEqual(staged.versions.map((v) => [v.version, v.state]), [[B, "staged"], [
        A,
        "live",
      ]]);
      const listed = await getJson<{ gateways: Array<{ url: string }> }>(
        `${cluster.gateways[0]}/gateways`,
      );
      assert.deepEqual(listed.gateways.map((g) => g.url), [
        `ws://${new URL(cluster.gateways[0]).host}/ws`,
      ]);

      // Deploy B, then roll it back half way.
      const started = await cluster.post("/api/deploys", { version: B });
      assert.equal(started.status, 202, await started.clone().text());
      await started.body?.cancel();
      await expectError(await cluster.post("/api/deploys", { version: B }), 409, "CONFLICT");
      await until("some cells on version B", async () => {
        const s = await cluster.state();
        const onB = s.map.owners.filter((o) => o === "w3" || o === "w4").length;
        return onB >= 3 ? true : undefined;
      }, 20_000);
      const rolled = await cluster.post("/api/deploys/current/rollback");
      assert.equal(rolled.status, 202);
      const rollback = await rolled.json();
      assert.ok(rollback.moves > 0 && rollback.moves < 16, `half done: ${rollback.moves} moves`);
      const back = await until("every cell back on version A", async () => {
        const d = await deployState();
        const s = await cluster.state();
        const owners = ownerSet(s);
        return d.runs[0].state === "rolled_back" && owners.size === 2 && owners.has("w1") &&
            owners.has("w2")
          ? s
          : undefined;
      }, 30_000);
      // B's nodes were the old ones now: they drain and exit 0.
      await Promise.all([exitsZero(w3), exitsZero(w4), exitsZero(cluster.processOf("g2"))]);
      assertCensus(await settledCensus(workerUrls(back), before.held), "after the rollback");

      // Version C, deployed to the end.
      const w5 = await cluster.startWorker("w5", { ZS_VERSION: C });
      const w6 = await cluster.startWorker("w6", { ZS_VERSION: C });
      const g3Url = await cluster.startGateway(3, { ZS_VERSION: C });
      const deploy = await cluster.post("/api/deploys", { version: C });
      assert.equal(deploy.status, 202, await deploy.clone().text());
      await deploy.body?.cancel();
      // While C rolls out, logins still go to A's gateway.
      const during = await getJson<{ gateways: Array<{ url: string }> }>(`${g3Url}/gateways`);
      const d0 = await deployState();
      if (d0.live === A) {
        assert.deepEqual(during.gateways.map((g) => g.url), [
          `ws://${new URL(cluster.gateways[0]).host}/ws`,
        ]);
      }
      const done = await until("every cell on version C and C live", async () => {
        const d = await deployState();
        const s = await cluster.state();
        const owners = ownerSet(s);
        return d.live === C && owners.size === 2 && owners.has("w5") && owners.has("w6")
          ? s
          : undefined;
      }, 30_000).catch(async (error) => {
        const s = await cluster.state();
        throw new Error(
          `${error.message}: ${JSON.stringify(await deployState())} owners ${s.map.owners} ` +
            `events ${JSON.stringify(s.events.slice(-15))}`,
        );
      });
      // From the moment C is live, the gateway list names only C's gateway: new logins land there.
      const after = await getJson<{ gateways: Array<{ url: string }> }>(`${g3Url}/gateways`);
      assert.deepEqual(after.gateways.map((g) => g.url), [`ws://${new URL(g3Url).host}/ws`]);
      const late = bots({ ...cluster, gateways: [g3Url] }, metrics, random, 2, clients.length);
      await Promise.all(late.map((b) => b.start()));
      assert.equal(metrics.connected, clients.length + late.length);
      // A's gateway hands every session over and exits 0; so do A's workers.
      const [w1, w2] = [cluster.processOf("w1"), cluster.processOf("w2")];
      await Promise.all([exitsZero(w1), exitsZero(w2), exitsZero(cluster.processOf("g1"))]);
      const onC = await until("every session on C's gateway", async () => {
        const d = await deployState();
        const c = d.versions.find((v) => v.version === C)!;
        return c.sessions === clients.length + late.length ? d : undefined;
      }, 20_000);
      assert.equal(onC.versions.find((v) => v.version === C)?.state, "live");
      // A is retired once its last node is gone (its gateway's record expires after 5 s).
      await until("version A retired", async () => {
        const d = await deployState();
        return d.versions.find((v) => v.version === A)?.state === "retired" ? true : undefined;
      }, 15_000);
      assertCensus(await settledCensus(workerUrls(done), before.held), "after the deploy");

      await Promise.all([...clients, ...late].map((b) => b.close()));
      const report = buildReport(metrics, {
        clients: clients.length + late.length,
        durationSeconds: 1,
        connectedSeconds: 1,
        botCpuPercent: 0,
      });
      assert.equal(report.redirects, clients.length, "every first-wave bot was handed over once");
      assert.deepEqual(
        { lost: report.lostSessions, errors: report.errors },
        { lost: 0, errors: { total: 0, frames: {}, closes: {}, connects: {}, protocol: {} } },
        "the bots played on through the deploys",
      );
      for (const w of [w5, w6]) assert.equal(w.exitStatus, undefined, `${w.name} still runs`);
    } finally {
      await Promise.all([...clients].map((b) => b.close()));
      await cluster.close();
    }
  },
});

Deno.test({
  name: "the deploy API refuses bad requests with a code: no token, wrong types, unknown version",
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    const cluster = await startCluster({}, { workers: 2 });
    try {
      const noToken = await fetch(`${cluster.api}/api/deploys`, {
        method: "POST",
        body: JSON.stringify({ version: "9.9.9" }),
      });
      await expectError(noToken, 401, "UNAUTHENTICATED");
      await expectError(await cluster.post("/api/deploys", { version: 2 }), 400, "BAD_REQUEST");
      await expectError(await cluster.post("/api/deploys", { version: "" }), 400, "BAD_REQUEST");
      await expectError(await cluster.post("/api/deploys", "0.2.0"), 400, "BAD_REQUEST");
      await expectError(
        await cluster.post("/api/deploys", { version: "1", to: "w1" }),
        400,
        "BAD_REQUEST",
      );
      await expectError(await cluster.post("/api/deploys", { version: "9.9.9" }), 404, "NOT_FOUND");
      await expectError(await cluster.post("/api/deploys", { version: A }), 409, "CONFLICT");
      await expectError(await cluster.post("/api/deploys/current/pause"), 409, "CONFLICT");
      await expectError(await cluster.post("/api/deploys/current/rollback"), 409, "CONFLICT");
      await expectError(await cluster.post("/api/deploys", "x".repeat(5000)), 413, "TOO_BIG");
      await expectError(
        await fetch(`${cluster.api}/api/deploys/current/pause`, {
          headers: { authorization: `Bearer integration-operator-token` },
        }),
        405,
        "METHOD_NOT_ALLOWED",
      );
      // Reads are open on loopback (as every read-only view), writes never are.
      const authed = await fetch(`${cluster.api}/api/deploys`);
      const body = await authed.json();
      assert.equal(authed.status, 200);
      assert.deepEqual(body.runs, [], "no bad request started a run");
      assert.equal(body.live, A);
      // The CLI: status, a refused start (exit 1 with the code), a bad command line (exit 2).
      const cli = async (...args: string[]) => {
        const out = await new Deno.Command(Deno.execPath(), {
          args: ["run", "-A", "roles/deploy.ts", ...args, "--coordinator", cluster.api],
          env: { ZS_OPERATOR_TOKEN: "integration-operator-token" },
          stdout: "piped",
          stderr: "piped",
        }).output();
        const text = new TextDecoder().decode(out.stdout) + new TextDecoder().decode(out.stderr);
        return { code: out.code, text };
      };
      const status = await cli("status");
      assert.equal(status.code, 0, status.text);
      assert.match(status.text, /live version 0\.1\.0/);
      assert.match(status.text, /0\.1\.0 +live +2 workers/);
      const refused = await cli("start", "9.9.9");
      assert.equal(refused.code, 1, refused.text);
      assert.match(refused.text, /NOT_FOUND: Cannot deploy 9\.9\.9/);
      const bad = await cli("launch");
      assert.equal(bad.code, 2, bad.text);
    } finally {
      await cluster.close();
    }
  },
});
