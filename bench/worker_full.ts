// Scenario worker-full: one worker at the conditions its target names: 20,000 entities of which
// a tenth are players (real bot clients through a session gateway, their AOI diffs computed and
// delivered), and a border with ghost sync: a second worker owns the world's last column of
// cells. worker-tick measures NPCs alone on a worker with no peer, so its figures are an upper
// bound; this is the measurement of the target itself. Beside it, in the same run, the
// typed-array limit at the same count (bench/limit_tick.ts). Target (SPEC.md, issue 16): tick
// p99 ≤ 20 ms on the measured worker, p50 within 5× of the limit.
//
// Pinned when taskset runs: the measured worker alone on core 0; the peer, the coordinator, the
// gateway, the bots and this harness on the other cores (the harness pins itself there for the
// run, so the gateway and bot processes it starts inherit it, and then restores its cores).
//
// With BENCH_PROFILE=<file> the measured worker runs under its inspector and a CPU profile
// of its window is written to <file> (open it in Chrome DevTools), the busiest functions
// printed; BENCH_PROFILE_GATEWAY=<file> does the same for the gateway. To explain a run, not
// to report one: the sampling slows the process, and the result says it was profiled.
import { BenchCluster } from "./cluster.ts";
import { GatewayNode } from "./gateway_node.ts";
import type { NodeProcess } from "../testing/node_process.ts";
import { array, bool, cell, num, numOrNull, object } from "./json_fields.ts";
import { type LoadResult, runLoad, splitClients, zsBots } from "./load_run.ts";
import { type LimitResult, measureLimit } from "./limit_tick.ts";
import { detectPinning, type Pinning } from "./pinning.ts";
import { recordProfile, summarizeProfile } from "./cpu_profile.ts";
import type { Scenario, ScenarioContext, ScenarioOutput } from "./scenario.ts";
import { BUDGET_LABEL, type ClusterWindow, heldBudget, measureWindow } from "./steady_state.ts";
import { benchConfig, TICK_HZ, worldFor } from "./world.ts";
import { phaseLine } from "./tick_window.ts";

const TARGET_LIMIT_RATIO = 5;
/** Clients one bot process is given at most (as in gateway-fanout). */
const CLIENTS_PER_BOT_PROCESS = 1_250;

/** Parameters of a worker-full run. */
export function workerFullParameters(quick: boolean) {
  return {
    /** Entities the measured worker holds (NPCs and players), about. */
    entities: quick ? 1_000 : 20_000,
    /** Share of them that are players. */
    playerShare: 0.1,
    /** DIFFs per second per player: the rate README.md (Configuration) suggests for big worlds. */
    snapshotHz: 10,
    inputHz: 10,
    connectsPerS: 250,
    settleS: quick ? 1 : 8,
    windowS: quick ? 5 : 20,
    tickHz: TICK_HZ,
    limitTicks: quick ? 40 : 200,
    limitWarmup: quick ? 20 : 100,
  };
}

/** Sets the CPU affinity of this process (every thread) to `cores` (a taskset list). */
async function pinSelf(cores: string): Promise<void> {
  const out = await new Deno.Command("taskset", {
    args: ["-a", "-p", "-c", cores, String(Deno.pid)],
    stdout: "null",
    stderr: "piped",
  }).output();
  if (!out.success) {
    throw new Error(`taskset -p ${cores} failed: ${new TextDecoder().decode(out.stderr).trim()}`);
  }
}

/** The cells of the world's last column (x index nx - 1): the peer's strip. */
function lastColumn(counts: { nx: number; ny: number }): number[] {
  return Array.from({ length: counts.ny }, (_, y) => counts.nx - 1 + y * counts.nx);
}

