// Fault cycles against a real cluster (coordinator, workers, a gateway, bots): drains through
// the API, SIGTERM, kill -9, SIGSTOP/SIGCONT and cell moves, restarting workers as they leave,
// and a record of how every process ended. The proof of issue 11 item 1 that no node aborts:
// a process ended by a signal nobody sent it (SIGABRT, SIGSEGV) or an `Assertion`/`free():`
// line on stderr is a crash. Shared by tests/integration/abort_stress_test.ts and bench/.
import {
  coordinatorArgs,
  getJson,
  NodeProcess,
  OPERATOR_HEADERS,
  until,
  workerArgs,
  writeTestConfig,
} from "./node_process.ts";
import type { ClusterState } from "./cluster.ts";

/** The faults a cycle can inject. */
export const Fault = {
  DRAIN: "drain",
  SIGTERM: "sigterm",
  KILL: "kill",
  /** SIGSTOP shorter than the failure timeout. */
  PAUSE: "pause",
  /** SIGSTOP longer than the failure timeout: declared down, then back. */
  STALL: "stall",
  MOVE: "move",
} as const;
/** One of {@linkcode Fault}. */
export type Fault = typeof Fault[keyof typeof Fault];

/** Lines that mean a process crashed in native code, whatever its exit status. */
export const CRASH_LINE = /Assertion|free\(\)|double free|corrupted|Segmentation fault|panicked/;

/** What to run. */
export interface FaultPlan {
  /** The faults, in order (one cycle each). */
  cycles: Fault[];
  workers: number;
  bots: number;
  /** How long a PAUSE lasts (under the config's workerTimeoutMs). */
  pauseMs: number;
  /** How long a STALL lasts (over the config's workerTimeoutMs). */
  stallMs: number;
  /** How long a stalled worker gets to rejoin before it is replaced (default 5 s). */
  rejoinMs?: number;
  /** Config overrides of the test world (heartbeatMs, workerTimeoutMs, ...). */
  config?: Record<string, unknown>;
  /** Progress output. */
  progress?: (line: string) => void;
}

/** How one process ended. */
export interface ProcessEnd {
  name: string;
  sent: string[];
  code: number | null;
  signal: string | null;
}

/** The outcome of a run. */
export interface FaultReport {
  cycles: number;
  byFault: Record<Fault, number>;
  /** Cycles whose fault was injected but whose expected outcome did not follow. */
  failed: Array<{ cycle: number; fault: Fault; error: string }>;
  /** Cycles not injected: no worker or cell to fault (say, every cell stranded on dead workers). */
  skipped: Array<{ cycle: number; fault: Fault; error: string }>;
  processes: number;
  restarts: number;
  /** Processes ended by a signal they were not sent (the aborts). */
  unexpectedSignals: ProcessEnd[];
  /** Processes that exited on their own with a non-zero code. */
  unexpectedExits: ProcessEnd[];
  crashLines: Array<{ name: string; line: string }>;
  durationMs: number;
}

/** A started process with the signals sent to it. */
class Tracked {
  readonly sent: string[] = [];
  ended?: Deno.CommandStatus;
  readonly exited: Promise<Deno.CommandStatus>;

  constructor(readonly id: string, readonly node: NodeProcess) {
    this.exited = node.child.status.then((s) => (this.ended = s));
  }

  signal(signal: Deno.Signal): void {
    if (this.ended) return;
    this.sent.push(signal);
    try {
      this.node.child.kill(signal);
    } catch { /* exited meanwhile */ }
  }
}

/** A cycle that found nothing to fault. */
class Skip extends Error {
  override name = "Skip";
}

const wait = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function exitWithin(p: Tracked, ms: number): Promise<boolean> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const late = new Promise<false>((r) => (timer = setTimeout(() => r(false), ms)));
  const done = await Promise.race([p.exited.then(() => true), late]);
  clearTimeout(timer);
  return done;
}

