// One steady-state measurement of a running cluster: after a warm-up, the tick durations of
// every worker over a window, and CPU and memory of every ZoneScaler process (and of this
// harness, which shares the machine with them).
import type { BenchCluster, WorkerRow } from "./cluster.ts";
import { getJson } from "../testing/node_process.ts";
import {
  cpuPercent,
  machineCpuPercent,
  type ProcSample,
  sampleMachineCpu,
  sampleProcess,
} from "./proc_stats.ts";
import type { ScenarioContext } from "./scenario.ts";
import { allowedCores } from "./pinning.ts";
import { round } from "./stats.ts";
import { scrapeTicks, TICK_BUDGET_MS, type TickHistogram, tickWindow } from "./tick_window.ts";
import type { TickWindow } from "./tick_window.ts";
import { TICK_HZ } from "./world.ts";

/** One process over the window. */
export interface ProcessWindow {
  cpuPct: number;
  rssMb: number;
  /** The cores it was allowed to run on (its Cpus_allowed_list: "0", or "0-1" unpinned). */
  cores?: string;
}

/** One worker over the window. */
export interface WorkerWindow extends ProcessWindow {
  id: string;
  entities: number;
  ghosts: number;
  cells: number;
  /** Null when the worker did not answer its /metrics (see the window's notes). */
  tick: TickWindow | null;
  /** The worker's own exact percentiles over its last 1024 ticks (may include warm-up). */
  ring: { p50Ms: number; p99Ms: number };
  /** The worker's counters (handoffs, interactions, ...) since it started, after the window. */
  counters: Record<string, number>;
}

/** A cluster over the window. */
export interface ClusterWindow {
  windowS: number;
  workers: WorkerWindow[];
  coordinator: ProcessWindow;
  /** Every ZoneScaler process summed. */
  total: ProcessWindow;
  /** The benchmark harness itself (it polls and parses logs on the same cores). */
  harnessCpuPct: number;
  /**
   * The whole machine: busy CPU (percent of one core), what other programs used (busy minus
   * ZoneScaler and the harness) and what the hypervisor stole. Other load skews the numbers.
   */
  machine: { busyPct: number; otherPct: number; stealPct: number };
  /** Every worker ran its ticks with p99 ≤ 20 ms (and kept the tick rate). */
  held: boolean;
  /** What could not be measured, and why. */
  notes: string[];
}

/** Warm-up and window lengths. */
export interface WindowOptions {
  warmupMs: number;
  windowMs: number;
}

/** True when a window meets the tick budget: ≤ 1 % of ticks over 20 ms, and no ticks lost. */
export function heldBudget(tick: TickWindow): boolean {
  return tick.over20MsPct <= 1 && tick.ticksPerS >= TICK_HZ * 0.95;
}

/**
 * Scrapes every worker's tick histogram; a worker that does not answer (an overloaded worker
 * runs late ticks back to back and serves HTTP only in between) gets null and a note. `atMs`
 * is the middle of the exchange, the best guess of when the histograms were read.
 */
async function scrapeAll(
  workers: WorkerRow[],
  notes: string[],
): Promise<{ histograms: Array<TickHistogram | null>; atMs: number }> {
  const sent = performance.now();
  const histograms = await Promise.all(
    workers.map((w) =>
      scrapeTicks(w.httpAddress, w.id).catch((error: Error) => {
        notes.push(`${w.id}: tick histogram not read: ${error.message}`);
        return null;
      })
    ),
  );
  return { histograms, atMs: (sent + performance.now()) / 2 };
}

/** The worker's counters, or {} and a note when it does not answer. */
async function readCounters(w: WorkerRow, notes: string[]): Promise<Record<string, number>> {
  const url = `http://${w.httpAddress}/api/state`;
  try {
    return (await getJson<{ counters: Record<string, number> }>(url, 30_000)).counters;
  } catch (error) {
    notes.push(`${w.id}: counters not read: GET ${url}: ${(error as Error).message}`);
    return {};
  }
}

/** Waits out the warm-up, then measures the cluster over the window. */
export async function measureWindow(
  context: ScenarioContext,
  cluster: BenchCluster,
  options: WindowOptions,
): Promise<ClusterWindow> {
  await context.sleep(options.warmupMs);
  const workers = (await cluster.state()).workers.filter((w) => w.state === "active");
  const notes: string[] = [];
  const procs = cluster.processes();
  const sampleAll = () => procs.map((p) => sampleProcess(p.child.pid));
  const ticksBefore = await scrapeAll(workers, notes);
  const procBefore = sampleAll();
  const harnessBefore = sampleProcess(Deno.pid);
  const machineBefore = sampleMachineCpu();
  const started = performance.now();
  await context.sleep(options.windowMs);
  const procAfter = sampleAll();
  const harnessAfter = sampleProcess(Deno.pid);
  const machineAfter = sampleMachineCpu();
  const windowS = (performance.now() - started) / 1000;
  const ticksAfter = await scrapeAll(workers, notes);
  const tickSeconds = (ticksAfter.atMs - ticksBefore.atMs) / 1000;
  const state = await cluster.state(30_000);
  // Read after the window: the worker's /api/state lists every entity and costs it a tick.
  const counters = await Promise.all(workers.map((w) => readCounters(w, notes)));

  const proc = (i: number): ProcessWindow => {
    const a = procBefore[i], b = procAfter[i];
    if (!a || !b) throw new Error(`${procs[i].name} exited during the measurement window`);
    return {
      cpuPct: round(cpuPercent(a, b)),
      rssMb: round(b.rssBytes / 2 ** 20),
      cores: allowedCores(procs[i].child.pid),
    };
  };
  const measured: WorkerWindow[] = workers.map((w, i) => {
    const now = state.workers.find((x) => x.id === w.id) ?? w;
    const index = procs.findIndex((p) => p.name === w.id);
    if (index < 0) throw new Error(`No process for worker ${w.id}`);
    const before = ticksBefore.histograms[i], after = ticksAfter.histograms[i];
    return {
      id: w.id,
      entities: now.entities,
      ghosts: now.ghosts,
      cells: now.cells,
      tick: before && after ? tickWindow(before, after, tickSeconds) : null,
      ring: { p50Ms: round(now.tickP50Ms, 2), p99Ms: round(now.tickP99Ms, 2) },
      counters: counters[i],
      ...proc(index),
    };
  });
  const all = procs.map((_, i) => proc(i));
  const totalCpu = all.reduce((n, p) => n + p.cpuPct, 0);
  const harnessCpu = harnessBefore && harnessAfter
    ? cpuPercent(harnessBefore as ProcSample, harnessAfter as ProcSample)
    : 0;
  const machine = machineCpuPercent(machineBefore, machineAfter, navigator.hardwareConcurrency);
  return {
    windowS: round(windowS, 1),
    workers: measured,
    coordinator: all[0],
    total: {
      cpuPct: round(totalCpu),
      rssMb: round(all.reduce((n, p) => n + p.rssMb, 0)),
    },
    harnessCpuPct: round(harnessCpu),
    machine: {
      busyPct: round(machine.busyPct),
      otherPct: round(Math.max(0, machine.busyPct - totalCpu - harnessCpu)),
      stealPct: round(machine.stealPct),
    },
    held: measured.every((w) => w.tick !== null && heldBudget(w.tick)),
    notes,
  };
}

/** The tick budget, for captions. */
export const BUDGET_LABEL = `p99 ≤ ${TICK_BUDGET_MS} ms`;
