// One measured load: bot processes started together, each with a warm-up and a measurement
// window (bench/zs_bots.ts, bench/peer/colyseus_bots.mjs), and over the same window the CPU and
// memory of every server process, of the bot processes themselves and of the whole machine.
import { type BotWindow, mergeBotWindows, type MergedBots, parseBotWindow } from "./bot_result.ts";
import {
  cpuPercent,
  machineCpuPercent,
  type ProcSample,
  sampleMachineCpu,
  sampleProcess,
} from "./proc_stats.ts";
import type { ScenarioContext } from "./scenario.ts";
import { type Runtime, ScriptProcess } from "./script_process.ts";
import { round } from "./stats.ts";

/** One bot process to start: its script and arguments (the window flags are added). */
export interface BotSpec {
  runtime: Runtime;
  script: string;
  args: string[];
}

/**
 * ZoneScaler bot processes (bench/zs_bots.ts) against `gateway`, one per entry of `clients`
 * (how many each runs), each with its own seed and a name `prefix` + its index.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { zsBots } from "./load_run.ts";
 * const [first] = zsBots("http://127.0.0.1:8081", [300, 200], { inputHz: 10, rampS: 2 });
 * assert.deepEqual(first.args.slice(0, 4), ["--gateway", "http://127.0.0.1:8081", "--clients", "300"]);
 * ```
 */
export function zsBots(
  gateway: string,
  clients: number[],
  options: { inputHz: number; rampS: number; prefix?: string },
): BotSpec[] {
  return clients.map((n, i) => ({
    runtime: "deno",
    script: "bench/zs_bots.ts",
    args: [
      "--gateway",
      gateway,
      "--clients",
      String(n),
      "--rate",
      String(options.inputHz),
      "--ramp",
      String(options.rampS),
      "--seed",
      String(i + 1),
      "--name",
      `${options.prefix ?? "b"}${i}`,
    ],
  }));
}

/** A server process to measure. */
export interface ServerProcess {
  name: string;
  pid: number;
}

/** CPU (percent of one core) and resident memory of a process over the window. */
export interface ProcessUse {
  name: string;
  cpuPct: number;
  rssMb: number;
}

/** What one load measured. */
export interface LoadResult {
  windowS: number;
  bots: MergedBots;
  servers: ProcessUse[];
  /** Every server process summed. */
  serverTotal: { cpuPct: number; rssMb: number };
  /** The bot processes: summed, and the busiest one. */
  botCpuPct: number;
  botMaxCpuPct: number;
  /** Busy CPU of the whole machine and what programs other than these used. */
  machine: { busyPct: number; otherPct: number; stealPct: number };
}

/** Seconds the harness's window starts after the bots' (process start-up) and ends before. */
const MARGIN_S = 1;

/** Starts the bots, measures the window, waits for their files and merges them. */
export async function runLoad(
  context: ScenarioContext,
  options: { bots: BotSpec[]; servers: ServerProcess[]; warmupS: number; windowS: number },
): Promise<LoadResult> {
  const dir = Deno.makeTempDirSync({ prefix: "zs-bench-bots-" });
  const procs: ScriptProcess[] = [];
  try {
    options.bots.forEach((spec, i) => {
      const out = `${dir}/bots-${i}.json`;
      procs.push(context.own(
        new ScriptProcess(`bots-${i}`, spec.runtime, spec.script, [
          ...spec.args,
          "--warmup",
          String(options.warmupS),
          "--window",
          String(options.windowS),
          "--out",
          out,
        ]),
      ));
    });
    await context.sleep((options.warmupS + MARGIN_S) * 1000);
    const watched = [...options.servers, ...procs.map((p) => ({ name: p.name, pid: p.pid }))];
    const before = watched.map((p) => sampleProcess(p.pid));
    const machineBefore = sampleMachineCpu();
    const harnessBefore = sampleProcess(Deno.pid);
    await context.sleep(Math.max(1, options.windowS - 2 * MARGIN_S) * 1000);
    const after = watched.map((p) => sampleProcess(p.pid));
    const machineAfter = sampleMachineCpu();
    const harnessAfter = sampleProcess(Deno.pid);
    const use = watched.map((p, i): ProcessUse => {
      const a = before[i], b = after[i];
      if (!a || !b) throw new Error(`${p.name} exited during the measurement window`);
      return { name: p.name, cpuPct: round(cpuPercent(a, b)), rssMb: round(b.rssBytes / 2 ** 20) };
    });
    const windows: BotWindow[] = [];
    for (const [i, proc] of procs.entries()) {
      const status = await proc.finished(60_000);
      if (!status.success) {
        throw new Error(`${proc.name} exited with ${status.code}: ${proc.stderr.join("\n")}`);
      }
      const path = `${dir}/bots-${i}.json`;
      windows.push(parseBotWindow(Deno.readTextFileSync(path), path));
      await context.release(proc);
    }
    const servers = use.slice(0, options.servers.length);
    const bots = use.slice(options.servers.length);
    const sum = (list: ProcessUse[], f: (p: ProcessUse) => number) =>
      round(list.reduce((n, p) => n + f(p), 0));
    const machine = machineCpuPercent(machineBefore, machineAfter, navigator.hardwareConcurrency);
    const harness = harnessBefore && harnessAfter
      ? cpuPercent(harnessBefore as ProcSample, harnessAfter as ProcSample)
      : 0;
    const ours = sum(use, (p) => p.cpuPct) + harness;
    return {
      windowS: options.windowS,
      bots: mergeBotWindows(windows),
      servers,
      serverTotal: { cpuPct: sum(servers, (p) => p.cpuPct), rssMb: sum(servers, (p) => p.rssMb) },
      botCpuPct: sum(bots, (p) => p.cpuPct),
      botMaxCpuPct: bots.length > 0 ? Math.max(...bots.map((p) => p.cpuPct)) : 0,
      machine: {
        busyPct: round(machine.busyPct),
        otherPct: round(Math.max(0, machine.busyPct - ours)),
        stealPct: round(machine.stealPct),
      },
    };
  } finally {
    await Promise.all(procs.map((p) => context.release(p)));
    Deno.removeSync(dir, { recursive: true });
  }
}

/**
 * Splits `clients` over `processes` bot processes (the first ones take the remainder).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { splitClients } from "./load_run.ts";
 * assert.deepEqual(splitClients(10, 3), [4, 3, 3]);
 * ```
 */
export function splitClients(clients: number, processes: number): number[] {
  const n = Math.max(1, Math.min(processes, clients));
  return Array.from({ length: n }, (_, i) => Math.floor(clients / n) + (i < clients % n ? 1 : 0));
}
