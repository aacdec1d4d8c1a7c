// Deploy records survive the coordinator, with real processes: kill -9 of a coordinator with a
// state file in the middle of a paused deploy, and again while it runs; each restart reports
// the same run (paused stays paused, running goes on) and the deploy ends with every cell on
// the new version, the old workers exited 0 and no entity lost.
import assert from "node:assert/strict";
import { assertCensus, settledCensus } from "../../testing/audit.ts";
import { type ClusterState, startCluster } from "../../testing/cluster.ts";
import { getJson, type NodeProcess, until } from "../../testing/node_process.ts";

const A = "0.1.0", B = "0.2.0";

interface Run {
  id: number;
  version: string;
  from: string;
  state: string;
  moves: number;
}
interface DeployState {
  live: string;
  current: Run | null;
  runs: Run[];
  versions: Array<{ version: string; state: string }>;
}

const workerUrls = (state: ClusterState) =>
  new Map(state.workers.map((w) => [w.id, `http://${w.httpAddress}`]));

async function exitsZero(process: NodeProcess): Promise<void> {
  const status = await process.stop("SIGCONT", 30_000);
  assert.equal(status.code, 0, `${process.name}: ${process.stderr.slice(-5).join("\n")}`);
}

Deno.test({
  name: "a coordinator killed mid-deploy comes back with the run: paused stays paused, " +
    "running goes on to the end",
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    const cluster = await startCluster(
      { rebalance: { enabled: false }, deploy: { cellsPerSecond: 4 } },
      { workers: 2, durable: true, parallel: true },
    );
    const deployState = () => getJson<DeployState>(`${cluster.api}/api/deploys`, 5_000);
    const onB = (s: ClusterState) => s.map.owners.filter((o) => o === "w3").length;
    const restart = async () => {
      await cluster.coordinator.kill();
      await cluster.restartCoordinator();
      return await until("the restarted coordinator answers", () => deployState(), 15_000);
    };
    try {
      const before = await settledCensus(workerUrls(await cluster.state()));
      assertCensus(before, "before the deploy");
      await cluster.startWorker("w3", { ZS_VERSION: B });
      const started = await cluster.post("/api/deploys", { version: B });
      assert.equal(started.status, 202, await started.clone().text());
      await started.body?.cancel();
      await until("cells on B", async () => onB(await cluster.state()) >= 3 || undefined, 20_000);
      const paused = await cluster.post("/api/deploys/current/pause");
      assert.equal(paused.status, 200);
      const run: Run = await paused.json();
      // Moves in flight finish; then nothing moves while paused.
      const held = await until("moves in flight done", async () => {
        const s = await cluster.state();
        return s.migrations.length === 0 ? onB(s) : undefined;
      }, 15_000);

      const afterPause = await restart();
      assert.deepEqual(afterPause.current, { ...run, state: "paused" }, "the same run, paused");
      assert.deepEqual(
        afterPause.versions.map((v) => [v.version, v.state]),
        [[B, "rolling_out"], [A, "live"]],
      );
      assert.equal(onB(await cluster.state()), held, "a paused run moved nothing");

      const resumed = await cluster.post("/api/deploys/current/resume");
      assert.equal(resumed.status, 200, await resumed.clone().text());
      await resumed.body?.cancel();
      await until(
        "more cells on B",
        async () => onB(await cluster.state()) >= held + 3 || undefined,
        20_000,
      );
      const whileRunning = await restart();
      assert.equal(whileRunning.current?.id, run.id);
      assert.equal(whileRunning.current?.state, "running");
      assert.ok(whileRunning.current!.moves > run.moves, JSON.stringify(whileRunning.current));

      const done = await until("the deploy done after two restarts", async () => {
        const d = await deployState();
        const s = await cluster.state();
        return d.live === B && onB(s) === s.map.owners.length ? { d, s } : undefined;
      }, 30_000);
      assert.deepEqual(done.d.runs.map((r) => [r.id, r.state]), [[run.id, "done"]]);
      await Promise.all([exitsZero(cluster.processOf("w1")), exitsZero(cluster.processOf("w2"))]);
      assertCensus(
        await settledCensus(workerUrls(await cluster.state()), before.held),
        "after the deploy",
      );
    } finally {
      await cluster.close();
    }
  },
});
