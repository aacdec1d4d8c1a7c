// Scenario faults: the abort stress test of issue 11. Under bots, three workers in replica mode
// go through at least 50 fault cycles — a cell move, kill -9, SIGSTOP past the failure timeout
// then SIGCONT, SIGTERM, a drain through the control API — with a fresh worker started for
// each one that left (the autoscaler claims it from the pool). Every process must exit the
// way it was told (0 after SIGTERM or a drain) or keep running; none may abort.
// Target (SPEC.md): no process ever aborts on a drain, exit, pause or resume.
import { BotClient } from "../src/client/bot_client.ts";
import { BotMetrics, buildReport } from "../src/client/bot_report.ts";
import { mulberry32 } from "../src/sim/random.ts";
import type { NodeProcess } from "../testing/node_process.ts";
import { BenchCluster, type ClusterState } from "./cluster.ts";
import { GatewayNode } from "./gateway_node.ts";
import { array, cell, num, object } from "./json_fields.ts";
import type { Scenario, ScenarioContext, ScenarioOutput } from "./scenario.ts";
import { benchConfig } from "./world.ts";

/** The faults, applied in this order, round after round. */
export const FAULTS = ["move", "kill", "pause", "sigterm", "drain"] as const;
/** One of {@linkcode FAULTS}. */
export type Fault = typeof FAULTS[number];

/** Parameters of a faults run. */
export function faultsParameters(quick: boolean) {
  return {
    workers: 3,
    npcs: quick ? 300 : 900,
    bots: quick ? 6 : 20,
    cycles: quick ? 10 : 50,
    /** A pause this long outlasts the failure timeout: the worker is fenced when it resumes. */
    pauseMs: 2_000,
    heartbeatMs: 250,
    workerTimeoutMs: 1_000,
    /** Between cycles, after the cluster settled, ms. */
    settleMs: 300,
    /** Longest wait for an exit, a takeover or a rejoin, ms. */
    boundMs: 30_000,
  };
}

/** Something that went wrong with a process. */
interface Incident {
  cycle: number;
  fault: Fault;
  process: string;
  problem: string;
}

/** The bots of the run as one closable group. */
class Bots {
  readonly clients: BotClient[] = [];
  async close(): Promise<void> {
    await Promise.all(this.clients.map((c) => c.close()));
  }
}

async function until<T>(
  context: ScenarioContext,
  boundMs: number,
  probe: () => Promise<T | undefined>,
): Promise<T | undefined> {
  const deadline = Date.now() + boundMs;
  while (Date.now() < deadline) {
    context.checkAborted();
    const value = await probe().catch(() => undefined);
    if (value !== undefined) return value;
    await context.sleep(50);
  }
  return undefined;
}

/** Resolves with the exit status, or undefined if the process still runs after `ms`. */
async function exited(
  context: ScenarioContext,
  process: NodeProcess,
  ms: number,
): Promise<Deno.CommandStatus | undefined> {
  return await until(context, ms, () => Promise.resolve(process.exitStatus));
}

