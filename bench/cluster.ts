// A benchmark cluster: a coordinator and N workers as OS processes on 127.0.0.1 (every port 0),
// its own config file, readiness by the coordinator's /api/state, and a close() that always
// stops every process it started.
import {
  coordinatorArgs,
  getJson,
  type LogLine,
  NodeProcess,
  until,
  workerArgs,
} from "../testing/node_process.ts";
import type { Closable, ScenarioContext } from "./scenario.ts";
import { coordinatorCores, type Pinning, workerCores } from "./pinning.ts";
import { BENCH_OPERATOR_TOKEN } from "./world.ts";

/** A worker as listed by the coordinator's /api/state. */
export interface WorkerRow {
  id: string;
  state: string;
  httpAddress: string;
  cells: number;
  entities: number;
  ghosts: number;
  tickP50Ms: number;
  tickP99Ms: number;
  /** Handoffs the worker sent and its receivers have not confirmed yet. */
  pendingHandoffs?: number;
}

/** The parts of the coordinator's /api/state the benchmarks read. */
export interface ClusterState {
  epoch: number;
  workers: WorkerRow[];
  map: { epoch: number; owners: string[] };
  migrations: Array<{ cell: number; from: string; to: string; epoch: number }>;
  events: Array<{ seq: number; kind: string; [field: string]: unknown }>;
}

/** Options of {@linkcode BenchCluster.start}. */
export interface ClusterOptions {
  workers: number;
  /** The config file's content (bench/world.ts: benchConfig). */
  config: Record<string, unknown>;
  /** Entities the cluster must report before it counts as ready. */
  entities: number;
  readyTimeoutMs?: number;
  /** Pin the processes to cores (bench/pinning.ts); absent: the OS places them. */
  pinning?: Pinning;
  /** Start worker w1 with its inspector, to profile it (NodeProcess.inspectorUrl). */
  inspectFirst?: boolean;
}

/** A running coordinator and workers; owned by a scenario context, so it is always stopped. */
export class BenchCluster implements Closable, AsyncDisposable {
  readonly coordinator: NodeProcess;
  readonly workers: NodeProcess[] = [];
  #configPath: string;
  #api = "";
  #grpcPort = 0;
  #closed = false;

  #pinning?: Pinning;

  private constructor(configPath: string, pinning?: Pinning) {
    this.#configPath = configPath;
    this.#pinning = pinning;
    const cpus = pinning && coordinatorCores(pinning);
    this.coordinator = new NodeProcess("coordinator", coordinatorArgs(configPath), {}, { cpus });
  }

  /**
   * Starts the processes and resolves once the map is assigned and every worker reports its
   * entities. The cluster is owned by `context` from the first process on.
   */
  static async start(context: ScenarioContext, options: ClusterOptions): Promise<BenchCluster> {
    const configPath = Deno.makeTempFileSync({ prefix: "zs-bench-", suffix: ".json" });
    Deno.writeTextFileSync(configPath, JSON.stringify(options.config));
    const cluster = context.own(new BenchCluster(configPath, options.pinning));
    const listening = await cluster.coordinator.waitFor("coordinator.listening", 30_000);
    cluster.#api = `http://127.0.0.1:${listening.httpPort}`;
    cluster.#grpcPort = Number(listening.grpcPort);
    for (let n = 1; n <= options.workers; n++) {
      cluster.workers.push(
        new NodeProcess(
          `w${n}`,
          workerArgs(configPath, Number(listening.grpcPort), "--node-id", `w${n}`),
          {},
          { cpus: cluster.#workerCores(), inspect: n === 1 && options.inspectFirst },
        ),
      );
    }
    await Promise.all(cluster.workers.map((w) => w.waitFor("worker.listening", 30_000)));
    await until(`${options.workers} worker(s) reporting ${options.entities} entities`, async () => {
      context.checkAborted();
      const s = await cluster.state();
      const active = s.workers.filter((w) => w.state === "active");
      const total = active.reduce((n, w) => n + w.entities, 0);
      // Entities handed off and not yet confirmed are in no worker's count but in their
      // senders' pending handoffs (which may also still list some the receiver counts).
      const pending = active.reduce((n, w) => n + (w.pendingHandoffs ?? 0), 0);
      const all = total === options.entities ||
        (total < options.entities && total + pending >= options.entities);
      return s.epoch >= 1 && active.length === options.workers && all ? s : undefined;
    }, options.readyTimeoutMs ?? 60_000);
    return cluster;
  }

  /** The cores of the next worker started (one each, in start order). */
  #workerCores(): string | undefined {
    return this.#pinning && workerCores(this.#pinning, this.workers.length + 1);
  }

  /** Base URL of the coordinator's HTTP API. */
  get api(): string {
    return this.#api;
  }

  /** The coordinator's /api/state. */
  async state(timeoutMs = 10_000): Promise<ClusterState> {
    try {
      return await getJson<ClusterState>(`${this.#api}/api/state`, timeoutMs);
    } catch (error) {
      throw new Error(`Cannot read the coordinator's /api/state: ${(error as Error).message}`, {
        cause: error,
      });
    }
  }

  /** POSTs a JSON body to the coordinator and returns the parsed response with its status. */
  async post(path: string, body: unknown): Promise<{ status: number; body: unknown }> {
    const response = await fetch(`${this.#api}${path}`, {
      method: "POST",
      headers: { authorization: `Bearer ${BENCH_OPERATOR_TOKEN}` },
      body: JSON.stringify(body),
      signal: AbortSignal.timeout(5_000),
    });
    return { status: response.status, body: await response.json() };
  }

  /**
   * Starts one more worker process with node id `id` (and `extra` flags, e.g. `--pool`);
   * resolves once it listens. It is stopped with the cluster.
   */
  async addWorker(id: string, extra: string[] = []): Promise<NodeProcess> {
    const worker = new NodeProcess(
      id,
      workerArgs(this.#configPath, this.#grpcPort, "--node-id", id, ...extra),
      {},
      { cpus: this.#workerCores() },
    );
    this.workers.push(worker);
    await worker.waitFor("worker.listening", 30_000);
    return worker;
  }

  /** The worker process started with node id `id`. */
  worker(id: string): NodeProcess {
    const found = this.workers.find((w) => w.name === id);
    if (!found) throw new RangeError(`No worker ${id} in this cluster`);
    return found;
  }

  /** Every process of the cluster, by name. */
  processes(): NodeProcess[] {
    return [this.coordinator, ...this.workers];
  }

  /** Kills every process (idempotent) and removes the config file. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    await Promise.all(this.processes().map((p) => p.kill()));
    try {
      Deno.removeSync(this.#configPath);
    } catch {
      // already gone
    }
  }

  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }
}

/**
 * Resolves with the first log line of `process` after index `from` that matches, polling its
 * parsed lines; rejects after `timeoutMs` or when `signal` aborts.
 */
export async function waitForLine(
  process: NodeProcess,
  match: (line: LogLine) => boolean,
  options: { from?: number; timeoutMs: number; signal: AbortSignal; what: string },
): Promise<LogLine> {
  const deadline = Date.now() + options.timeoutMs;
  let at = options.from ?? 0;
  while (Date.now() < deadline) {
    options.signal.throwIfAborted();
    for (; at < process.lines.length; at++) {
      if (match(process.lines[at])) return process.lines[at];
    }
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
  throw new Error(`${process.name}: no ${options.what} within ${options.timeoutMs} ms`);
}
