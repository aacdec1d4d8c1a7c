// What a space pays for having a peer, in process (no gRPC): the same demo world once on one
// space and once split over two (testing/local_cluster.ts, real batch codec), each space's tick
// split into game logic and ghost sync's sender; and a lone space whose records are re-made a
// few per tick, as a handoff's receiver makes them, which separates the cost of records
// scattered in memory from the cost of the border; and the pair in replica mode, each space
// the other's backup. Explains the scaling numbers.
//
//   deno run -A bench/pair_cost.ts [--entities 40000] [--ticks 1000] [--warmup 1500] [--remade 8]
//                                  [--runs lone,remade,pair,replica] [--out bench/results/pair-cost.json]
import { parseArgs } from "node:util";
import { LocalCluster } from "../testing/local_cluster.ts";
import { demoGame, type DemoOptions } from "../src/games/demo.ts";
import type { GameDefinition } from "../src/sim/game.ts";
import { GhostSender } from "../src/sync/ghosts.ts";
import { Grid } from "../src/world/grid.ts";
import { recordOf, stateOf } from "../src/world/entity.ts";
import { assignRegions, PartitionMap } from "../src/world/partition.ts";
import { mulberry32 } from "../src/sim/random.ts";
import { describeMachine } from "./machine.ts";
import { round } from "./stats.ts";
import { GHOST_MARGIN, TICK_HZ, worldFor } from "./world.ts";

/** Milliseconds per space per tick, means over the measured ticks. */
interface Cost {
  run: string;
  entitiesPerSpace: number;
  ghostsPerSpace: number;
  stepMs: number;
  gameMs: number;
  ghostSendMs: number;
  /** Handoffs adopted per space per tick (the pair's), or records re-made (the lone's). */
  remadePerTick: number;
}

// The sender's one entry point, timed for every space of this process (this tool only).
let ghostSendMs = 0;
const collectGhosts = GhostSender.prototype.collectGhosts;
GhostSender.prototype.collectGhosts = function (...args) {
  const started = performance.now();
  try {
    return collectGhosts.apply(this, args);
  } finally {
    ghostSendMs += performance.now() - started;
  }
};

function measure(
  run: string,
  world: number,
  ids: string[],
  options: { ticks: number; warmup: number; remade: number; replica?: boolean },
): Cost {
  let gameMs = 0;
  const game: GameDefinition<DemoOptions> = {
    ...demoGame,
    onTick(ctx, o) {
      const started = performance.now();
      demoGame.onTick!(ctx, o);
      gameMs += performance.now() - started;
    },
  };
  const grid = new Grid(worldFor(world));
  const cluster = LocalCluster.of(ids, {
    grid,
    tickHz: TICK_HZ,
    ghostMargin: GHOST_MARGIN,
    game: game as GameDefinition<unknown>,
    gameOptions: { npcs: world, speed: 40, bumpRadius: 4, bumpCooldownTicks: 20, seed: 1 },
    // Replica mode as the product runs it (faultTolerance.replicationTicks 2).
    ...(options.replica ? { replicationTicks: 2 } : {}),
  });
  // In replica mode each of a pair is the other's backup.
  const backups = options.replica && ids.length === 2
    ? new Map([[ids[0], ids[1]], [ids[1], ids[0]]])
    : undefined;
  cluster.setMap(new PartitionMap(1, assignRegions(grid, ids), { backups }));
  const random = mulberry32(7);
  let stepMs = 0;
  const tick = (t: number) => {
    const started = performance.now();
    cluster.step(t);
    stepMs += performance.now() - started;
    // A handoff's receiver makes a new record of the entity; here the lone space does it to
    // `remade` random ones of its own, with no border and no peer.
    if (options.remade > 0) {
      const space = cluster.spaces[0];
      const owned = [...space.owned.keys()];
      for (let k = 0; k < options.remade; k++) {
        const old = space.owned.get(owned[Math.floor(random() * owned.length)])!;
        const record = recordOf({ ...stateOf(old), data: { ...old.data } }, space.id);
        record.cell = old.cell;
        space.index.remove(old.id);
        space.owned.delete(old.id);
        space.owned.set(record.id, record);
        space.index.upsert(record);
      }
    }
  };
  for (let t = 1; t <= options.warmup; t++) tick(t);
  stepMs = gameMs = ghostSendMs = 0;
  const adopted = () => cluster.spaces.reduce((n, s) => n + s.counters.handoffsIn, 0);
  const before = adopted();
  for (let t = options.warmup + 1; t <= options.warmup + options.ticks; t++) tick(t);
  const per = (ms: number) => round(ms / options.ticks / ids.length, 3);
  return {
    run,
    entitiesPerSpace: Math.round(cluster.owned() / ids.length),
    ghostsPerSpace: Math.round(cluster.spaces.reduce((n, s) => n + s.ghosts.size, 0) / ids.length),
    stepMs: per(stepMs),
    gameMs: per(gameMs),
    ghostSendMs: per(ghostSendMs),
    remadePerTick: options.remade || per(adopted() - before),
  };
}

if (import.meta.main) {
  const { values } = parseArgs({
    args: Deno.args,
    options: {
      entities: { type: "string", default: "40000" },
      ticks: { type: "string", default: "1000" },
      warmup: { type: "string", default: "1500" },
      remade: { type: "string", default: "8" },
      runs: { type: "string", default: "lone,remade,pair,replica" },
      out: { type: "string" },
    },
  });
  const entities = Number(values.entities);
  const options = { ticks: Number(values.ticks), warmup: Number(values.warmup), remade: 0 };
  const half = Math.round(entities / 2);
  const runs: Record<string, () => Cost> = {
    lone: () => measure("lone", half, ["a"], options),
    remade: () =>
      measure(`lone, ${values.remade} records re-made per tick`, half, ["a"], {
        ...options,
        remade: Number(values.remade),
      }),
    pair: () => measure("pair", entities, ["a", "b"], options),
    replica: () =>
      measure("pair, replica mode", entities, ["a", "b"], { ...options, replica: true }),
  };
  const chosen = values.runs.split(",");
  const unknown = chosen.filter((run) => !(run in runs));
  if (unknown.length > 0) {
    throw new TypeError(`Unknown --runs ${unknown.join(", ")}: use ${Object.keys(runs).join(",")}`);
  }
  const rows = chosen.map((run) => runs[run]());
  console.log(JSON.stringify(rows, null, 1));
  if (values.out) {
    const command = `deno run -A bench/pair_cost.ts ${Deno.args.join(" ")}`;
    const result = {
      tool: "pair-cost",
      command,
      timestamp: new Date().toISOString(),
      machine: describeMachine(),
      parameters: { entities, ...options, remade: Number(values.remade) },
      rows,
    };
    Deno.writeTextFileSync(values.out, JSON.stringify(result, null, 2) + "\n");
  }
}