async function run(context: ScenarioContext): Promise<ScenarioOutput> {
  const parameters = faultsParameters(context.quick);
  const config = {
    ...benchConfig({ workers: parameters.workers, npcs: parameters.npcs }),
    heartbeatMs: parameters.heartbeatMs,
    workerTimeoutMs: parameters.workerTimeoutMs,
    faultTolerance: { mode: "replica" },
    // Spares (the workers started in place of those that left) are claimed at once, and the
    // rebalancer gives them cells, so every cycle finds active workers to hurt.
    autoscale: { highWater: 1, lowWater: 0, sustainMs: 500 },
    rebalance: { enabled: true, sustainMs: 1_000, cooldownMs: 1_000 },
  };
  const cluster = await BenchCluster.start(context, {
    workers: parameters.workers,
    entities: parameters.npcs,
    config,
  });
  const gateway = await GatewayNode.start(context, cluster, config);
  const random = mulberry32(7);
  const metrics = new BotMetrics(random);
  const bots = context.own(new Bots());
  for (let i = 0; i < parameters.bots; i++) {
    const bot = new BotClient({
      gateway: new URL(gateway.url),
      name: `bot-${i + 1}`,
      format: "msgpack",
      rateHz: 10,
      pingMs: 2_000,
      timeoutMs: 10_000,
      metrics,
      random,
    });
    bots.clients.push(bot);
    await bot.start();
  }

  const incidents: Incident[] = [];
  /** Drains the control API refused with 409 (documented, not a fault). */
  const refused: Array<{ cycle: number; worker: string; body: unknown }> = [];
  const applied: Record<string, number> = {};
  /** Bot stalls (> 1 s without a DIFF) that ended during each kind of fault's cycles. */
  const stallsBy: Record<string, number> = {};
  /** Processes told to go (SIGKILL, SIGTERM, a drain): their exit is expected. */
  const told = new Set<NodeProcess>();
  let next = parameters.workers + 1;
  const replace = async () => {
    await cluster.addWorker(`w${next++}`);
  };
  const state = () => cluster.state();
  const running = (s: ClusterState, states: string[]) =>
    s.workers.filter((w) =>
      states.includes(w.state) && cluster.workers.some((p) => p.name === w.id && !p.exitStatus)
    );
  const pick = <T>(list: T[]): T => list[Math.floor(random() * list.length)];
  const settled = () =>
    until(context, parameters.boundMs, async () => {
      const s = await state();
      const live = new Set(running(s, ["active", "draining"]).map((w) => w.id));
      return s.map.owners.every((o) => live.has(o)) ? s : undefined;
    });
  context.partial = { incidents, applied, refused, stallsBy, cycles: 0 };

  for (let cycle = 1; cycle <= parameters.cycles; cycle++) {
    await settled();
    // Give the autoscaler a moment to claim a spare when only one worker is active.
    const s = (await until(context, 5_000, async () => {
      const now = await state();
      return running(now, ["active"]).length >= 2 ? now : undefined;
    })) ?? await state();
    const active = running(s, ["active"]);
    let fault: Fault = FAULTS[(cycle - 1) % FAULTS.length];
    // Moves, SIGTERM and drains need a second active worker to take the cells.
    if (active.length < 2 && fault !== "kill" && fault !== "pause") fault = "kill";
    if (active.length === 0) {
      incidents.push({ cycle, fault, process: "-", problem: "no active worker left" });
      break;
    }
    const target = pick(active);
    const process = cluster.worker(target.id);
    const note = (problem: string) =>
      incidents.push({ cycle, fault, process: process.name, problem });
    applied[fault] = (applied[fault] ?? 0) + 1;
    const stallsBefore = metrics.stalls.count;
    switch (fault) {
      case "move": {
        const to = pick(active.filter((w) => w.id !== target.id));
        const cellId = s.map.owners.indexOf(target.id);
        const answer = await cluster.post(`/api/cells/${cellId}/move`, { to: to.id });
        if (answer.status !== 202 && answer.status !== 409) {
          note(`move answered ${answer.status}: ${JSON.stringify(answer.body)}`);
        }
        break;
      }
      case "kill":
        told.add(process);
        process.signal("SIGKILL");
        await replace();
        break;
      case "pause": {
        process.signal("SIGSTOP");
        await context.sleep(parameters.pauseMs); // the fault itself: a pause past the timeout
        process.signal("SIGCONT");
        const back = await until(context, parameters.boundMs, async () => {
          if (process.exitStatus) return "exited";
          const row = (await state()).workers.find((w) => w.id === target.id);
          return row?.state === "spare" || row?.state === "active" ? row.state : undefined;
        });
        if (back !== "spare" && back !== "active") note(`did not rejoin after SIGCONT (${back})`);
        break;
      }
      case "sigterm":
      case "drain": {
        if (fault === "drain") {
          const answer = await cluster.post(`/api/workers/${target.id}/drain`, {});
          if (answer.status === 409) {
            // Refused (the worker is in a migration, or nobody could take its cells): the
            // control API's documented answer, not a fault. Nothing was done.
            refused.push({ cycle, worker: target.id, body: answer.body });
            break;
          }
          if (answer.status >= 300) {
            note(`drain answered ${answer.status}: ${JSON.stringify(answer.body)}`);
            break;
          }
        }
        told.add(process);
        if (fault === "sigterm") process.signal("SIGTERM");
        const status = await exited(context, process, parameters.boundMs);
        if (!status) note(`still running ${parameters.boundMs} ms after the ${fault}`);
        else if (status.code !== 0 || status.signal) {
          note(`exited with code ${status.code}, signal ${status.signal ?? "none"}`);
        }
        await replace();
        break;
      }
    }
    // Whatever else happened meanwhile: a process that died on its own, or a crash report.
    for (const p of [cluster.coordinator, ...cluster.workers, gateway.process]) {
      const crash = p.crashLines();
      if (
        crash.length > 0 && !incidents.some((i) => i.process === p.name && i.problem === crash[0])
      ) {
        incidents.push({ cycle, fault, process: p.name, problem: crash[0] });
      }
      if (p.exitStatus && !told.has(p) && !incidents.some((i) => i.process === p.name)) {
        incidents.push({
          cycle,
          fault,
          process: p.name,
          problem: `exited unasked: code ${p.exitStatus.code}, signal ${p.exitStatus.signal}`,
        });
      }
    }
    await context.sleep(parameters.settleMs);
    stallsBy[fault] = (stallsBy[fault] ?? 0) + metrics.stalls.count - stallsBefore;
    if (cycle % 10 === 0) {
      context.progress(`  ${cycle} cycles, ${incidents.length} incidents`);
    }
  }
  await bots.close();
  const report = buildReport(metrics, {
    clients: parameters.bots,
    durationSeconds: 1,
    connectedSeconds: 1,
    botCpuPercent: 0,
  });
  const cycles = Object.values(applied).reduce((a, b) => a + b, 0);
  context.partial = { incidents, applied, refused, cycles };
  const results = {
    cycles,
    applied,
    stallsBy,
    processesStarted: cluster.workers.length + 2,
    incidents,
    refusedDrains: refused,
    bots: {
      clients: parameters.bots,
      connected: report.connected,
      resumes: report.resumes,
      stalls: report.stalls,
      lostSessions: report.lostSessions,
      errors: report.errors,
    },
    targetMet: cycles >= 50 && incidents.length === 0,
  };
  return { parameters, results };
}

