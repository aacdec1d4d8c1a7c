// Scenario worker-tick: one worker simulating 1k … 50k demo NPCs at 20 Hz in a world sized
// for constant density; tick p50/p99, worker CPU and memory, and the largest count that keeps
// tick p99 within 20 ms. Target (SPEC.md): 20,000 entities at p99 ≤ 20 ms. Beside each count,
// in the same run, the typed-array limit of the same game (bench/limit_tick.ts, a process of
// its own, paced at 20 Hz): every tick figure is also a ratio to it (target: p50 within 5×).
import { BenchCluster } from "./cluster.ts";
import { array, bool, cell, num, numOrNull, object } from "./json_fields.ts";
import type { Scenario, ScenarioContext, ScenarioOutput } from "./scenario.ts";
import { BUDGET_LABEL, type ClusterWindow, measureWindow } from "./steady_state.ts";
import { benchConfig, DENSITY, TICK_HZ, worldFor } from "./world.ts";
import type { Pinning } from "./pinning.ts";
import { type LimitResult, measureLimit } from "./limit_tick.ts";

const TARGET_ENTITIES = 20_000;
/** The engine's tick p50 may be at most this many times the limit's at the target count. */
const TARGET_LIMIT_RATIO = 5;

/** Parameters of a worker-tick run. */
export function workerTickParameters(quick: boolean) {
  return {
    counts: quick ? [1_000] : [1_000, 5_000, 10_000, 20_000, 50_000],
    warmupMs: quick ? 1_000 : 10_000,
    windowMs: quick ? 2_000 : 15_000,
    tickHz: TICK_HZ,
    density: DENSITY,
    workers: 1,
    /** Ticks of the limit per count, after its warm-up ticks. */
    limitTicks: quick ? 40 : 200,
    limitWarmup: quick ? 20 : 100,
  };
}

/** One entity count, as stored in the report. */
export interface TickRow {
  entities: number;
  worldSize: number[];
  /** Absent when the count could not be measured (see `error`). */
  window?: ClusterWindow;
  /** Why it could not be measured, e.g. a worker too overloaded to answer its HTTP API. */
  error?: string;
  /** The typed-array limit at this count, measured right after the worker (worker-tick only). */
  limit?: LimitResult;
  /** Why the limit could not be measured. */
  limitError?: string;
}

/**
 * Starts a cluster of `workers` with `entities` NPCs, measures a window, stops it. A failure
 * of this count (not an abort of the scenario) is returned as the row's `error`, so the other
 * counts still run.
 */
export async function measureCount(
  context: ScenarioContext,
  options: {
    workers: number;
    entities: number;
    warmupMs: number;
    windowMs: number;
    pinning?: Pinning;
    /** faultTolerance.mode of the cluster (default: the product's, replica). */
    faultTolerance?: "replica" | "none";
  },
): Promise<TickRow> {
  const world = worldFor(options.entities);
  const row: TickRow = { entities: options.entities, worldSize: world.size };
  let cluster: BenchCluster | undefined;
  try {
    cluster = await BenchCluster.start(context, {
      workers: options.workers,
      entities: options.entities,
      config: benchConfig({
        workers: options.workers,
        npcs: options.entities,
        world,
        faultTolerance: options.faultTolerance,
      }),
      pinning: options.pinning,
    });
    row.window = await measureWindow(context, cluster, options);
  } catch (error) {
    context.checkAborted();
    row.error = (error as Error).message;
    context.progress(`  not measured: ${row.error}`);
  } finally {
    if (cluster) await context.release(cluster);
  }
  return row;
}

/** True when the row was measured and every worker held the tick budget. */
export function rowHeld(row: TickRow): boolean {
  return row.window?.held === true;
}

async function run(context: ScenarioContext): Promise<ScenarioOutput> {
  const parameters = workerTickParameters(context.quick);
  const rows: TickRow[] = [];
  const results = () => {
    const held = rows.filter(rowHeld).map((r) => r.entities);
    const target = rows.find((r) => r.entities === TARGET_ENTITIES);
    const ratio = target ? limitRatio(target) : null;
    return {
      rows,
      largestHeld: held.length > 0 ? Math.max(...held) : null,
      targetEntities: TARGET_ENTITIES,
      targetMet: target ? rowHeld(target) : null,
      limitRatioAtTarget: ratio,
      targetLimitRatio: TARGET_LIMIT_RATIO,
      limitTargetMet: ratio === null ? null : ratio <= TARGET_LIMIT_RATIO,
    };
  };
  for (const entities of parameters.counts) {
    context.partial = results();
    context.progress(`worker-tick: ${entities} entities on 1 worker`);
    const row = await measureCount(context, { ...parameters, workers: 1, entities });
    rows.push(row);
    const w = row.window?.workers[0];
    if (w) {
      const tick = w.tick
        ? `p50 ${w.tick.p50Ms ?? ">50"} ms, p99 ${w.tick.p99Ms ?? ">50"} ms, ` +
          `${w.tick.over20MsPct}% over 20 ms`
        : `ticks not read (last 1024: p99 ${w.ring.p99Ms} ms)`;
      context.progress(`  ${tick}, CPU ${w.cpuPct}%, RSS ${w.rssMb} MB`);
    }
    try {
      row.limit = await measureLimit(entities, {
        ticks: parameters.limitTicks,
        warmup: parameters.limitWarmup,
      });
      context.progress(`  limit: p50 ${row.limit.p50Ms} ms, p99 ${row.limit.p99Ms} ms`);
    } catch (error) {
      context.checkAborted();
      row.limitError = (error as Error).message;
    }
  }
  return { parameters, results: results() };
}