async function run(context: ScenarioContext): Promise<ScenarioOutput> {
  const parameters = workerFullParameters(context.quick);
  const pinning: Pinning = detectPinning();
  // The world of `entities` at the benchmark density, plus the peer's column on top of it, so
  // the measured worker keeps about `entities` once the column is moved away.
  const base = worldFor(parameters.entities);
  const nx = base.size[0] / base.cellSize, ny = base.size[1] / base.cellSize;
  const world = { ...base, size: [base.size[0] + base.cellSize, base.size[1]] };
  const total = Math.round(parameters.entities * (nx + 1) / nx);
  const players = Math.round(total * parameters.playerShare);
  const npcs = total - players;
  const strip = lastColumn({ nx: nx + 1, ny });
  const results: Record<string, unknown> = {
    entities: total,
    npcs,
    players,
    worldSize: world.size,
    peerCells: strip.length,
    cells: (nx + 1) * ny,
    pinning,
    targetLimitRatio: TARGET_LIMIT_RATIO,
  };
  context.partial = results;
  const config = {
    ...benchConfig({ workers: 1, npcs, world, faultTolerance: "none" }),
    snapshotHz: parameters.snapshotHz,
  };
  let cluster: BenchCluster | undefined;
  let gateway: GatewayNode | undefined;
  try {
    context.progress(`worker-full: ${npcs} NPCs on w1, then w2 takes ${strip.length} cells`);
    const profileTo = Deno.env.get("BENCH_PROFILE");
    const profileGatewayTo = Deno.env.get("BENCH_PROFILE_GATEWAY");
    if (profileTo || profileGatewayTo) results.profiled = [profileTo, profileGatewayTo];
    cluster = await BenchCluster.start(context, {
      workers: 1,
      entities: npcs,
      config,
      pinning,
      inspectFirst: Boolean(profileTo),
    });
    await cluster.addWorker("w2");
    for (const c of strip) {
      const moved = await cluster.post(`/api/cells/${c}/move`, { to: "w2" });
      if (moved.status !== 202) {
        throw new Error(`moving cell ${c} to w2: ${moved.status} ${JSON.stringify(moved.body)}`);
      }
    }
    await waitForStrip(context, cluster, strip);
    if (pinning.pinned) await pinSelf(pinning.cores === 2 ? "1" : `1-${pinning.cores - 1}`);
    gateway = await GatewayNode.start(context, cluster, config, {
      inspect: Boolean(profileGatewayTo),
    });
    const split = splitClients(players, Math.ceil(players / CLIENTS_PER_BOT_PROCESS));
    const rampS = Math.max(1, Math.ceil(players / parameters.connectsPerS));
    context.progress(`  ${players} players through one gateway (ramp ${rampS} s)`);
    const warmupS = rampS + parameters.settleS;
    const load = runLoad(context, {
      bots: zsBots(gateway.url, split, { inputHz: parameters.inputHz, rampS, prefix: "f" }),
      servers: [
        { name: "gateway", pid: gateway.pid },
        ...cluster.processes().map((p) => ({ name: p.name, pid: p.child.pid })),
      ],
      warmupS,
      windowS: parameters.windowS,
    });
    // The workers' window inside the bots' one (runLoad samples 1 s in from either end).
    const window = measureWindow(context, cluster, {
      warmupMs: (warmupS + 2) * 1000,
      windowMs: Math.max(1, parameters.windowS - 4) * 1000,
    });
    const loadTimes = { warmupS, windowS: parameters.windowS };
    const [loaded, measured] = await Promise.all([
      load,
      window,
      profileTo && profileWindow(context, cluster.worker("w1"), profileTo, loadTimes),
      profileGatewayTo && profileWindow(context, gateway.process, profileGatewayTo, loadTimes),
    ]);
    results.load = loaded;
    results.window = measured;
    const w1 = measured.workers.find((w) => w.id === "w1");
    if (w1?.tick) {
      context.progress(
        `  w1: ${w1.entities} entities, ${w1.ghosts} ghosts, tick p50 ${w1.tick.p50Ms} ms, ` +
          `p99 ${w1.tick.p99Ms} ms, CPU ${w1.cpuPct}%`,
      );
    }
  } catch (error) {
    context.checkAborted();
    results.error = (error as Error).message;
    context.progress(`  not measured: ${results.error}`);
  } finally {
    if (gateway) await context.release(gateway);
    if (cluster) await context.release(cluster);
    if (pinning.pinned) await pinSelf(`0-${pinning.cores - 1}`);
  }
  try {
    const measured = results.window as ClusterWindow | undefined;
    const held = measured?.workers.find((w) => w.id === "w1")?.entities ?? parameters.entities;
    const limit: LimitResult = await measureLimit(held, {
      ticks: parameters.limitTicks,
      warmup: parameters.limitWarmup,
    });
    results.limit = limit;
    context.progress(`  limit at ${held}: p50 ${limit.p50Ms} ms, p99 ${limit.p99Ms} ms`);
  } catch (error) {
    context.checkAborted();
    results.limitError = (error as Error).message;
  }
  Object.assign(results, verdicts(results));
  return { parameters, results };
}

