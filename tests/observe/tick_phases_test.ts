// Where a tick's time goes: the space laps its phases into the worker's counters, and the
// counters reach the metrics scrape.
import assert from "node:assert/strict";
import { defineGame } from "../../src/sim/game.ts";
import { Space } from "../../src/sim/space.ts";
import { PHASE, TICK_PHASES, TickPhases } from "../../src/observe/tick_phases.ts";
import { NodeMetrics, scrape, trafficCounts } from "../../src/observe/metrics.ts";
import { Grid } from "../../src/world/grid.ts";
import { PartitionMap } from "../../src/world/partition.ts";
import { parseMetrics, samples, value } from "../../testing/prometheus_text.ts";

Deno.test("a space books its game's time to the game phase, and its phases add up to its steps", () => {
  let inHook = 0;
  const game = defineGame({
    name: "spin",
    entityTypes: { post: {} },
    onWorldStart(ctx) {
      ctx.spawn("post", { x: 5, y: 5 });
    },
    onTick() {
      // Busy for a measurable while (the clock must move), timed by the hook itself.
      const started = performance.now();
      let now = started;
      while (now - started < 1) now = performance.now();
      inHook += now - started;
    },
  });
  const phases = new TickPhases();
  const space = new Space({
    id: "a",
    index: 0,
    grid: new Grid({ dims: 2, size: [100, 100], cellSize: 50 }),
    tickHz: 20,
    ghostMargin: 10,
    game,
    gameOptions: {},
    phases,
  });
  space.setMap(new PartitionMap(1, ["a", "a", "a", "a"]));
  const started = performance.now();
  for (let tick = 1; tick <= 20; tick++) space.step(tick);
  const elapsed = (performance.now() - started) / 1000;
  const seconds = phases.seconds;
  assert.ok(seconds[PHASE.game] >= inHook / 1000, "the game phase holds all the game's time");
  const booked = seconds.reduce((sum, s) => sum + s, 0);
  assert.ok(booked <= elapsed, `phases ${booked} s within the steps' ${elapsed} s`);
  assert.ok(seconds[PHASE.game] > booked / 2, "the spinning game is most of the tick");
  assert.deepEqual([seconds[PHASE.rooms], seconds[PHASE.send]], [0, 0], "the runtime's phases");
});

Deno.test("a worker's phase seconds are a counter per phase on the scrape; a gateway has none", async () => {
  const worker = new NodeMetrics({ role: "worker", node: "tp-w1" });
  const gateway = new NodeMetrics({ role: "gateway", node: "tp-g1" });
  try {
    worker.watchWorker({
      owned: { size: 0 },
      ghosts: { size: 0 },
      counters: { handoffsIn: 0, handoffsOut: 0 },
    }, trafficCounts());
    worker.phases.seconds[PHASE.game] = 1.5;
    worker.phases.seconds[PHASE.sync] = 0.25;
    const families = parseMetrics(await scrape());
    const name = "zs_tick_phase_seconds_total";
    assert.equal(families.get(name)?.type, "counter");
    const node = { role: "worker", node: "tp-w1" };
    assert.equal(value(families, name, { ...node, phase: "game" }), 1.5);
    assert.equal(value(families, name, { ...node, phase: "sync" }), 0.25);
    assert.deepEqual(
      samples(families, name, node).map((s) => s.labels.phase),
      [...TICK_PHASES],
      "every phase, in order",
    );
    assert.deepEqual(samples(families, name, { node: "tp-g1" }), []);
  } finally {
    worker.close();
    gateway.close();
  }
});
