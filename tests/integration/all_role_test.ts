// `--role=all`: the embedded default, one process with the coordinator and worker threads.
import assert from "node:assert/strict";
import { getJson, NodeProcess, until } from "../../testing/node_process.ts";

interface ClusterState {
  epoch: number;
  workers: Array<{ id: string; state: string; cells: number; entities: number }>;
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
      // The demo world of config/all.json has 400 NPCs; reports are taken at the same tick.
      const total = (s: ClusterState) => s.entitiesPerCell.reduce((a, b) => a + b, 0);
      const changed = await until("entity counts per cell to change", async () => {
        const s = await getJson<ClusterState>(`${api}/api/state`);
        return s.entitiesPerCell.join() !== first.entitiesPerCell.join() ? s : undefined;
      }, 10_000);
      assert.ok(Math.abs(total(changed) - 400) <= 2, `about 400 entities, got ${total(changed)}`);
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
