// /metrics of the coordinator and of every worker, and the diagnostics API, against a real
// `--role=all` process under the demo game's load.
import assert from "node:assert/strict";
import { grpc, rpcClient, statusOf, unary } from "../../src/net/rpc.ts";
import { type Family, parseMetrics, samples, value } from "../../testing/prometheus_text.ts";
import { getJson, NodeProcess, until, writeTestConfig } from "../../testing/node_process.ts";
import { guestToken, TestClient } from "../../testing/ws_client.ts";
import { TICK_PHASES } from "../../src/observe/tick_phases.ts";

interface ClusterState {
  workers: Array<{ id: string; httpAddress: string; state: string; entities: number }>;
}

async function scrape(address: string): Promise<Map<string, Family>> {
  const response = await fetch(`http://${address}/metrics`, { signal: AbortSignal.timeout(5_000) });
  assert.equal(response.status, 200);
  assert.match(response.headers.get("content-type") ?? "", /^text\/plain; version=0\.0\.4/);
  return parseMetrics(await response.text());
}

const WORKER_FAMILIES = [
  "zs_tick_duration_seconds",
  "zs_tick_phase_seconds_total",
  "zs_entities",
  "zs_ghosts",
  "zs_handoffs_total",
  "zs_migrations_total",
  "zs_sessions",
  "zs_messages_total",
  "zs_bytes_total",
  "zs_errors_total",
  "process_cpu_user_seconds_total",
];

Deno.test({
  name: "every role's /metrics parses as Prometheus text with non-zero worker metrics under load",
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    const config = writeTestConfig({ role: "all", workers: 2 });
    const node = new NodeProcess("all", ["--config", config, "--port", "0", "--grpc-port", "0"]);
    let client: grpc.Client | undefined;
    let player: TestClient | undefined;
    try {
      const listening = await node.waitFor("coordinator.listening");
      const ready = await node.waitFor("all.ready");
      const api = `127.0.0.1:${ready.port}`;
      // One refused gRPC call, to be counted by code.
      client = rpcClient("Coordinator", `127.0.0.1:${listening.grpcPort}`, "");
      const refused = await unary(client, "Register", {
        nodeId: "",
        grpcAddress: "127.0.0.1:1",
        httpAddress: "",
        version: "x",
        pool: true,
      }).then(() => undefined, (e) => e);
      assert.equal(statusOf(refused), grpc.status.UNAUTHENTICATED);

      const state = await until("both workers to own entities", async () => {
        const s = await getJson<ClusterState>(`http://${api}/api/state`);
        return s.workers.length === 2 && s.workers.every((w) => w.entities > 0) ? s : undefined;
      });

      for (const worker of state.workers) {
        const families = await until(`${worker.id} to have ticked and synced`, async () => {
          const f = await scrape(worker.httpAddress);
          const sync = { node: worker.id, transport: "grpc_sync" };
          const ticks = samples(f, "zs_tick_duration_seconds", { node: worker.id })[0]?.count;
          const own = { role: "worker", node: worker.id };
          return ticks && value(f, "zs_bytes_total", { ...sync, direction: "in" }) > 0 &&
              value(f, "zs_bytes_total", { ...sync, direction: "out" }) > 0 &&
              value(f, "zs_handoffs_total", { ...own, direction: "in" }) > 0 &&
              value(f, "zs_ghosts", own) > 0
            ? f
            : undefined;
        }, 15_000);
        for (const name of WORKER_FAMILIES) assert.ok(families.has(name), `${worker.id}: ${name}`);
        const labels = { role: "worker", node: worker.id };
        assert.ok(value(families, "zs_entities", labels) > 0, `${worker.id} owns entities`);
        const [ticks] = samples(families, "zs_tick_duration_seconds", labels);
        assert.equal(families.get("zs_tick_duration_seconds")?.type, "histogram");
        assert.ok((ticks.count ?? 0) > 0 && (ticks.sum ?? 0) > 0, "ticks are timed");
        const phases = samples(families, "zs_tick_phase_seconds_total", labels);
        assert.deepEqual(phases.map((s) => s.labels.phase), [...TICK_PHASES]);
        assert.ok(value(families, "zs_tick_phase_seconds_total", { ...labels, phase: "game" }) > 0);
        const sync = { ...labels, transport: "grpc_sync" };
        assert.ok(value(families, "zs_messages_total", { ...sync, direction: "out" }) > 0);
        assert.ok(value(families, "zs_messages_total", { ...sync, direction: "in" }) > 0);
        // Handoffs and ghosts happened (the wait above), and the counter is the space's own:
        // never ahead of its state read after the scrape.
        const view = await getJson<{ counters: Record<string, number> }>(
          `http://${worker.httpAddress}/api/state`,
        );
        const handoffsIn = value(families, "zs_handoffs_total", { ...labels, direction: "in" });
        assert.ok(
          handoffsIn > 0 && handoffsIn <= view.counters.handoffsIn,
          `handoffs in: metric ${handoffsIn}, space ${view.counters.handoffsIn}`,
        );
        assert.ok(
          value(families, "zs_messages_total", { ...labels, transport: "http", direction: "in" }) >
            0,
          "the scrape itself is an HTTP message in",
        );
      }

      const coordinator = await scrape(api);
      const labels = { role: "coordinator", node: "coordinator" };
      assert.equal(value(coordinator, "zs_workers", { ...labels, state: "active" }), 2);
      assert.equal(value(coordinator, "zs_workers", { ...labels, state: "down" }), 0);
      assert.ok(value(coordinator, "zs_map_epoch", labels) >= 1);
      assert.equal(
        value(coordinator, "zs_errors_total", { ...labels, code: "UNAUTHENTICATED" }),
        1,
      );
      assert.ok(
        value(coordinator, "zs_bytes_total", { ...labels, transport: "http", direction: "out" }) >
          0,
      );
      assert.ok(coordinator.has("zs_migrations_total"));
      assert.ok(coordinator.has("process_resident_memory_bytes"));

      // The gateway (served on the same process in role all) counts its sessions.
      player = new TestClient(`ws://${api}/ws`);
      await player.hello({ token: await guestToken(`http://${api}`, "counted") });
      await until("the gateway to count the session", async () => {
        const f = await scrape(api);
        return value(f, "zs_sessions", { role: "gateway", node: "g1" }) === 1 ? f : undefined;
      }, 10_000);
    } finally {
      player?.close();
      await node.kill();
      client?.close(); // after the process is gone: a GOAWAY can abort Deno's nghttp2 peer
      Deno.removeSync(config);
    }
  },
});

