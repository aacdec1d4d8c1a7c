// Phase timing in process (no gRPC): how one space's tick of the demo game splits into game
// logic, the game's neighbour queries and the space's own work (re-filing moved entities,
// handoff checks, ghost-band scan); and what a live cell transfer of N entities costs in
// checksum, encoding and decoding. Explains the worker-tick and migration numbers; the CPU
// profile (bench/profile.ts) shows the same split by function.
//
//   deno run -A bench/phase_timing.ts [--entities 1000,5000] [--ticks 300] [--warmup 200]
//                                     [--transfers 250,1000,4000]
//   deno run -A bench/phase_timing.ts --trend 20000 [--trend-ticks 1200]
import { parseArgs } from "node:util";
import {
  checksumOf,
  decodeBatch,
  emptyBatch,
  encodeBatch,
  type EntityState,
} from "../src/sync/batch_codec.ts";
import { demoGame } from "../src/games/demo.ts";
import type { GameContext, GameDefinition } from "../src/sim/game.ts";
import { Grid } from "../src/world/grid.ts";
import { PartitionMap } from "../src/world/partition.ts";
import { Space } from "../src/sim/space.ts";
import { quantile, round } from "./stats.ts";
import { benchConfig, GHOST_MARGIN, TICK_HZ, worldFor } from "./world.ts";

/** Milliseconds per tick spent in each phase, p50 over the measured ticks. */
export interface PhaseTimes {
  entities: number;
  ticks: number;
  stepP50Ms: number;
  stepP99Ms: number;
  gameP50Ms: number;
  queriesP50Ms: number;
  /** step − game: inbox, interactions, re-filing, handoff checks, ghost-band scan. */
  spaceP50Ms: number;
  /** Entities re-inserted into the spatial index per tick (left their fat box). */
  refiledPerTick: number;
}

/** A space owning a whole demo world of `entities` NPCs (at the benchmark density). */
function demoSpace(entities: number, game: GameDefinition<unknown>, auditEvents = 0): Space {
  const grid = new Grid(worldFor(entities));
  const space = new Space({
    id: "w1",
    index: 1,
    grid,
    tickHz: TICK_HZ,
    ghostMargin: GHOST_MARGIN,
    game,
    gameOptions: benchConfig({ workers: 1, npcs: entities }).game,
    seed: 1,
    auditEvents,
  });
  space.setMap(new PartitionMap(1, new Array(grid.cellCount).fill("w1")));
  return space;
}

/**
 * Mean step time per `every` ticks over a long run, with the size of the space's interaction
 * log: shows how the tick cost changes once that bounded log is full.
 */
export function timeTrend(entities: number, ticks: number, every = 100) {
  // Audit logs on (as test clusters keep them): the trend shows their cost once full.
  const space = demoSpace(entities, demoGame as GameDefinition<unknown>, 200_000);
  const rows: Array<{ ticks: string; meanMs: number; interactionLog: number }> = [];
  let sum = 0;
  for (let tick = 0; tick < ticks; tick++) {
    const t = performance.now();
    space.step(tick);
    sum += performance.now() - t;
    if ((tick + 1) % every === 0) {
      const log = space.interactionsSince(0).length;
      rows.push({
        ticks: `${tick + 1 - every}–${tick}`,
        meanMs: round(sum / every, 1),
        interactionLog: log,
      });
      sum = 0;
    }
  }
  return rows;
}

/** Runs `warmup + ticks` ticks of the demo game on one space and times its phases. */
export function timePhases(entities: number, ticks: number, warmup: number): PhaseTimes {
  let game = 0, queries = 0;
  const timedGame: GameDefinition<unknown> = {
    ...(demoGame as GameDefinition<unknown>),
    onTick(ctx: GameContext, options: unknown) {
      const timedCtx: GameContext = Object.create(ctx);
      timedCtx.near = (x, y, z, radius, out) => {
        const t = performance.now();
        const found = ctx.near(x, y, z, radius, out);
        queries += performance.now() - t;
        return found;
      };
      timedCtx.around = (entity, radius, out) => {
        const t = performance.now();
        const found = ctx.around(entity, radius, out);
        queries += performance.now() - t;
        return found;
      };
      const t = performance.now();
      demoGame.onTick!(timedCtx, options as never);
      game += performance.now() - t;
    },
  };
  const space = demoSpace(entities, timedGame);
  const steps: number[] = [], games: number[] = [], queryTimes: number[] = [];
  let refiled = 0;
  for (let tick = 0; tick < warmup + ticks; tick++) {
    game = queries = 0;
    const reinserts = space.index.reinserts;
    const t = performance.now();
    space.step(tick);
    const ms = performance.now() - t;
    if (tick < warmup) continue;
    steps.push(ms);
    games.push(game);
    queryTimes.push(queries);
    refiled += space.index.reinserts - reinserts;
  }
  const spaceOnly = steps.map((s, i) => s - games[i]);
  return {
    entities,
    ticks,
    stepP50Ms: round(quantile(steps, 0.5), 2),
    stepP99Ms: round(quantile(steps, 0.99), 2),
    gameP50Ms: round(quantile(games, 0.5), 2),
    queriesP50Ms: round(quantile(queryTimes, 0.5), 2),
    spaceP50Ms: round(quantile(spaceOnly, 0.5), 2),
    refiledPerTick: Math.round(refiled / ticks),
  };
}

