// The benchmarks' tick window: the ticks between two scrapes of a worker's /metrics, and where
// their time went by phase.
import assert from "node:assert/strict";
import { tickHistogramOf, tickWindow } from "../../bench/tick_window.ts";

/** A worker's /metrics text with `count` ticks of `sum` seconds and phase seconds `phases`. */
function metricsText(count: number, sum: number, phases?: Record<string, number>): string {
  const labels = 'role="worker",node="w1"';
  const lines = [
    "# TYPE zs_tick_duration_seconds histogram",
    ...[0.005, 0.02, 0.05].map((le) =>
      `zs_tick_duration_seconds_bucket{le="${le}",${labels}} ${le === 0.005 ? 0 : count}`
    ),
    `zs_tick_duration_seconds_bucket{le="+Inf",${labels}} ${count}`,
    `zs_tick_duration_seconds_sum{${labels}} ${sum}`,
    `zs_tick_duration_seconds_count{${labels}} ${count}`,
  ];
  if (phases) {
    lines.push("# TYPE zs_tick_phase_seconds_total counter");
    for (const [phase, s] of Object.entries(phases)) {
      lines.push(`zs_tick_phase_seconds_total{${labels},phase="${phase}"} ${s}`);
    }
  }
  return lines.join("\n") + "\n";
}

Deno.test("a tick window gives each phase's mean ms per tick between the two scrapes", () => {
  const before = tickHistogramOf(metricsText(100, 1, { game: 0.5, sync: 0.1 }), "w1");
  const after = tickHistogramOf(metricsText(300, 3, { game: 1.7, sync: 0.3 }), "w1");
  const window = tickWindow(before, after, 10);
  assert.equal(window.ticks, 200);
  assert.equal(window.meanMs, 10);
  assert.deepEqual(window.phaseMeanMs, { game: 6, sync: 1 });
});

Deno.test("a worker without the phase counter gives a window without phases", () => {
  const before = tickHistogramOf(metricsText(100, 1), "w1");
  const after = tickHistogramOf(metricsText(300, 3, { game: 1 }), "w1");
  assert.equal(before.phasesMs, undefined);
  assert.equal(tickWindow(before, after, 10).phaseMeanMs, undefined);
});