Deno.test({
  name: "the diagnostics API of a real cluster: entity positions, replayed events, recent logs",
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    const config = writeTestConfig({ role: "all", workers: 2 });
    const node = new NodeProcess("all", ["--config", config, "--port", "0", "--grpc-port", "0"]);
    try {
      const ready = await node.waitFor("all.ready");
      const api = `http://127.0.0.1:${ready.port}`;
      type Positions = {
        max: number;
        workers: Array<{ id: string; total: number; entities: number[][]; error?: unknown }>;
      };
      const positions = await until("positions from both workers", async () => {
        const p = await getJson<Positions>(`${api}/api/entities?max=50`);
        return p.workers.length === 2 && p.workers.every((w) => w.entities.length > 0)
          ? p
          : undefined;
      });
      for (const w of positions.workers) {
        assert.equal(w.error, undefined);
        assert.ok(w.entities.length <= 50, "capped per worker");
        assert.ok(w.total >= w.entities.length);
        for (const [, x, y] of w.entities) assert.ok(x >= 0 && x < 400 && y >= 0 && y < 400);
      }

      const response = await fetch(`${api}/api/events`, { signal: AbortSignal.timeout(10_000) });
      const reader = response.body!.getReader();
      let text = "";
      while (!text.includes('"kind":"map.assigned"')) {
        const chunk = await reader.read();
        if (chunk.done) break;
        text += new TextDecoder().decode(chunk.value);
      }
      await reader.cancel();
      assert.match(text, /^retry: \d+/);
      assert.match(text, /id: \d+\ndata: \{"seq":\d+,"time":\d+,"kind":"worker.joined"/);
      assert.match(text, /"kind":"map.assigned"/);

      const logs = await getJson<{ latest: number; records: Array<{ record: { event: string } }> }>(
        `${api}/api/logs?level=info`,
      );
      assert.ok(logs.latest > 0);
      assert.ok(logs.records.some((r) => r.record.event === "coordinator.listening"));
      const bad = await fetch(`${api}/api/entities?max=-1`);
      assert.equal(bad.status, 400);
      assert.equal((await bad.json()).error.code, "BAD_REQUEST");

      // SIGTERM with an event stream open still exits promptly with status 0.
      const open = await fetch(`${api}/api/events`);
      const status = await node.stop("SIGTERM", 10_000);
      assert.equal(status.code, 0, node.stderr.join("\n"));
      await open.body?.cancel().catch(() => {});
    } finally {
      await node.kill();
      Deno.removeSync(config);
    }
  },
});