/** Cost of one live cell transfer of `entities` demo NPCs, p50 over `repeats` (ms, bytes). */
export function timeTransfer(entities: number, repeats = 60) {
  const states: EntityState[] = [];
  for (let id = 1; id <= entities; id++) {
    states.push({
      id,
      type: "npc",
      x: 800 + Math.random() * 200,
      y: 800 + Math.random() * 200,
      z: 0,
      vx: Math.random() * 40 - 20,
      vy: Math.random() * 40 - 20,
      vz: 0,
      data: { bumps: id % 7, cooldownUntil: 1234 + id, home: 1 },
    });
  }
  const send: number[] = [], receive: number[] = [];
  let bytes = 0;
  for (let n = 0; n < repeats; n++) {
    let t = performance.now();
    const batch = emptyBatch("w1", 2, 100);
    for (const entity of states) batch.handoffs.push({ entity, tick: 100, hops: 0 });
    const checksum = checksumOf(states);
    batch.transfers.push({
      cell: 44,
      epoch: 2,
      tick: 100,
      count: entities,
      checksum,
      frozenAtMs: 0,
    });
    const payload = encodeBatch(batch);
    send.push(performance.now() - t);
    bytes = payload.length;
    t = performance.now();
    const decoded = decodeBatch(payload);
    if (checksumOf(decoded.handoffs.map((h) => h.entity)) !== checksum) {
      throw new Error("Cannot time transfers: the checksum does not survive the round trip");
    }
    receive.push(performance.now() - t);
  }
  const p50 = (v: number[]) => round(quantile(v.slice(repeats / 2), 0.5), 2);
  return { entities, bytes, senderMs: p50(send), receiverMs: p50(receive) };
}

if (import.meta.main) {
  const { values } = parseArgs({
    args: Deno.args,
    options: {
      entities: { type: "string", default: "1000,5000,10000,20000" },
      transfers: { type: "string", default: "250,1000,4000" },
      ticks: { type: "string", default: "300" },
      warmup: { type: "string", default: "200" },
      trend: { type: "string", default: "0" },
      "trend-ticks": { type: "string", default: "1200" },
    },
  });
  const trend = Number(values.trend);
  if (trend > 0) {
    console.log(`${trend} entities: mean step per 100 ticks\n`);
    console.log("| ticks | mean step ms | interaction log entries |");
    console.log("| --- | --: | --: |");
    for (const r of timeTrend(trend, Number(values["trend-ticks"]))) {
      console.log(`| ${r.ticks} | ${r.meanMs} | ${r.interactionLog} |`);
    }
    Deno.exit(0);
  }
  console.log(
    "| entities | step p50 ms | step p99 ms | game p50 ms | of it near() p50 ms | " +
      "space p50 ms | re-filed / tick |",
  );
  console.log("| --: | --: | --: | --: | --: | --: | --: |");
  for (const n of values.entities.split(",").map(Number)) {
    const t = timePhases(n, Number(values.ticks), Number(values.warmup));
    console.log(
      `| ${n} | ${t.stepP50Ms} | ${t.stepP99Ms} | ${t.gameP50Ms} | ${t.queriesP50Ms} | ` +
        `${t.spaceP50Ms} | ${t.refiledPerTick} |`,
    );
  }
  console.log(
    "\n| entities in the cell | batch KB | checksum + encode ms (sender) | " +
      "decode + verify ms (receiver) |",
  );
  console.log("| --: | --: | --: | --: |");
  for (const n of values.transfers.split(",").map(Number)) {
    const t = timeTransfer(n);
    console.log(`| ${n} | ${Math.round(t.bytes / 1024)} | ${t.senderMs} | ${t.receiverMs} |`);
  }
}