/** Records a CPU profile of `node` over the measured window into `file`; prints where it went. */
async function profileWindow(
  context: ScenarioContext,
  node: NodeProcess,
  file: string,
  load: { warmupS: number; windowS: number },
): Promise<void> {
  const url = await node.inspectorUrl();
  await context.sleep((load.warmupS + 2) * 1000);
  const profile = await recordProfile(url, { ms: Math.max(1, load.windowS - 4) * 1000 });
  Deno.writeTextFileSync(file, JSON.stringify(profile));
  const { busyMs, functions } = summarizeProfile(profile);
  context.progress(`  ${node.name} profile (${file}): busy ${busyMs} ms; by self time:`);
  for (const f of [...functions].sort((a, b) => b.selfPct - a.selfPct).slice(0, 30)) {
    context.progress(
      `    ${f.selfPct.toFixed(1).padStart(5)} % self, ${
        f.totalPct.toFixed(1).padStart(5)
      } % total  ${f.name} ${f.location}`,
    );
  }
}

/** Waits until the map gives w2 every cell of the strip and no migration is under way. */
async function waitForStrip(
  context: ScenarioContext,
  cluster: BenchCluster,
  strip: number[],
): Promise<void> {
  const deadline = Date.now() + 60_000;
  for (;;) {
    const state = await cluster.state();
    const done = strip.every((c) => state.map.owners[c] === "w2") &&
      state.migrations.length === 0;
    if (done) return;
    if (Date.now() > deadline) throw new Error("w2 did not take its strip within 60 s");
    await context.sleep(250);
  }
}

/** The target's verdicts from a run's results (null where it was not measured). */
function verdicts(results: Record<string, unknown>) {
  const window = results.window as ClusterWindow | undefined;
  const w1 = window?.workers.find((w) => w.id === "w1");
  const limit = results.limit as LimitResult | undefined;
  const p50 = w1?.tick?.p50Ms;
  const ratio = typeof p50 === "number" && limit ? Math.round((p50 / limit.p50Ms) * 10) / 10 : null;
  const load = results.load as LoadResult | undefined;
  return {
    budgetMet: w1?.tick ? heldBudget(w1.tick) : null,
    limitRatio: ratio,
    limitTargetMet: ratio === null ? null : ratio <= TARGET_LIMIT_RATIO,
    playersLive: load ? load.bots.liveAtEnd : null,
  };
}

