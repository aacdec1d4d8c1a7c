// Scenario remote-logic: the cost of game logic outside the worker. One worker runs the orbs game
// whose logic is the Python GameLogic server (examples/remote_py), at 1k and 5k entities; next
// to it, in the same run, the same worker with the in-process demo game at the same count. Per
// count: worker tick p50/p99, the TickIn → TickOut round trip (mean, and the histogram bucket
// holding the p99), late replies per tick, the Python process's CPU.
import { BenchCluster } from "./cluster.ts";
import { array, num, object } from "./json_fields.ts";
import { cpuPercent, sampleProcess } from "./proc_stats.ts";
import type { Scenario, ScenarioContext, ScenarioOutput } from "./scenario.ts";
import { type ClusterWindow, measureWindow } from "./steady_state.ts";
import { benchConfig, worldFor } from "./world.ts";
import { LogicServer } from "../testing/logic_server.ts";
import { parseMetrics, samples } from "../testing/prometheus_text.ts";
import { round } from "./stats.ts";

function parameters(quick: boolean) {
  return {
    counts: quick ? [500] : [1_000, 5_000],
    warmupMs: quick ? 2_000 : 8_000,
    windowMs: quick ? 4_000 : 15_000,
  };
}

/** The Python logic server, owned by the scenario (stopped by its pid however the run ends). */
async function startLogic(context: ScenarioContext): Promise<{ port: number; pid: number }> {
  const server = new LogicServer(0);
  context.own({ close: () => server.stop() });
  return { port: await server.port, pid: server.pid };
}

interface LogicCounters {
  roundTrips: number;
  roundTripSumS: number;
  late: number;
  buckets: Array<[number, number]>;
}

async function logicCounters(address: string): Promise<LogicCounters> {
  const families = parseMetrics(await (await fetch(`http://${address}/metrics`)).text());
  const [trips] = samples(families, "zs_game_logic_round_trip_seconds");
  const late = samples(families, "zs_game_logic_late_replies_total");
  return {
    roundTrips: trips?.count ?? 0,
    roundTripSumS: trips?.sum ?? 0,
    late: late.reduce((n, s) => n + (s.value ?? 0), 0),
    // Sorted by bound: an object puts integer-like keys ("1") before the others.
    buckets: Object.entries(trips?.buckets ?? {}).map(([le, n]) =>
      [Number(le), n] as [
        number,
        number,
      ]
    ).sort((a, b) => a[0] - b[0]),
  };
}

/** The smallest bucket bound holding `q` of the observations between two scrapes. */
function bucketQuantile(before: LogicCounters, after: LogicCounters, q: number): number | null {
  const total = after.roundTrips - before.roundTrips;
  if (total <= 0) return null;
  for (const [le, count] of after.buckets) {
    const was = before.buckets.find(([b]) => b === le)?.[1] ?? 0;
    if (count - was >= q * total) return le === Infinity ? null : le * 1000;
  }
  return null;
}

async function measure(
  context: ScenarioContext,
  entities: number,
  game: "remote" | "demo",
  options: { warmupMs: number; windowMs: number },
) {
  const world = worldFor(entities);
  const config = benchConfig({ workers: 1, npcs: entities, world });
  const logic = game === "remote" ? await startLogic(context) : undefined;
  if (logic) {
    config.game = {
      module: "examples/remote_py/orbs.ts",
      options: { address: `127.0.0.1:${logic.port}`, orbs: entities, speed: 30 },
    };
  }
  const cluster = await BenchCluster.start(context, { workers: 1, entities, config });
  try {
    const state = await cluster.state();
    const address = state.workers[0].httpAddress;
    const before = logic ? await logicCounters(address) : undefined;
    const py0 = logic ? sampleProcess(logic.pid) : undefined;
    const window: ClusterWindow = await measureWindow(context, cluster, options);
    const py1 = logic ? sampleProcess(logic.pid) : undefined;
    const after = logic ? await logicCounters(address) : undefined;
    const w = window.workers[0];
    const ticks = w.tick ? w.tick.ticksPerS * window.windowS : null;
    const row: Record<string, unknown> = {
      game,
      entities,
      tickP50Ms: w.tick?.p50Ms ?? null,
      tickP99Ms: w.tick?.p99Ms ?? null,
      workerCpuPct: w.cpuPct,
      held: window.held,
      notes: window.notes,
    };
    if (before && after) {
      const trips = after.roundTrips - before.roundTrips;
      row.roundTrips = trips;
      row.roundTripMeanMs = trips > 0
        ? round((after.roundTripSumS - before.roundTripSumS) / trips * 1000, 2)
        : null;
      row.roundTripP99BucketMs = bucketQuantile(before, after, 0.99);
      row.lateRepliesPerTick = ticks ? round((after.late - before.late) / ticks, 3) : null;
      row.logicCpuPct = py0 && py1 ? round(cpuPercent(py0, py1), 1) : null;
    }
    return row;
  } finally {
    await context.release(cluster);
  }
}

async function run(context: ScenarioContext): Promise<ScenarioOutput> {
  const p = parameters(context.quick);
  const rows: Record<string, unknown>[] = [];
  for (const entities of p.counts) {
    for (const game of ["remote", "demo"] as const) {
      context.partial = { rows };
      context.progress(`remote-logic: ${entities} entities, ${game} game`);
      rows.push(await measure(context, entities, game, p));
    }
  }
  return { parameters: p, results: { rows } };
}

function render(raw: unknown) {
  const rows = array(object(raw, "results").rows, "results.rows").map((r) => {
    const row = object(r, "row");
    const show = (key: string) =>
      row[key] === null || row[key] === undefined ? "–" : String(row[key]);
    return [
      num(row, "entities").toLocaleString("en-US"),
      row.game === "remote" ? "Python (GameLogic gRPC)" : "demo, in process",
      show("tickP50Ms"),
      show("tickP99Ms"),
      show("roundTripMeanMs"),
      show("roundTripP99BucketMs"),
      show("lateRepliesPerTick"),
      show("workerCpuPct"),
      show("logicCpuPct"),
    ];
  });
  return {
    table: {
      columns: [
        "entities",
        "game logic",
        "tick p50 ms",
        "tick p99 ms",
        "round trip mean ms",
        "round trip p99 ≤ ms (bucket)",
        "late replies / tick",
        "worker CPU %",
        "logic CPU %",
      ],
      rows,
    },
    summary: [
      "One worker at 20 Hz; the Python orbs server (examples/remote_py) against the in-process " +
      "demo game at the same entity count, in the same run. Ticks never wait for a reply: a " +
      "late one is applied at the next tick.",
    ],
  };
}

/** The remote-logic scenario. */
export const remoteLogic: Scenario = {
  name: "remote-logic",
  title: "Game logic over gRPC (Python) beside in-process logic",
  target: "A late GameLogic reply never stalls the tick; per-tick overhead measured",
  budgetMs: (quick) => quick ? 60_000 : 240_000,
  run,
  render,
};
