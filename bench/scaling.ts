// Scenario scaling: the same world (constant density) on one and then two workers; a coarse
// search for the largest entity count at which every worker keeps tick p99 ≤ 20 ms, then the
// ratio of the two. Target (SPEC.md): two workers serve ≥ 1.8× one worker's entities. Two
// workers are measured twice: without backups (faultTolerance "none": the cost of splitting
// the world alone) and in the product's default "replica" mode, where each also mirrors the
// other's entities as its hot backup (a lone worker has no backup, so its one search serves
// both). Each worker is pinned to a core of its own with taskset (the coordinator to the last
// core), and the coordinator's and the harness's CPU are reported beside the workers'.
import { array, bool, cell, num, numOrNull, object } from "./json_fields.ts";
import type { Scenario, ScenarioContext, ScenarioOutput } from "./scenario.ts";
import { BUDGET_LABEL } from "./steady_state.ts";
import { round } from "./stats.ts";
import { measureCount, rowHeld, rowNotes, type TickRow } from "./worker_tick.ts";
import { phaseLine } from "./tick_window.ts";
import { DENSITY, TICK_HZ } from "./world.ts";
import { detectPinning, type Pinning } from "./pinning.ts";

const TARGET_RATIO = 1.8;

type FaultTolerance = "none" | "replica";

/** Parameters of a scaling run. */
export function scalingParameters(quick: boolean) {
  return {
    /** The searches: a lone worker, then a pair without and with hot backups. */
    searches: [
      { workers: 1, faultTolerance: "replica" },
      { workers: 2, faultTolerance: "none" },
      { workers: 2, faultTolerance: "replica" },
    ] as Array<{ workers: number; faultTolerance: FaultTolerance }>,
    // Up to 80,000: a lone worker held 40,000 on a quiet machine, so a pair at 1.8× needs 72,000.
    counts: quick ? [1_000] : [1_000, 2_000, 5_000, 10_000, 20_000, 30_000, 40_000, 60_000, 80_000],
    /** Bisection steps between the last count held and the first missed (to 500 or 1,000). */
    refineSteps: quick ? 0 : 2,
    warmupMs: quick ? 1_000 : 10_000,
    windowMs: quick ? 2_000 : 10_000,
    tickHz: TICK_HZ,
    density: DENSITY,
  };
}

/** The search on one number of workers. */
export interface Capacity {
  workers: number;
  /** The cluster's faultTolerance.mode (absent in runs from before it was measured both ways). */
  faultTolerance: FaultTolerance;
  runs: TickRow[];
  /** Largest count held; null when even the smallest count missed. */
  largestHeld: number | null;
  /** Smallest count missed; null when every count tried held (largestHeld is a lower bound). */
  smallestMissed: number | null;
}

/** Searches in place, so a failed run still reports the counts measured so far. */
async function search(
  context: ScenarioContext,
  parameters: ReturnType<typeof scalingParameters> & { pinning: Pinning },
  capacity: Capacity,
): Promise<void> {
  const { workers, faultTolerance } = capacity;
  const measure = async (entities: number) => {
    context.progress(`scaling: ${entities} entities on ${workers} worker(s), ${faultTolerance}`);
    const row = await measureCount(context, { ...parameters, workers, entities, faultTolerance });
    capacity.runs.push(row);
    const p99s = row.window?.workers.map((w) => w.tick ? w.tick.p99Ms ?? "> 250" : "?").join(", ");
    context.progress(`  p99 ${p99s ?? "–"} ms: ${rowHeld(row) ? "held" : "missed"}`);
    return rowHeld(row);
  };
  for (const entities of parameters.counts) {
    if (!(await measure(entities))) {
      capacity.smallestMissed = entities;
      break;
    }
    capacity.largestHeld = entities;
  }
  for (let step = 0; step < parameters.refineSteps; step++) {
    const missed = capacity.smallestMissed;
    if (missed === null) break;
    const low = capacity.largestHeld ?? 0;
    const unit = missed <= 10_000 ? 500 : 1_000;
    const mid = Math.round((low + missed) / 2 / unit) * unit;
    if (mid <= low || mid >= missed) break;
    if (await measure(mid)) capacity.largestHeld = mid;
    else capacity.smallestMissed = mid;
  }
}

