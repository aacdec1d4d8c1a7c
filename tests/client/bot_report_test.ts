import assert from "node:assert/strict";
import {
  BotMetrics,
  buildReport,
  countUp,
  formatReport,
  progressLine,
  progressSample,
  Samples,
} from "../../src/client/bot_report.ts";
import { mulberry32 } from "../../src/sim/random.ts";

const CONTEXT = { clients: 4, durationSeconds: 10, connectedSeconds: 40, botCpuPercent: 12.345 };

Deno.test("the report puts every error in one category and totals them", () => {
  const metrics = new BotMetrics(mulberry32(1));
  metrics.connected = 3;
  countUp(metrics.errorFrames, "RATE_LIMITED");
  countUp(metrics.errorFrames, "RATE_LIMITED");
  countUp(metrics.closes, 4004);
  countUp(metrics.failedConnects, "UNAVAILABLE");
  metrics.stream.problems.ENTER_KNOWN = 2;
  metrics.badServerFrames = 1;
  const report = buildReport(metrics, CONTEXT);
  assert.deepEqual(report.errors, {
    total: 7,
    frames: { RATE_LIMITED: 2 },
    closes: { "4004": 1 },
    connects: { UNAVAILABLE: 1 },
    protocol: { ENTER_KNOWN: 2, BAD_SERVER_FRAME: 1 },
  });
  assert.equal(progressSample(metrics, 1).errors, 7, "the progress line counts the same errors");
  assert.equal(report.connected, 3);
  assert.equal(report.botCpuPercent, 12.3);
});

Deno.test("the report gives percentiles in ms and rates per second, null without samples", () => {
  const metrics = new BotMetrics(mulberry32(1));
  for (let ms = 1; ms <= 100; ms++) metrics.ackMs.add(ms);
  metrics.connectMs.add(250);
  metrics.stream.diffs = 800;
  metrics.stream.cellCrossings = 5;
  metrics.stream.maxTickGap = 2;
  const report = buildReport(metrics, CONTEXT);
  assert.deepEqual(report.ackLatencyMs, { samples: 100, p50: 50, p99: 99, max: 100 });
  assert.deepEqual(report.connectMs, { samples: 1, p50: 250, p99: 250, max: 250 });
  assert.deepEqual(report.pingRttMs, { samples: 0, p50: null, p99: null, max: null });
  assert.equal(report.snapshotsPerSecond, 80);
  assert.equal(report.snapshotsPerClientPerSecond, 20);
  assert.equal(report.cellCrossings, 5);
  assert.equal(report.maxTickGap, 2);
  assert.equal(report.errors.total, 0);
  assert.match(report.definitions.cellCrossings, /upper bound on the handoffs/);
  const parsed = JSON.parse(JSON.stringify(report));
  assert.deepEqual(parsed, report, "the report survives JSON as it is");
});

Deno.test("the text report names every figure", () => {
  const metrics = new BotMetrics(mulberry32(1));
  metrics.connected = 4;
  metrics.ackMs.add(12);
  countUp(metrics.closes, 1006);
  const text = formatReport(buildReport(metrics, CONTEXT));
  for (
    const expected of [
      /connected\s+4 \/ 4/,
      /input→ack latency\s+p50 12 ms\s+p99 12 ms/,
      /connect time\s+no samples/,
      /snapshots\/s/,
      /cell crossings/,
      /max tick gap/,
      /errors\s+1/,
      /unexpected closes\s+1006 ×1/,
      /bots CPU\s+12.3 %/,
    ]
  ) assert.match(text, expected);
});

Deno.test("the progress line shows connected clients, errors and the snapshot rate since the last", () => {
  const line = progressLine(
    { atSeconds: 12, snapshots: 5000, errors: 3 },
    { atSeconds: 10, snapshots: 1000, errors: 1 },
    { connectedNow: 199, clients: 200 },
  );
  assert.equal(line, "bots   12s  connected 199/200  errors 3  snapshots/s 2000");
});

Deno.test("samples beyond the capacity keep a bounded, uniform subset", () => {
  const samples = new Samples(mulberry32(3), 1000);
  for (let i = 0; i < 100_000; i++) samples.add(i);
  assert.equal(samples.count, 100_000);
  assert.equal(samples.values.length, 1000);
  const mean = samples.values.reduce((a, b) => a + b, 0) / samples.values.length;
  assert.ok(mean > 40_000 && mean < 60_000, `a uniform subset has a mean near 50000, got ${mean}`);
});
