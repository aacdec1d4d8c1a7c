import assert from "node:assert/strict";
import { NodeMetrics, scrape, TICK_BUCKETS, trafficCounts } from "../../src/observe/metrics.ts";
import { parseMetrics, samples, value } from "../../testing/prometheus_text.ts";

function fakeWorker() {
  return {
    owned: { size: 0 },
    ghosts: { size: 0 },
    counters: { handoffsIn: 0, handoffsOut: 0 },
  };
}

Deno.test("a worker's gauges and counters are read from its space at scrape time", async () => {
  const metrics = new NodeMetrics({ role: "worker", node: "mt-w1" });
  try {
    const worker = fakeWorker();
    const sync = trafficCounts();
    metrics.watchWorker(worker, sync);
    worker.owned.size = 12;
    worker.ghosts.size = 3;
    worker.counters.handoffsIn = 4;
    worker.counters.handoffsOut = 5;
    sync.messagesOut = 7;
    sync.bytesOut = 700;
    const node = { role: "worker", node: "mt-w1" };
    let families = parseMetrics(await scrape());
    assert.equal(value(families, "zs_entities", node), 12);
    assert.equal(value(families, "zs_ghosts", node), 3);
    assert.equal(value(families, "zs_handoffs_total", { ...node, direction: "in" }), 4);
    assert.equal(value(families, "zs_handoffs_total", { ...node, direction: "out" }), 5);
    const out = { ...node, transport: "grpc_sync", direction: "out" };
    assert.equal(value(families, "zs_messages_total", out), 7);
    assert.equal(value(families, "zs_bytes_total", out), 700);
    assert.equal(families.get("zs_handoffs_total")?.type, "counter");

    worker.owned.size = 20;
    sync.bytesOut = 900;
    families = parseMetrics(await scrape());
    assert.equal(value(families, "zs_entities", node), 20, "a second scrape sees new values");
    assert.equal(value(families, "zs_bytes_total", out), 900, "counters are not added twice");
  } finally {
    metrics.close();
  }
});

Deno.test("tick durations land in buckets from 0.1 ms to 250 ms, fine around the 20 ms budget", async () => {
  const metrics = new NodeMetrics({ role: "worker", node: "mt-tick" });
  try {
    metrics.observeTick(0.0002);
    metrics.observeTick(0.003);
    metrics.observeTick(0.018);
    metrics.observeTick(0.4);
    const families = parseMetrics(await scrape());
    const [series] = samples(families, "zs_tick_duration_seconds", { node: "mt-tick" });
    assert.equal(families.get("zs_tick_duration_seconds")?.type, "histogram");
    assert.equal(series.count, 4);
    assert.equal(series.buckets?.["0.0001"], 0);
    assert.equal(series.buckets?.["0.00025"], 1);
    assert.equal(series.buckets?.["0.005"], 2);
    assert.equal(series.buckets?.["0.015"], 2, "18 ms is over 15 ms...");
    assert.equal(series.buckets?.["0.02"], 3, "...and within the 20 ms budget");
    assert.equal(series.buckets?.["0.25"], 3, "400 ms is beyond the last finite bucket");
    assert.equal(series.buckets?.["+Inf"], 4);
    assert.equal(TICK_BUCKETS[0], 0.0001);
    assert.equal(TICK_BUCKETS.at(-1), 0.25);
  } finally {
    metrics.close();
  }
});

Deno.test("errors are counted by code and migrations by node", async () => {
  const metrics = new NodeMetrics({ role: "coordinator", node: "mt-c" });
  try {
    metrics.countError("UNAUTHENTICATED");
    metrics.countError("UNAUTHENTICATED");
    metrics.countError("BAD_BATCH");
    metrics.countMigration();
    metrics.countMigration(2);
    const families = parseMetrics(await scrape());
    const node = { node: "mt-c" };
    assert.equal(value(families, "zs_errors_total", { ...node, code: "UNAUTHENTICATED" }), 2);
    assert.equal(value(families, "zs_errors_total", { ...node, code: "BAD_BATCH" }), 1);
    assert.equal(value(families, "zs_migrations_total", node), 3);
  } finally {
    metrics.close();
  }
});

Deno.test("a coordinator exports workers by state, zero for empty states, and the map epoch", async () => {
  const metrics = new NodeMetrics({ role: "coordinator", node: "mt-c2" });
  try {
    const workers = new Map([
      ["w1", { state: "active" }],
      ["w2", { state: "active" }],
      ["w3", { state: "draining" }],
    ]);
    const map = { epoch: 7 };
    metrics.watchCoordinator({ workers, map });
    const families = parseMetrics(await scrape());
    const node = { node: "mt-c2" };
    assert.equal(value(families, "zs_workers", { ...node, state: "active" }), 2);
    assert.equal(value(families, "zs_workers", { ...node, state: "down" }), 0);
    assert.equal(value(families, "zs_workers", { ...node, state: "spare" }), 0);
    assert.equal(value(families, "zs_workers", { ...node, state: "draining" }), 1);
    assert.equal(value(families, "zs_map_epoch", node), 7);
  } finally {
    metrics.close();
  }
});

Deno.test("the scrape holds default process metrics and every zonescaler family", async () => {
  const metrics = new NodeMetrics({ role: "gateway", node: "mt-g" });
  try {
    metrics.sessions = 5;
    const families = parseMetrics(await scrape());
    for (
      const name of [
        "process_cpu_user_seconds_total",
        "nodejs_heap_size_used_bytes",
        "zs_tick_duration_seconds",
        "zs_entities",
        "zs_ghosts",
        "zs_handoffs_total",
        "zs_migrations_total",
        "zs_sessions",
        "zs_messages_total",
        "zs_bytes_total",
        "zs_errors_total",
        "zs_workers",
        "zs_map_epoch",
      ]
    ) {
      assert.ok(families.has(name), `${name} is exported`);
    }
    assert.equal(value(families, "zs_sessions", { node: "mt-g" }), 5);
  } finally {
    metrics.close();
  }
});

Deno.test("renaming a node moves its series, and closing it removes them", async () => {
  const metrics = new NodeMetrics({ role: "worker", node: "" });
  metrics.watchWorker(fakeWorker(), trafficCounts());
  metrics.observeTick(0.001);
  metrics.node = "mt-renamed";
  metrics.observeTick(0.001);
  let families = parseMetrics(await scrape());
  assert.equal(samples(families, "zs_entities", { node: "mt-renamed" }).length, 1);
  assert.equal(samples(families, "zs_tick_duration_seconds", { node: "" }).length, 0);
  assert.equal(samples(families, "zs_tick_duration_seconds", { node: "mt-renamed" }).length, 1);
  metrics.close();
  families = parseMetrics(await scrape());
  assert.equal(samples(families, "zs_entities", { node: "mt-renamed" }).length, 0);
  assert.equal(samples(families, "zs_tick_duration_seconds", { node: "mt-renamed" }).length, 0);
});