/** Runs the plan and reports how every process ended; always stops what it started. */
export async function runFaultCycles(plan: FaultPlan): Promise<FaultReport> {
  const started = performance.now();
  const say = plan.progress ?? (() => {});
  const config = writeTestConfig({
    minWorkers: plan.workers,
    drainTimeoutMs: 10_000,
    ...plan.config,
  });
  const all: Tracked[] = [];
  const track = (id: string, node: NodeProcess) => {
    const t = new Tracked(id, node);
    all.push(t);
    return t;
  };
  const coordinator = track(
    "coordinator",
    new NodeProcess("coordinator", coordinatorArgs(config)),
  );
  const report: FaultReport = {
    cycles: 0,
    byFault: { drain: 0, sigterm: 0, kill: 0, pause: 0, stall: 0, move: 0 },
    failed: [],
    skipped: [],
    processes: 0,
    restarts: 0,
    unexpectedSignals: [],
    unexpectedExits: [],
    crashLines: [],
    durationMs: 0,
  };
  try {
    const listening = await coordinator.node.waitFor("coordinator.listening");
    const api = `http://127.0.0.1:${listening.httpPort}`;
    const grpcPort = Number(listening.grpcPort);
    let next = 0;
    const workers: Tracked[] = [];
    const startWorker = async () => {
      const id = `w${++next}`;
      const w = track(id, new NodeProcess(id, workerArgs(config, grpcPort, "--node-id", id)));
      workers.push(w);
      await w.node.waitFor("worker.listening");
      return w;
    };
    for (let i = 0; i < plan.workers; i++) await startWorker();
    const gateway = track(
      "gateway",
      new NodeProcess("gateway", [
        "--role=gateway",
        "--config",
        config,
        "--coordinator",
        `127.0.0.1:${grpcPort}`,
        "--port",
        "0",
        "--node-id",
        "g1",
        "--storage",
        ":memory:",
      ]),
    );
    const ready = await gateway.node.waitFor("gateway.listening");
    const state = () => getJson<ClusterState>(`${api}/api/state`);
    await until("every worker owning cells", async () => {
      const s = await state();
      return s.workers.filter((w) => w.cells > 0).length === plan.workers ? s : undefined;
    });
    if (plan.bots > 0) {
      track(
        "bots",
        new NodeProcess("bots", [
          "--role=bots",
          "--gateway",
          `http://${ready.httpAddress}`,
          "--clients",
          String(plan.bots),
          "--duration",
          "3600",
          "--ramp",
          "1",
        ]),
      );
    }
    const live = () => workers.filter((w) => !w.ended && !w.sent.includes("SIGTERM"));
    const post = async (path: string, body?: unknown) => {
      const response = await fetch(`${api}${path}`, {
        method: "POST",
        headers: OPERATOR_HEADERS,
        body: body === undefined ? undefined : JSON.stringify(body),
        signal: AbortSignal.timeout(5_000),
      });
      const text = await response.text();
      if (!response.ok) throw new Error(`POST ${path}: ${response.status} ${text}`);
    };
    // Live workers the coordinator lists as active, busiest first (a fault on an idle one
    // would prove little); a drain or move also needs cells that are not already moving.
    const candidates = async () => {
      const s = await state();
      const moving = new Set(s.migrations.map((m) => (m as { cell: number }).cell));
      const stateOf = new Map(s.workers.map((w) => [w.id, w.state]));
      const free = (id: string) =>
        s.map.owners.flatMap((o, c) => (o === id && !moving.has(c) ? [c] : []));
      const rank = (states: string[]) =>
        live().filter((w) => states.includes(stateOf.get(w.id) ?? ""))
          .map((w) => ({
            w,
            free: free(w.id),
            cells: s.map.owners.filter((o) => o === w.id).length,
          }))
          .sort((a, b) => b.cells - a.cells);
      // Spares (restarted workers) take cells by moves and become active.
      return { ranked: rank(["active"]), targets: rank(["active", "spare"]) };
    };
    const victim = async (fault: Fault) => {
      if (fault !== Fault.DRAIN) return (await candidates()).ranked[0]?.w ?? live()[0];
      // A drain is refused while one of the worker's cells moves: wait for moves to settle.
      try {
        return await until("a worker to drain with no cell moving", async () => {
          const { ranked } = await candidates();
          return ranked.find((r) => r.cells > 0 && r.free.length === r.cells)?.w;
        }, 15_000);
      } catch (error) {
        throw new Skip((error as Error).message);
      }
    };
    const replace = async (gone: Tracked, why: string) => {
      workers.splice(workers.indexOf(gone), 1);
      const fresh = await startWorker();
      report.restarts++;
      say(`  ${gone.id} ${why}; started ${fresh.id}`);
    };
    const leaves = async (w: Tracked, cycle: number, fault: Fault) => {
      if (!(await exitWithin(w, 25_000))) {
        report.failed.push({ cycle, fault, error: `${w.id} did not exit within 25 s; killed` });
        w.signal("SIGKILL");
        await w.exited;
      } else if (w.ended?.code !== 0) {
        report.failed.push({
          cycle,
          fault,
          error: `${w.id} exited with ${w.ended?.code} (${w.ended?.signal ?? "no signal"})`,
        });
      }
      await replace(w, fault === Fault.DRAIN ? "drained" : "stopped");
    };
    // A stalled worker was declared down and fenced; it rejoins as a spare (docs/operations.md,
    // failover), or stays active when the stall ended before the coordinator noticed. If it is
    // neither soon after SIGCONT, it is replaced like a worker that left.
    const rejoinsOrGoes = async (w: Tracked) => {
      try {
        await until(`${w.id} back as a spare or active`, async () => {
          const s = await state();
          return s.workers.some((r) =>
            r.id === w.id && (r.state === "active" || r.state === "spare")
          ) || undefined;
        }, plan.rejoinMs ?? 5_000);
      } catch {
        if (w.ended) return await replace(w, "ended after its stall");
        w.signal("SIGKILL");
        await w.exited;
        await replace(w, "did not rejoin after its stall");
      }
    };
    for (const [cycle, fault] of plan.cycles.entries()) {
      say(`cycle ${cycle + 1}/${plan.cycles.length}: ${fault}`);
      try {
        const w = await victim(fault);
        if (!w) throw new Skip("no live active worker to fault");
        if (fault === Fault.DRAIN) {
          await post(`/api/workers/${w.id}/drain`);
          await leaves(w, cycle, fault);
        } else if (fault === Fault.SIGTERM) {
          w.signal("SIGTERM");
          await leaves(w, cycle, fault);
        } else if (fault === Fault.KILL) {
          w.signal("SIGKILL");
          await w.exited;
          await replace(w, "killed");
        } else if (fault === Fault.PAUSE || fault === Fault.STALL) {
          w.signal("SIGSTOP");
          // The fault's duration, not a synchronisation.
          await wait(fault === Fault.PAUSE ? plan.pauseMs : plan.stallMs);
          w.signal("SIGCONT");
          if (fault === Fault.STALL) await rejoinsOrGoes(w);
        } else {
          // A cell of the busiest worker to the one with the fewest cells.
          const { ranked, targets } = await candidates();
          const from = ranked.find((r) => r.free.length > 0);
          const to = targets.at(-1);
          if (!from || !to || from.w === to.w) throw new Skip("no cell to move between workers");
          await post(`/api/cells/${from.free[cycle % from.free.length]}/move`, { to: to.w.id });
        }
        report.byFault[fault]++;
        report.cycles++;
      } catch (error) {
        const entry = { cycle, fault, error: (error as Error).message };
        if (error instanceof Skip) report.skipped.push(entry);
        else report.failed.push(entry);
      }
    }
    // Everyone still up must still be up: give a resumed worker time to trip, then look.
    await wait(1_000);
  } finally {
    for (const p of all) if (!p.ended) p.signal("SIGKILL");
    await Promise.all(all.map((p) => p.exited));
    Deno.removeSync(config);
    report.processes = all.length;
    for (const p of all) {
      const end = {
        name: p.id,
        sent: p.sent,
        code: p.ended?.code ?? null,
        signal: p.ended?.signal ?? null,
      };
      if (end.signal && !p.sent.includes(end.signal)) report.unexpectedSignals.push(end);
      else if (!end.signal && end.code !== 0 && !p.sent.includes("SIGKILL")) {
        report.unexpectedExits.push(end);
      }
      for (const line of p.node.stderr) {
        if (CRASH_LINE.test(line)) report.crashLines.push({ name: p.id, line });
      }
    }
    report.durationMs = Math.round(performance.now() - started);
  }
  return report;
}