/** Two workers (in one fault-tolerance mode) against one. */
function ratioOf(one: Capacity | undefined, two: Capacity | undefined) {
  const ratio = one?.largestHeld && two?.largestHeld
    ? round(two.largestHeld / one.largestHeld, 2)
    : null;
  // Every count held on two workers: the ratio is a lower bound.
  const lowerBound = two !== undefined && two.smallestMissed === null;
  return {
    faultTolerance: two?.faultTolerance ?? null,
    ratio,
    ratioIsLowerBound: lowerBound,
    targetMet: ratio === null
      ? null
      : ratio >= TARGET_RATIO
      ? true
      : lowerBound || one!.smallestMissed === null
      ? null
      : false,
  };
}

function summarize(capacities: Capacity[]) {
  const one = capacities.find((c) => c.workers === 1);
  const pairs = capacities.filter((c) => c.workers === 2);
  const ratios = pairs.map((two) => ratioOf(one, two));
  const replica = ratios.find((r) => r.faultTolerance === "replica");
  return {
    capacities,
    ratios,
    // The product's default mode (replica) decides the headline figures.
    ratio: replica?.ratio ?? null,
    ratioIsLowerBound: replica?.ratioIsLowerBound ?? false,
    targetRatio: TARGET_RATIO,
    targetMet: replica?.targetMet ?? null,
  };
}

async function run(context: ScenarioContext): Promise<ScenarioOutput> {
  const parameters = { ...scalingParameters(context.quick), pinning: detectPinning() };
  if (!parameters.pinning.pinned) {
    context.progress(`scaling: not pinned (${parameters.pinning.reason})`);
  }
  const capacities: Capacity[] = [];
  for (const { workers, faultTolerance } of parameters.searches) {
    const capacity: Capacity = {
      workers,
      faultTolerance,
      runs: [],
      largestHeld: null,
      smallestMissed: null,
    };
    capacities.push(capacity);
    context.partial = { ...summarize(capacities), pinning: parameters.pinning };
    await search(context, parameters, capacity);
  }
  return { parameters, results: { ...summarize(capacities), pinning: parameters.pinning } };
}