/** The worker's tick p50 over the limit's at the same count (null when either is missing). */
export function limitRatio(row: TickRow): number | null {
  const p50 = row.window?.workers[0]?.tick?.p50Ms;
  const limit = row.limit?.p50Ms;
  return typeof p50 === "number" && limit ? Math.round((p50 / limit) * 10) / 10 : null;
}

/** A stored row's problems, one line each: why it was not measured, what was not read. */
export function rowNotes(row: Record<string, unknown>, label: string): string[] {
  if (row.window === undefined) return [`${label}: not measured: ${String(row.error)}`];
  const notes = object(row.window, "row.window").notes;
  return Array.isArray(notes) ? notes.map((n) => `${label}: ${String(n)}`) : [];
}

function render(raw: unknown) {
  const results = object(raw, "results");
  const notes: string[] = [];
  const rows = array(results.rows, "results.rows").map((r) => {
    const row = object(r, "row");
    notes.push(...rowNotes(row, `${num(row, "entities").toLocaleString("en-US")} entities`));
    if (row.window === undefined) {
      const entities = num(row, "entities").toLocaleString("en-US");
      return [entities, ...new Array(12).fill("–"), "not measured"];
    }
    const window = object(row.window, "row.window");
    const w = object(array(window.workers, "window.workers")[0], "worker");
    const tick = w.tick === null ? null : object(w.tick, "worker.tick");
    const total = object(window.total, "window.total");
    const ring = object(w.ring, "worker.ring");
    const machine = object(window.machine, "window.machine");
    const limit = row.limit === undefined ? null : object(row.limit, "row.limit");
    const p50 = tick ? numOrNull(tick, "p50Ms") : null;
    if (row.limitError !== undefined) notes.push(`limit not measured: ${String(row.limitError)}`);
    return [
      num(row, "entities").toLocaleString("en-US"),
      tick ? cell(p50, 2, "> 250") : "?",
      tick ? cell(numOrNull(tick, "p99Ms"), 2, "> 250") : "?",
      limit ? `${cell(num(limit, "p50Ms"), 2)} / ${cell(num(limit, "p99Ms"), 2)}` : "–",
      limit && p50 !== null ? `${(p50 / num(limit, "p50Ms")).toFixed(1)}×` : "–",
      tick ? cell(num(tick, "meanMs"), 2) : "?",
      tick ? cell(num(tick, "over20MsPct"), 2) : "?",
      tick ? cell(num(tick, "ticksPerS")) : "?",
      cell(num(ring, "p99Ms"), 1),
      cell(num(w, "cpuPct"), 0),
      cell(num(w, "rssMb"), 0),
      cell(num(total, "cpuPct"), 0),
      cell(num(machine, "otherPct"), 0),
      bool(window, "held") ? "yes" : "no",
    ];
  });
  const largest = numOrNull(results, "largestHeld");
  const met = results.targetMet;
  return {
    table: {
      columns: [
        "entities",
        "tick p50 ms",
        "tick p99 ms",
        "limit p50 / p99 ms",
        "p50 ÷ limit p50",
        "mean ms",
        "ticks > 20 ms %",
        "ticks/s",
        "p99 ms, last 1024 ticks",
        "worker CPU %",
        "worker RSS MB",
        "all processes CPU %",
        "other programs CPU %",
        BUDGET_LABEL,
      ],
      rows,
    },
    summary: [
      `Largest count with ${BUDGET_LABEL}: ${
        largest === null ? "none" : largest.toLocaleString("en-US")
      }.`,
      `Target 20,000 at ${BUDGET_LABEL}: ${
        met === true ? "met" : met === false ? "missed" : "not measured in this run"
      }.`,
      limitLine(results),
      ...notes,
    ],
  };
}

/** The limit target's verdict (runs from before the limit was measured say so). */
function limitLine(results: Record<string, unknown>): string {
  const ratio = results.limitRatioAtTarget;
  if (typeof ratio !== "number") {
    return "Tick p50 at 20,000 within 5× of the typed-array limit: not measured in this run.";
  }
  return `Tick p50 at 20,000 within ${TARGET_LIMIT_RATIO}× of the typed-array limit ` +
    `(bench/limit_tick.ts, same run): ${ratio.toFixed(1)}×, ${
      ratio <= TARGET_LIMIT_RATIO ? "met" : "missed"
    }.`;
}

/** The worker-tick scenario. */
export const workerTick: Scenario = {
  name: "worker-tick",
  title: "One worker: tick duration vs. entity count",
  target: `20,000 entities on one worker at 20 Hz with tick ${BUDGET_LABEL}`,
  budgetMs: (quick) => (quick ? 60_000 : 420_000),
  run,
  render,
};