function render(raw: unknown) {
  const results = object(raw, "results");
  const notes: string[] = [];
  if (results.error !== undefined) notes.push(`not measured: ${String(results.error)}`);
  if (results.profiled !== undefined) {
    notes.push("profiled run: the measured worker ran under its CPU profiler, which slows it");
  }
  if (results.limitError !== undefined) {
    notes.push(`limit not measured: ${String(results.limitError)}`);
  }
  const rows: string[][] = [];
  if (results.window !== undefined) {
    const window = object(results.window, "results.window");
    notes.push(...array(window.notes, "window.notes").map(String));
    const load = object(results.load, "results.load");
    const bots = object(load.bots, "load.bots");
    const servers = array(load.servers, "load.servers").map((s) => object(s, "server"));
    const cpuOf = (name: string) => {
      const found = servers.find((s) => s.name === name);
      return found ? cell(num(found, "cpuPct"), 0) : "–";
    };
    const limit = results.limit === undefined ? null : object(results.limit, "results.limit");
    for (const w of array(window.workers, "window.workers").map((x) => object(x, "worker"))) {
      const tick = w.tick === null ? null : object(w.tick, "worker.tick");
      const measured = w.id === "w1";
      const p50 = tick ? numOrNull(tick, "p50Ms") : null;
      rows.push([
        String(w.id) + (measured ? " (measured)" : " (peer)"),
        num(w, "entities").toLocaleString("en-US"),
        num(w, "ghosts").toLocaleString("en-US"),
        String(num(w, "cells")),
        tick ? cell(p50, 2, "> 250") : "?",
        tick ? cell(numOrNull(tick, "p99Ms"), 2, "> 250") : "?",
        tick ? cell(num(tick, "over20MsPct"), 2) : "?",
        measured && limit
          ? `${cell(num(limit, "p50Ms"), 2)} / ${cell(num(limit, "p99Ms"), 2)}`
          : "",
        measured && limit && p50 !== null ? `${(p50 / num(limit, "p50Ms")).toFixed(1)}×` : "",
        cell(num(w, "cpuPct"), 0),
        String(w.cores ?? "?"),
        measured ? `${num(bots, "liveAtEnd")} / ${num(results, "players")}` : "",
        measured ? cell(num(bots, "snapshotsPerClientPerS"), 1) : "",
        measured
          ? `${cell(numOrNull(bots, "ackP50Ms"), 0)} / ${cell(numOrNull(bots, "ackP99Ms"), 0)}`
          : "",
        measured ? cpuOf("gateway") : "",
        measured ? cell(num(load, "botCpuPct"), 0) : "",
      ]);
    }
    const phases = phaseLine("the measured worker and its peer", window);
    if (phases) notes.push(phases);
    const machine = object(load.machine, "load.machine");
    notes.push(
      `Other programs used ${cell(num(machine, "otherPct"), 0)} % of a core in the bots' window.`,
    );
  }
  const budget = results.budgetMet;
  const ratio = results.limitRatio;
  return {
    table: {
      columns: [
        "worker",
        "entities",
        "ghosts",
        "cells",
        "tick p50 ms",
        "tick p99 ms",
        "ticks > 20 ms %",
        "limit p50 / p99 ms",
        "p50 ÷ limit p50",
        "CPU %",
        "cores",
        "players live / joined",
        "DIFFs/s per player",
        "ack p50 / p99 ms",
        "gateway CPU %",
        "bots CPU %",
      ],
      rows,
    },
    summary: [
      `${num(results, "entities").toLocaleString("en-US")} entities ` +
      `(${num(results, "players").toLocaleString("en-US")} players), w2 owning ` +
      `${num(results, "peerCells")} of ${num(results, "cells")} cells; ` +
      `pinned: ${bool(object(results.pinning, "pinning"), "pinned") ? "yes" : "no"}.`,
      `Target ${BUDGET_LABEL} on the measured worker: ${
        budget === true ? "met" : budget === false ? "missed" : "not measured in this run"
      }.`,
      `Tick p50 within ${TARGET_LIMIT_RATIO}× of the typed-array limit: ${
        typeof ratio === "number"
          ? `${ratio.toFixed(1)}×, ${ratio <= TARGET_LIMIT_RATIO ? "met" : "missed"}`
          : "not measured in this run"
      }.`,
      ...notes,
    ],
  };
}

/** The worker-full scenario. */
export const workerFull: Scenario = {
  name: "worker-full",
  title: "One worker at its target's conditions: NPCs, players and a border",
  target: `20,000 entities (a tenth of them players) with a border on one worker, tick ` +
    `${BUDGET_LABEL}`,
  budgetMs: (quick) => (quick ? 90_000 : 300_000),
  run,
  render,
};
