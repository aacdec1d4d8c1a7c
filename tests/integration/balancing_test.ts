// Load balancing with real processes: the rebalancer, live cell moves through the API, the
// warm pool, and graceful drains — with exactly one owner per entity throughout.
import assert from "node:assert/strict";
import { type ClusterState, NPCS, startCluster } from "../../testing/cluster.ts";
import { getJson, OPERATOR_HEADERS, until } from "../../testing/node_process.ts";
import type { ClusterAudit } from "../../testing/audit.ts";

/** Follows the workers' logs until every worker has run `ticks` more ticks (bounded). */
async function ticksPass(audit: ClusterAudit, ticks: number): Promise<void> {
  const from = await audit.collect();
  await until(`${ticks} more ticks on every worker`, async () => {
    return (await audit.collect()) >= from + ticks ? true : undefined;
  }, 30_000);
}

const ratio = (s: ClusterState) => {
  const loads = s.workers.filter((w) => w.state === "active").map((w) => w.load);
  return Math.max(...loads) / Math.max(1e-9, Math.min(...loads));
};

Deno.test({
  name: "a crowd on one worker is rebalanced under the threshold and then stays put",
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    const cluster = await startCluster({
      world: { dims: 2, size: [400, 400], cellSize: 50 },
      ghostMargin: 30,
      game: {
        npcs: NPCS,
        speed: 30,
        bumpRadius: 8,
        bumpCooldownTicks: 5,
        seed: 5,
        hotspot: { at: [200, 100], radius: 90, fraction: 0.7 },
      },
      load: { entities: 1, players: 10, interactions: 0 },
      rebalance: {
        enabled: true,
        ratio: 1.5,
        sustainMs: 1000,
        minLoad: 20,
        cooldownMs: 1000,
        intervalMs: 250,
      },
    }, { audit: true });
    try {
      const before = await cluster.state();
      assert.ok(ratio(before) > 1.5, `starts imbalanced: ratio ${ratio(before).toFixed(2)}`);
      const balanced = await until("the load ratio under 1.5", async () => {
        await cluster.audit.collect();
        const s = await cluster.state();
        return ratio(s) <= 1.5 && s.migrations.length === 0 ? s : undefined;
      }, 60_000);
      const moves = balanced.events.filter((e) => e.kind === "cell.migrated").length;
      assert.ok(moves >= 1, "cells were migrated");
      // Steady load: a bounded number of further migrations over the next 160 ticks (8 s).
      const seq = Math.max(...balanced.events.map((e) => e.seq));
      await ticksPass(cluster.audit, 160);
      const after = await cluster.state();
      const later = after.events.filter((e) => e.seq > seq && e.kind === "cell.migrating").length;
      assert.ok(later <= 2, `no oscillation: ${later} migrations after balance`);
      assert.ok(ratio(after) <= 1.5 * 1.2, `still balanced: ${ratio(after).toFixed(2)}`);
      const { ticks } = cluster.audit.assertOneOwner(NPCS);
      assert.ok(ticks >= 160, `audited ${ticks} ticks`);
      cluster.audit.assertExactlyOnce();
    } finally {
      await cluster.close();
    }
  },
});

Deno.test({
  name: "a cell moved by the API while entities cross it loses and duplicates nothing",
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    const cluster = await startCluster({ rebalance: { enabled: false } }, { audit: true });
    try {
      const s = await cluster.state();
      // The busiest cell of w1 on the border with w2.
      const owners = s.map.owners;
      const cell = owners.findIndex((o, c) => o === "w1" && owners[c + 4] === "w2");
      assert.ok(cell >= 0);
      const response = await cluster.post(`/api/cells/${cell}/move`, { to: "w2" });
      assert.equal(response.status, 202, await response.clone().text());
      const body = await response.json();
      assert.equal(body.from, "w1");
      assert.equal(body.epoch, s.epoch + 1);
      await until("the migration to finish", async () => {
        await cluster.audit.collect();
        const now = await cluster.state();
        return now.events.some((e) => e.kind === "cell.migrated" && e.cell === cell)
          ? now
          : undefined;
      }, 20_000);
      const moved = await cluster.state();
      assert.equal(moved.map.owners[cell], "w2");
      // Move it back and forth once more while NPCs keep crossing.
      assert.equal((await cluster.post(`/api/cells/${cell}/move`, { to: "w1" })).status, 202);
      await until("the move back to finish", async () => {
        await cluster.audit.collect();
        const now = await cluster.state();
        return now.map.owners[cell] === "w1" && now.migrations.length === 0 ? now : undefined;
      }, 20_000);
      await ticksPass(cluster.audit, 40);
      const { handoffs } = cluster.audit.assertOneOwner(NPCS);
      assert.ok(handoffs > 10);
      cluster.audit.assertExactlyOnce();

      // Bad requests get a stable code and change nothing.
      const epoch = (await cluster.state()).epoch;
      const expect = async (response: Response, status: number, code: string) => {
        const body = await response.json();
        assert.equal(response.status, status, JSON.stringify(body));
        assert.equal(body.error.code, code);
        assert.match(body.error.message, /\S/);
      };
      await expect(
        await cluster.post(`/api/cells/${cell}/move`, { to: "nobody" }),
        404,
        "NOT_FOUND",
      );
      await expect(await cluster.post(`/api/cells/9999/move`, { to: "w2" }), 404, "NOT_FOUND");
      await expect(await cluster.post(`/api/cells/abc/move`, { to: "w2" }), 400, "BAD_REQUEST");
      await expect(await cluster.post(`/api/cells/${cell}/move`, { to: 7 }), 400, "BAD_REQUEST");
      await expect(
        await cluster.post(`/api/cells/${cell}/move`, { to: "w2", extra: 1 }),
        400,
        "BAD_REQUEST",
      );
      await expect(
        await fetch(`${cluster.api}/api/cells/${cell}/move`, {
          method: "POST",
          headers: OPERATOR_HEADERS,
          body: "{nope",
        }),
        400,
        "BAD_REQUEST",
      );
      await expect(await cluster.post(`/api/cells/${cell}/move`, "x".repeat(5000)), 413, "TOO_BIG");
      await expect(await fetch(`${cluster.api}/api/cells/${cell}/move`), 405, "METHOD_NOT_ALLOWED");
      await expect(await cluster.post(`/api/workers/nobody/drain`), 404, "NOT_FOUND");
      assert.equal((await cluster.state()).epoch, epoch, "no bad request changed the map");
    } finally {
      await cluster.close();
    }
  },
});

