// `--role=all`: the embedded default, one process with the coordinator and worker threads.
import assert from "node:assert/strict";
import { getJson, NodeProcess, until } from "../../testing/node_process.ts";

interface ClusterState {
  epoch: number;
  workers: Array<{ id: string; state: string; cells: number; entities: number; tick: number }>;
  map: { epoch: number; owners: string[] };
  entitiesPerCell: number[];
}

Deno.test({
  name: "role all serves two worker threads that own every cell, with moving entity counts",
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    const node = new NodeProcess("all", ["--config", "config/all.json", "--port", "0"]);
    try {
      const ready = await node.waitFor("all.ready");
      const api = `http://127.0.0.1:${ready.port}`;
      assert.deepEqual(await getJson(`${api}/healthz`), { status: "ok", role: "coordinator" });
      const first = await until("both workers reporting entities", async () => {
        const s = await getJson<ClusterState>(`${api}/api/state`);
        return s.workers.length === 2 && s.workers.every((w) => w.entities > 0) ? s : undefined;
      });
      assert.equal(first.map.epoch, 1);
      assert.ok(first.map.owners.every((o) => o === "w1" || o === "w2"), "every cell has an owner");
      assert.deepEqual(first.workers.map((w) => w.state), ["active", "active"]);
      assert.equal(first.workers.reduce((n, w) => n + w.cells, 0), first.map.owners.length);
      // The demo world of config/all.json has 400 NPCs. Every worker reports at the same global
      // ticks, counting the entities it handed off that tick, so the per-cell counts of reports
      // of one tick add up to exactly 400.
      const total = (s: ClusterState) => s.entitiesPerCell.reduce((a, b) => a + b, 0);
      const sameTick = (s: ClusterState) => s.workers.every((w) => w.tick === s.workers[0].tick);
      const changed = await until(
        "entity counts per cell to change, reported at one tick",
        async () => {
          const s = await getJson<ClusterState>(`${api}/api/state`);
          return sameTick(s) && s.workers[0].tick > first.workers[0].tick &&
              s.entitiesPerCell.join() !== first.entitiesPerCell.join()
            ? s
            : undefined;
        },
        10_000,
      );
      assert.equal(total(changed), 400, `entities at tick ${changed.workers[0].tick}`);
      assert.equal(
        changed.workers.reduce((n, w) => n + w.entities, 0),
        400,
        "and so do the workers' reports",
      );
      const page = await fetch(`${api}/`);
      assert.equal(page.status, 200);
      assert.match(await page.text(), /ZoneScaler/);
      const missing = await fetch(`${api}/no/such/file`);
      assert.equal(missing.status, 404);
      assert.equal((await missing.json()).error.code, "NOT_FOUND");
      const escape = await fetch(`${api}/..%2f..%2fdeno.json`);
      assert.equal(escape.status, 404, "paths cannot escape static_dir");
      await escape.body?.cancel();
      const status = await node.stop("SIGTERM", 10_000);
      assert.equal(status.code, 0, `exits 0 on SIGTERM: ${node.stderr.join("\n")}`);
    } finally {
      await node.kill();
    }
  },
});