function render(raw: unknown) {
  const results = object(raw, "results");
  const applied = object(results.applied, "applied");
  const stallsBy = object(results.stallsBy ?? {}, "stallsBy");
  const incidents = array(results.incidents, "incidents").map((i) => object(i, "incident"));
  // A run that failed part way has no bot figures yet.
  const bots = results.bots === undefined ? undefined : object(results.bots, "bots");
  return {
    table: {
      columns: ["fault", "cycles", "incidents", "bot stalls ended in its cycles"],
      rows: FAULTS.map((f) => [
        f,
        cell(typeof applied[f] === "number" ? applied[f] as number : 0, 0),
        cell(incidents.filter((i) => i.fault === f).length, 0),
        cell(typeof stallsBy[f] === "number" ? stallsBy[f] as number : 0, 0),
      ]),
    },
    summary: [
      `${num(results, "cycles")} fault cycles, ${
        typeof results.processesStarted === "number" ? results.processesStarted : "?"
      } processes started; incidents (aborts, bad exits, processes that died unasked, workers that did not ` +
      `rejoin): ${
        incidents.length === 0
          ? "none"
          : incidents.map((i) => `cycle ${i.cycle} ${i.fault} ${i.process}: ${i.problem}`).join(
            "; ",
          )
      }.`,
      bots
        ? `Bots: ${num(bots, "connected")}/${num(bots, "clients")} connected, ${
          num(bots, "resumes")
        } resumes, ${num(object(bots.stalls, "stalls"), "count")} stalls (longest ${
          num(object(bots.stalls, "stalls"), "longestMs")
        } ms), ${num(bots, "lostSessions")} lost sessions, errors ${
          num(object(bots.errors, "errors"), "total")
        }.`
        : "Bots: not measured (the run stopped early).",
      `Drains refused by the control API (409, documented; nothing done): ${
        Array.isArray(results.refusedDrains) ? results.refusedDrains.length : 0
      }.`,
      `Target (no process aborts over ≥ 50 cycles): ${results.targetMet ? "met" : "missed"}.`,
    ],
  };
}

/** The fault-cycle stress scenario. */
export const faults: Scenario = {
  name: "faults",
  title: "≥ 50 cycles of move, kill -9, SIGSTOP/SIGCONT, SIGTERM and drain under bots",
  target: "no process ever aborts on a drain, exit, pause or resume",
  budgetMs: (quick) => (quick ? 240_000 : 900_000),
  run,
  render,
};
