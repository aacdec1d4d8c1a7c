// Scenario handoff: walkers (bench/border_walkers.ts) walk back and forth across the border
// between two workers' regions, through a gateway, among the demo game's NPCs. Input→ack latency
// and tick gaps of the DIFFs near a crossing are compared with those well away from any
// crossing. Target (SPEC.md): no missed snapshot, added latency ≤ 1 tick.
import { BenchCluster } from "./cluster.ts";
import { GatewayNode } from "./gateway_node.ts";
import type { Group } from "./handoff_analysis.ts";
import { array, cell, num, numOrNull, object } from "./json_fields.ts";
import type { Scenario, ScenarioContext, ScenarioOutput } from "./scenario.ts";
import { ScriptProcess } from "./script_process.ts";
import { quantile, round } from "./stats.ts";
import { benchConfig, TICK_HZ, worldFor } from "./world.ts";

const TICK_MS = 1000 / TICK_HZ;

/** Parameters of a handoff run. */
export function handoffParameters(quick: boolean) {
  return {
    workers: 2,
    /** Sets the world's size (bench density): 500 NPCs make 500 × 500, 2,000 make 1,000 × 1,000. */
    npcs: quick ? 500 : 2_000,
    walkers: quick ? 4 : 40,
    inputHz: 10,
    tickHz: TICK_HZ,
    /** Walkers turn this far past the border: a pass takes 2 × 150 / 60 = 5 s (quick: 3.3 s). */
    turnDistance: quick ? 100 : 150,
    /** Near: within 500 ms of a crossing; away: at least 1,500 ms (90 units) from any. */
    nearMs: 500,
    awayMs: 1_500,
    warmupS: quick ? 2 : 10,
    /**
     * Long enough for a walker spawned anywhere to reach the border and cross it: up to half
     * the world's side away (quick: 250 units, 4.2 s at 60 units/s) plus the warm-up.
     */
    windowS: quick ? 6 : 60,
  };
}

/** One group's numbers as stored in the report. */
export interface GroupStats {
  inputs: number;
  ackP50Ms: number | null;
  ackP99Ms: number | null;
  ackMaxMs: number | null;
  diffs: number;
  intervalP99Ms: number | null;
  gapsOverOne: number;
  maxTickGap: number;
}

function stats(raw: unknown, where: string): GroupStats {
  const g = object(raw, where) as unknown as Group;
  const q = (values: number[], p: number) =>
    values.length > 0 ? round(quantile(values, p), 1) : null;
  return {
    inputs: g.ackMs.length,
    ackP50Ms: q(g.ackMs, 0.5),
    ackP99Ms: q(g.ackMs, 0.99),
    ackMaxMs: q(g.ackMs, 1),
    diffs: g.diffs,
    intervalP99Ms: q(g.intervalMs, 0.99),
    gapsOverOne: g.gapsOverOne,
    maxTickGap: g.maxTickGap,
  };
}