function render(raw: unknown) {
  const results = object(raw, "results");
  const rows: string[][] = [];
  const notes: string[] = [];
  const phases: string[] = [];
  const capacities = array(results.capacities, "results.capacities").map((c) => {
    const capacity = object(c, "capacity");
    const workers = num(capacity, "workers");
    const mode = typeof capacity.faultTolerance === "string"
      ? (workers === 1 ? "– (no backup)" : capacity.faultTolerance)
      : "replica";
    for (const r of array(capacity.runs, "capacity.runs")) {
      const row = object(r, "run");
      const entities = num(row, "entities").toLocaleString("en-US");
      notes.push(...rowNotes(row, `${entities} entities on ${workers} worker(s), ${mode}`));
      if (row.window === undefined) {
        rows.push([String(workers), mode, entities, ...new Array(8).fill("–"), "not measured"]);
        continue;
      }
      const window = object(row.window, "run.window");
      const ws = array(window.workers, "window.workers").map((w) => object(w, "worker"));
      const ticks = ws.map((w) => (w.tick === null ? null : object(w.tick, "worker.tick")));
      const total = object(window.total, "window.total");
      const machine = object(window.machine, "window.machine");
      rows.push([
        String(workers),
        mode,
        num(row, "entities").toLocaleString("en-US"),
        ticks.map((t) => (t ? cell(numOrNull(t, "p99Ms"), 1, "> 250") : "?")).join(" / "),
        ticks.map((t) => (t ? cell(num(t, "over20MsPct"), 2) : "?")).join(" / "),
        ws.map((w) => cell(num(w, "cpuPct"), 0)).join(" / "),
        cell(num(total, "cpuPct"), 0),
        `${cell(num(object(window.coordinator, "window.coordinator"), "cpuPct"), 1)} / ${
          cell(num(window, "harnessCpuPct"), 1)
        }`,
        cell(num(total, "rssMb"), 0),
        cell(num(machine, "otherPct"), 0),
        [...ws, object(window.coordinator, "window.coordinator")]
          .map((p) => typeof p.cores === "string" ? p.cores : "?").join(" / "),
        bool(window, "held") ? "yes" : "no",
      ]);
    }
    const held = numOrNull(capacity, "largestHeld"), missed = numOrNull(capacity, "smallestMissed");
    for (const r of array(capacity.runs, "capacity.runs")) {
      const row = object(r, "run");
      const entities = num(row, "entities");
      if (row.window === undefined || (entities !== held && entities !== missed)) continue;
      const label = `${entities.toLocaleString("en-US")} on ${workers} worker(s), ${mode}`;
      const line = phaseLine(label, object(row.window, "run.window"));
      if (line) phases.push(line);
    }
    return { workers, mode, held, missed };
  });
  const describe = (
    c: { workers: number; mode: string; held: number | null; missed: number | null },
  ) =>
    `${c.workers} worker${c.workers > 1 ? `s (${c.mode})` : ""}: ${
      c.held === null
        ? "none held"
        : `${c.missed === null ? "≥ " : ""}${c.held.toLocaleString("en-US")}`
    }${c.missed === null ? "" : ` (missed at ${c.missed.toLocaleString("en-US")})`}`;
  // Runs from before both modes were measured have one ratio, of the default (replica) mode.
  const ratios = results.ratios === undefined
    ? [{ ...results, faultTolerance: "replica" }]
    : array(results.ratios, "results.ratios").map((r) => object(r, "ratio"));
  const verdicts = ratios.map((r) => {
    const ratio = numOrNull(r, "ratio");
    const met = r.targetMet;
    return `Ratio with ${String(r.faultTolerance)}: ${
      ratio === null
        ? "not measurable"
        : `${r.ratioIsLowerBound === true ? "≥ " : ""}${ratio.toFixed(2)}×`
    }; target ≥ ${TARGET_RATIO}×: ${
      met === true ? "met" : met === false ? "missed" : "undetermined (search range too small)"
    }.`;
  });
  return {
    table: {
      columns: [
        "workers",
        "fault tolerance",
        "entities",
        "tick p99 ms per worker",
        "ticks > 20 ms % per worker",
        "CPU % per worker",
        "all processes CPU %",
        "coordinator / harness CPU %",
        "all processes RSS MB",
        "other programs CPU %",
        "cores (workers / coordinator)",
        BUDGET_LABEL,
      ],
      rows,
    },
    summary: [
      pinningLine(results),
      `Largest count with every worker at ${BUDGET_LABEL}: ${capacities.map(describe).join("; ")}.`,
      ...verdicts,
      ...phases,
      ...notes,
    ],
  };
}

/** How the run was pinned (runs from before bench/pinning.ts say nothing). */
function pinningLine(results: Record<string, unknown>): string {
  if (results.pinning === undefined) return "Not pinned (a run from before bench/pinning.ts).";
  const p = object(results.pinning, "results.pinning");
  return bool(p, "pinned")
    ? `Pinned with taskset: worker n on core n − 1, the coordinator on core ${
      num(p, "cores") - 1
    } (with the last worker when they fill every core); the harness is not pinned. ` +
      "The cores column lists what /proc said each process was allowed."
    : `Not pinned: ${String(p.reason)}.`;
}

/** The scaling scenario. */
export const scaling: Scenario = {
  name: "scaling",
  title: "Entities served by one vs. two workers",
  target: `two workers serve ≥ ${TARGET_RATIO}× the entities of one at tick ${BUDGET_LABEL}`,
  budgetMs: (quick) => (quick ? 90_000 : 1_800_000),
  run,
  render,
};