Deno.test({
  name: "load past high water claims a pool worker and load under low water returns one",
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    const cluster = await startCluster({
      rebalance: {
        enabled: true,
        ratio: 1.5,
        sustainMs: 1000,
        minLoad: 20,
        cooldownMs: 1000,
        intervalMs: 250,
      },
      autoscale: { highWater: 60, lowWater: 0, sustainMs: 1000 },
    }, { pool: 1, audit: true });
    try {
      const claimed = await until("the pool worker claimed", async () => {
        await cluster.audit.collect();
        const s = await cluster.state();
        const p1 = s.workers.find((w) => w.id === "p1");
        return p1?.state === "active" && p1.cells > 0 ? s : undefined;
      }, 30_000);
      assert.ok(claimed.events.some((e) => e.kind === "pool.claimed" && e.worker === "p1"));
      // Lower the thresholds: everyone is now under low water and one worker goes back.
      const tuned = await cluster.post("/api/autoscale", { highWater: 0, lowWater: 100_000 });
      assert.equal(tuned.status, 200, await tuned.clone().text());
      await tuned.body?.cancel();
      const released = await until("a worker returned to the pool", async () => {
        await cluster.audit.collect();
        const s = await cluster.state();
        return s.events.some((e) => e.kind === "pool.released") ? s : undefined;
      }, 30_000);
      assert.equal(released.workers.filter((w) => w.state === "active").length, 2);
      const spare = released.workers.find((w) => w.state === "spare")!;
      assert.equal(spare.cells, 0);
      await ticksPass(cluster.audit, 40);
      cluster.audit.assertOneOwner(NPCS);
      const bad = await cluster.post("/api/autoscale", { highWater: 10, lowWater: 20 });
      assert.equal(bad.status, 400);
      assert.equal((await bad.json()).error.code, "BAD_REQUEST");
    } finally {
      await cluster.close();
    }
  },
});

Deno.test({
  name: "SIGTERM or the drain API moves a worker's cells away before it exits 0, losing no entity",
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    const cluster = await startCluster({ minWorkers: 3, rebalance: { enabled: false } }, {
      workers: 3,
      audit: true,
    });
    try {
      await ticksPass(cluster.audit, 20);
      const [, w2, w3] = cluster.workers;
      // Drain through the API: w3 moves its cells away, leaves and exits by itself.
      const response = await cluster.post("/api/workers/w3/drain");
      assert.equal(response.status, 202, await response.clone().text());
      await response.body?.cancel();
      const byApi = await w3.stop("SIGCONT", 20_000); // waits for its own exit
      assert.equal(byApi.code, 0, w3.stderr.join("\n"));
      // SIGTERM: w2 drains into w1 and exits 0.
      const status = await w2.stop("SIGTERM", 20_000);
      assert.equal(status.code, 0, w2.stderr.join("\n"));
      assert.ok(w2.lines.some((l) => l.event === "drain.started"));
      const s = await until("only w1 left, owning everything", async () => {
        const now = await cluster.state();
        return now.workers.length === 1 && now.map.owners.every((o) => o === "w1")
          ? now
          : undefined;
      }, 10_000);
      assert.ok(s.events.some((e) => e.kind === "worker.drained" && e.worker === "w2"));
      assert.ok(s.events.some((e) => e.kind === "worker.left" && e.worker === "w3"));
      // No entity lost: w1 now owns every NPC, ids 1..NPCS.
      const w1 = await until("w1 owning every NPC", async () => {
        const view = await getJson<{ owned: number[][] }>(
          `http://${s.workers[0].httpAddress}/api/state`,
        );
        return view.owned.length === NPCS ? view : undefined;
      }, 10_000);
      const ids = new Set(w1.owned.map((e) => e[0]));
      for (let id = 1; id <= NPCS; id++) assert.ok(ids.has(id), `NPC ${id} survived the drains`);
      // The last worker cannot be drained.
      const last = await cluster.post("/api/workers/w1/drain");
      assert.equal(last.status, 409);
      assert.equal((await last.json()).error.code, "NO_CAPACITY");
    } finally {
      await cluster.close();
    }
  },
});