async function run(context: ScenarioContext): Promise<ScenarioOutput> {
  const parameters = handoffParameters(context.quick);
  const world = worldFor(parameters.npcs);
  const config = benchConfig({ workers: parameters.workers, npcs: parameters.npcs, world });
  const cluster = await BenchCluster.start(context, {
    workers: parameters.workers,
    entities: parameters.npcs,
    config,
  });
  const gateway = await GatewayNode.start(context, cluster, config);
  const out = Deno.makeTempFileSync({ prefix: "zs-bench-walkers-", suffix: ".json" });
  try {
    context.progress(
      `handoff: ${parameters.walkers} walkers across the border for ${parameters.windowS} s`,
    );
    const walkers = context.own(
      new ScriptProcess("walkers", "deno", "bench/border_walkers.ts", [
        "--gateway",
        gateway.url,
        "--api",
        cluster.api,
        "--walkers",
        String(parameters.walkers),
        "--rate",
        String(parameters.inputHz),
        "--turn",
        String(parameters.turnDistance),
        "--near",
        String(parameters.nearMs),
        "--away",
        String(parameters.awayMs),
        "--warmup",
        String(parameters.warmupS),
        "--window",
        String(parameters.windowS),
        "--out",
        out,
      ]),
    );
    const status = await walkers.finished((parameters.warmupS + parameters.windowS + 60) * 1000);
    if (!status.success) {
      throw new Error(`the walkers exited with ${status.code}: ${walkers.stderr.join("\n")}`);
    }
    const raw = object(JSON.parse(Deno.readTextFileSync(out)), "walkers");
    const near = stats(raw.near, "near"), away = stats(raw.away, "away");
    const added = (a: number | null, b: number | null) =>
      a === null || b === null ? null : round(a - b, 1);
    const addedP50Ms = added(near.ackP50Ms, away.ackP50Ms);
    const addedP99Ms = added(near.ackP99Ms, away.ackP99Ms);
    const missRate = (g: GroupStats) => (g.diffs > 0 ? g.gapsOverOne / g.diffs : 0);
    const results = {
      world: world.size,
      walkers: num(raw, "walkers"),
      connected: num(raw, "connected"),
      crossings: num(raw, "crossings"),
      near,
      away,
      addedP50Ms,
      addedP99Ms,
      tickMs: TICK_MS,
      errors: object(raw.errors, "errors"),
      targetMet: addedP99Ms === null || near.diffs === 0
        ? null
        : addedP99Ms <= TICK_MS && missRate(near) <= missRate(away),
    };
    context.progress(
      `  ${results.crossings} crossings; ack p50/p99 near ${near.ackP50Ms}/${near.ackP99Ms} ms, ` +
        `away ${away.ackP50Ms}/${away.ackP99Ms} ms; tick gaps > 1 near ${near.gapsOverOne}/` +
        `${near.diffs}, away ${away.gapsOverOne}/${away.diffs}`,
    );
    return { parameters, results };
  } finally {
    Deno.removeSync(out);
  }
}

function render(raw: unknown) {
  const results = object(raw, "results");
  const row = (label: string, key: string) => {
    const g = object(results[key], key);
    return [
      label,
      cell(num(g, "inputs"), 0),
      cell(numOrNull(g, "ackP50Ms"), 1),
      cell(numOrNull(g, "ackP99Ms"), 1),
      cell(numOrNull(g, "ackMaxMs"), 1),
      cell(num(g, "diffs"), 0),
      cell(numOrNull(g, "intervalP99Ms"), 1),
      cell(num(g, "gapsOverOne"), 0),
      cell(num(g, "maxTickGap"), 0),
    ];
  };
  const a50 = numOrNull(results, "addedP50Ms"), a99 = numOrNull(results, "addedP99Ms");
  const met = results.targetMet;
  const errors = Object.entries(object(results.errors, "errors"));
  return {
    table: {
      columns: [
        "inputs sent",
        "inputs",
        "ack p50 ms",
        "ack p99 ms",
        "ack max ms",
        "DIFFs",
        "DIFF interval p99 ms",
        "tick gaps > 1",
        "max tick gap",
      ],
      rows: [
        row("within 500 ms of a crossing", "near"),
        row("≥ 1.5 s from any crossing", "away"),
      ],
    },
    summary: [
      `${num(results, "connected")}/${num(results, "walkers")} walkers, ` +
      `${num(results, "crossings")} border crossings in the window; world ${
        array(results.world, "world").join(" × ")
      }, two workers.`,
      `Added at the crossing: p50 ${a50 ?? "–"} ms, p99 ${a99 ?? "–"} ms (one tick = ` +
      `${TICK_MS} ms); target ≤ 1 tick added and no more missed snapshots than away: ${
        met === true ? "met" : met === false ? "missed" : "not measurable"
      }.`,
      `Errors: ${errors.length === 0 ? "none" : errors.map(([k, v]) => `${k} ×${v}`).join(", ")}.`,
    ],
  };
}

/** The handoff scenario. */
export const handoff: Scenario = {
  name: "handoff",
  title: "Players walking across a worker border",
  target: "no missed snapshot and ≤ 1 tick of added latency when a player's entity changes worker",
  budgetMs: (quick) => (quick ? 60_000 : 240_000),
  run,
  render,
};
