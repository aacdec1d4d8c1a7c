// A deploy that changes the game, with real processes: a cluster on game wanderers@1, a worker
// of the live version with wanderers@2 refused with one line, version B's workers with
// wanderers@2 staged beside it, an abort refused while the world mixes the two, and the deploy
// run to the end: every NPC's changed field is converted by the game's migrateState hook on the
// move, and every ghost of a version 1 NPC a version 2 worker sees (version 2's tick throws on
// one unconverted, owned or ghost), and none is lost.
import assert from "node:assert/strict";
import { assertCensus, settledCensus } from "../../testing/audit.ts";
import { type ClusterState, startCluster } from "../../testing/cluster.ts";
import { getJson, NodeProcess, until, workerArgs } from "../../testing/node_process.ts";

const B = "0.2.0";
const V1 = "tests/integration/fixtures/wanderers_v1.ts";
const V2 = "tests/integration/fixtures/wanderers_v2.ts";
const NPCS = 200;

interface DeployState {
  live: string;
  versions: Array<{ version: string; state: string; gameVersion: string }>;
}

const workerUrls = (state: ClusterState) =>
  new Map(state.workers.map((w) => [w.id, `http://${w.httpAddress}`]));

async function expectError(response: Response, status: number, code: string, message: RegExp) {
  const body = await response.json();
  assert.equal(response.status, status, JSON.stringify(body));
  assert.equal(body.error.code, code);
  assert.match(body.error.message, message);
}

Deno.test({
  name: "a deploy to a new game version converts each NPC's changed field on the move; " +
    "game versions mix only while it rolls",
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    const cluster = await startCluster(
      {
        rebalance: { enabled: false },
        deploy: { cellsPerSecond: 8 },
        game: { module: V1, options: {} },
      },
      { workers: 2, parallel: true },
    );
    const extra: NodeProcess[] = [];
    const deployState = () => getJson<DeployState>(`${cluster.api}/api/deploys`, 5_000);
    try {
      const before = await settledCensus(workerUrls(await cluster.state()));
      assert.equal(before.held.size, NPCS);

      // The live version with another game version: refused at registration, exit 1.
      const coordinator = `127.0.0.1:${cluster.slots[0].grpcPort}`;
      const stray = new NodeProcess(
        "worker-stray",
        workerArgs(cluster.config, coordinator, "--node-id", "w9"),
        { ZS_GAME_MODULE: V2 },
      );
      extra.push(stray);
      const status = await stray.stop("SIGCONT", 30_000);
      assert.equal(status.code, 1);
      assert.match(
        [...stray.stderr, ...stray.lines.map((l) => JSON.stringify(l))].join("\n"),
        /GAME_MISMATCH: the worker runs game wanderers@2 but the cluster runs wanderers@1 on version [^;]+; another game version comes with a new version \(ZS_VERSION\) and a deploy/,
      );

      const env = { ZS_VERSION: B, ZS_GAME_MODULE: V2 };
      const w3 = await cluster.startWorker("w3", env);
      const w4 = await cluster.startWorker("w4", env);
      const staged = await deployState();
      assert.deepEqual(
        staged.versions.map((v) => [v.state, v.gameVersion]),
        [["staged", "2"], ["live", "1"]],
      );
      const started = await cluster.post("/api/deploys", { version: B });
      assert.equal(started.status, 202, await started.clone().text());
      await started.body?.cancel();
      await until("cells on B", async () => {
        const s = await cluster.state();
        return s.map.owners.some((o) => o === "w3" || o === "w4") ? true : undefined;
      }, 20_000);
      await expectError(
        await cluster.post("/api/deploys/current/abort"),
        409,
        "CONFLICT",
        /runs game version 2 and .* runs 1, and the world mixes game versions only while a deploy rolls/,
      );
      const done = await until("every cell on B, B live", async () => {
        const d = await deployState();
        const s = await cluster.state();
        return d.live === B && s.map.owners.every((o) => o === "w3" || o === "w4") ? s : undefined;
      }, 30_000);
      await Promise.all(
        [cluster.processOf("w1"), cluster.processOf("w2")].map(async (w) => {
          const exit = await w.stop("SIGCONT", 30_000);
          assert.equal(exit.code, 0, `${w.name} exits 0`);
        }),
      );
      assertCensus(await settledCensus(workerUrls(done), before.held), "after the deploy");

      // Every NPC came to B through the hook at least once, and B's tick never met one that
      // still had version 1 data (it throws then, logged as game.error).
      const counters = await Promise.all(
        done.workers.filter((w) => w.id === "w3" || w.id === "w4").map((w) =>
          getJson<{ counters: { statesMigrated: number } }>(`http://${w.httpAddress}/api/state`)
        ),
      );
      const migrated = counters.reduce((n, c) => n + c.counters.statesMigrated, 0);
      assert.ok(migrated >= NPCS, `${migrated} states converted for ${NPCS} NPCs`);
      for (const w of [w3, w4]) {
        const errors = w.lines.filter((l) => l.event === "game.error");
        assert.deepEqual(errors.map((l) => l.error), [], `${w.name} met no unconverted NPC`);
      }
    } finally {
      await Promise.all(extra.map((p) => p.kill()));
      await cluster.close();
    }
  },
});
