// Scenario abort-stress (issue 11 item 1): fault cycles (drains through the API, SIGTERM,
// kill -9, short SIGSTOPs, 10 s stalls past the failure timeout, cell moves) in a seeded random
// order against a coordinator, 3 workers, a gateway and bots, restarting workers as they leave;
// then role all drained thread by thread. Counts processes ended by a signal nobody sent them
// and native crash lines on stderr. Target: 0 of both.
import { drainAllRole } from "../testing/all_role_drains.ts";
import { Fault, type FaultReport, runFaultCycles } from "../testing/fault_cycles.ts";
import { array, num, object } from "./json_fields.ts";
import type { Scenario, ScenarioContext, ScenarioOutput } from "./scenario.ts";

/** Parameters of a run. */
export function abortStressParameters(quick: boolean) {
  return {
    seed: 11,
    workers: 3,
    bots: quick ? 10 : 40,
    counts: quick
      ? { move: 6, pause: 6, stall: 2, drain: 1, sigterm: 1, kill: 1 }
      : { move: 24, pause: 20, stall: 8, drain: 8, sigterm: 8, kill: 6 },
    pauseMs: 500,
    stallMs: quick ? 4_000 : 10_000,
    heartbeatMs: 500,
    workerTimeoutMs: 3_000,
    allRoleRounds: quick ? 1 : 5,
    allRoleThreads: 4,
  };
}

/** Seeded Fisher–Yates shuffle (mulberry32), so a run's fault order can be replayed. */
function shuffled<T>(items: T[], seed: number): T[] {
  let state = seed >>> 0;
  const random = () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  const out = [...items];
  for (let i = out.length - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    [out[i], out[j]] = [out[j], out[i]];
  }
  return out;
}

async function run(context: ScenarioContext): Promise<ScenarioOutput> {
  const parameters = abortStressParameters(context.quick);
  const cycles = shuffled(
    Object.entries(parameters.counts).flatMap(([fault, n]) =>
      Array.from({ length: n }, () => fault as Fault)
    ),
    parameters.seed,
  );
  context.progress(`abort-stress: ${cycles.length} fault cycles`);
  const cluster: FaultReport = await runFaultCycles({
    cycles,
    workers: parameters.workers,
    bots: parameters.bots,
    pauseMs: parameters.pauseMs,
    stallMs: parameters.stallMs,
    config: { heartbeatMs: parameters.heartbeatMs, workerTimeoutMs: parameters.workerTimeoutMs },
    progress: (line) => context.progress(`  ${line}`),
  });
  context.partial = { cluster };
  const allRole = [];
  for (let round = 1; round <= parameters.allRoleRounds; round++) {
    context.checkAborted();
    context.progress(`abort-stress: role all, round ${round}`);
    allRole.push(await drainAllRole(parameters.allRoleThreads));
  }
  const aborts = cluster.unexpectedSignals.length +
    allRole.filter((r) => r.signal !== null).length;
  const crashLines = cluster.crashLines.length +
    allRole.reduce((n, r) => n + r.crashLines.length, 0);
  return {
    parameters,
    results: {
      cycles: cluster.cycles,
      byFault: cluster.byFault,
      failedCycles: cluster.failed,
      skippedCycles: cluster.skipped,
      processes: cluster.processes,
      restarts: cluster.restarts,
      unexpectedSignals: cluster.unexpectedSignals,
      unexpectedExits: cluster.unexpectedExits,
      crashLines: cluster.crashLines,
      durationS: Math.round(cluster.durationMs / 1000),
      allRole,
      aborts,
      crashLineCount: crashLines,
      targetMet: aborts === 0 && crashLines === 0,
    },
  };
}

function render(raw: unknown) {
  const results = object(raw, "results");
  const byFault = object(results.byFault, "results.byFault");
  const allRole = array(results.allRole, "results.allRole").map((r) => object(r, "allRole[]"));
  const rows = Object.keys(byFault).map((fault) => [fault, String(num(byFault, fault))]);
  rows.push(["total cycles", String(num(results, "cycles"))]);
  rows.push([
    "skipped (nothing to fault)",
    String(array(results.skippedCycles, "skippedCycles").length),
  ]);
  rows.push([
    "role all drains",
    String(allRole.reduce((n, r) => n + array(r.drained, "drained").length, 0)),
  ]);
  return {
    table: { columns: ["fault", "cycles"], rows },
    summary: [
      `Processes: ${num(results, "processes")} (${num(results, "restarts")} restarts); ` +
      `ended by a signal not sent: ${num(results, "aborts")}; native crash lines: ${
        num(results, "crashLineCount")
      }; injected cycles whose outcome failed (a drain that did not end in exit 0): ${
        array(results.failedCycles, "failedCycles").length
      }.`,
      "Skipped cycles found no worker or cell to fault: kill -9 strands a worker's cells until " +
      "failover (issue 11, replicas and pool takeover) reassigns them.",
      `Target: 0 aborts and 0 crash lines: ${results.targetMet === true ? "met" : "missed"}.`,
    ],
  };
}

/** The abort-stress scenario. */
export const abortStress: Scenario = {
  name: "abort-stress",
  title: "Fault cycles with no process aborting (issue 11)",
  target: "≥ 50 drain / SIGTERM / kill -9 / SIGSTOP / move cycles, 0 aborts, 0 crash lines",
  budgetMs: (quick) => (quick ? 180_000 : 900_000),
  run,
  render,
};
