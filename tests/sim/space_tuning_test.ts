// The space's waits are wall-clock settings: the same milliseconds at any tick rate.
import assert from "node:assert/strict";
import { decodeBatch, encodeBatch } from "../../src/sync/batch_codec.ts";
import { demoGame } from "../../src/games/demo.ts";
import { Space } from "../../src/sim/space.ts";
import { SPACE_TIMINGS, spaceTicks } from "../../src/sim/space_tuning.ts";
import { Grid } from "../../src/world/grid.ts";
import { assignRegions, PartitionMap } from "../../src/world/partition.ts";

const grid = new Grid({ dims: 2, size: [400, 200], cellSize: 100 });

Deno.test("every timing becomes whole ticks, rounded up, at least one", () => {
  for (const hz of [1, 20, 30, 60, 120]) {
    const ticks = spaceTicks({}, hz);
    assert.equal(ticks.epochWait, Math.ceil((SPACE_TIMINGS.epochWaitMs * hz) / 1000));
    assert.equal(ticks.transferResend, Math.ceil((SPACE_TIMINGS.transferResendMs * hz) / 1000));
    assert.equal(ticks.forward, Math.ceil((SPACE_TIMINGS.forwardMs * hz) / 1000));
    assert.equal(ticks.appliedMemory, Math.ceil((SPACE_TIMINGS.appliedMemoryMs * hz) / 1000));
    assert.equal(ticks.acceptedMemory, Math.ceil((SPACE_TIMINGS.acceptedMemoryMs * hz) / 1000));
  }
  // The defaults are the tick constants they replace, at the default 20 Hz.
  assert.deepEqual(spaceTicks({}, 20), {
    epochWait: 40,
    transferResend: 40,
    forward: 200,
    appliedMemory: 400,
    acceptedMemory: 1000,
  });
  assert.equal(spaceTicks({ epochWaitMs: 1 }, 1).epochWait, 1);
  assert.equal(spaceTicks({ epochWaitMs: 0 }, 60).epochWait, 1);
});

/**
 * Ticks a batch from a newer epoch waits at `tickHz` when its map never arrives: the receiver
 * is stepped until the batch is applied anyway.
 */
function overdueMapWait(tickHz: number, epochWaitMs?: number): number {
  const map = new PartitionMap(1, assignRegions(grid, ["a", "b"]));
  const timings = epochWaitMs === undefined ? {} : { epochWaitMs };
  const [a, b] = ["a", "b"].map((id, index) =>
    new Space({
      id,
      index,
      grid,
      tickHz,
      ghostMargin: 30,
      game: demoGame,
      // Moving NPCs: a has ghost moves to send b every tick (unchanged ghosts are not resent).
      gameOptions: { npcs: 100, speed: 10, bumpRadius: 8, bumpCooldownTicks: 5, seed: 3 },
      timings,
    })
  );
  a.setMap(map);
  b.setMap(map);
  a.step(1);
  b.step(1);
  a.setMap(map.next(map.owners)); // epoch 2, which b never hears of
  const batch = a.step(2).get("b");
  assert.ok(batch, "a sends b a batch");
  b.receive(decodeBatch(encodeBatch(batch)));
  const applied = b.counters.batchesApplied;
  for (let tick = 2; tick < 10_000; tick++) {
    b.step(tick);
    if (b.counters.batchesApplied > applied) return tick - 1; // seen at tick 1
  }
  return assert.fail("the batch was never applied");
}

Deno.test("an overdue map holds a batch for epochWaitMs of wall time at any tick rate", () => {
  const at20 = overdueMapWait(20);
  const at60 = overdueMapWait(60);
  assert.equal(at20, spaceTicks({}, 20).epochWait);
  assert.equal(at60, spaceTicks({}, 60).epochWait);
  assert.equal((at20 * 1000) / 20, SPACE_TIMINGS.epochWaitMs);
  assert.equal((at60 * 1000) / 60, SPACE_TIMINGS.epochWaitMs);
  // And the option is honoured.
  assert.equal(overdueMapWait(20, 500), 10);
});
