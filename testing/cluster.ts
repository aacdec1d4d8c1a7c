// Starts a test cluster of real processes: a coordinator, workers (and pool workers) and
// gateways, with an audit following the workers' ownership logs.
import { ClusterAudit } from "./audit.ts";
import {
  getJson,
  NodeProcess,
  OPERATOR_HEADERS,
  until,
  workerArgs,
  writeTestConfig,
} from "./node_process.ts";

/** A worker row of /api/state. */
export interface WorkerRow {
  grpcAddress: string;
  id: string;
  state: string;
  httpAddress: string;
  cells: number;
  entities: number;
  load: number;
}
/** The coordinator's /api/state. */
export interface ClusterState {
  epoch: number;
  workers: WorkerRow[];
  map: { owners: string[] };
  migrations: unknown[];
  events: Array<{ seq: number; kind: string; [k: string]: unknown }>;
}

/** NPCs in test worlds. */
export const NPCS = 300;

/** A coordinator and `workers` workers (plus `pool` spares) as OS processes. */
export async function startCluster(
  overrides: Record<string, unknown>,
  options: {
    workers?: number;
    pool?: number;
    gateways?: number;
    /** Start the workers all at once instead of one after the other (faster). */
    parallel?: boolean;
  } = {},
) {
  const config = writeTestConfig(overrides);
  const coordinator = new NodeProcess("coordinator", [
    "--role=coordinator",
    "--config",
    config,
    "--port",
    "0",
    "--grpc-port",
    "0",
  ]);
  const workers: NodeProcess[] = [];
  const listening = await coordinator.waitFor("coordinator.listening");
  const api = `http://127.0.0.1:${listening.httpPort}`;
  const start = (name: string, extra: string[] = [], env: Record<string, string> = {}) => {
    const worker = new NodeProcess(
      name,
      workerArgs(config, Number(listening.grpcPort), ...extra),
      env,
    );
    workers.push(worker);
    return worker;
  };
  if (options.parallel) {
    const starting = [];
    for (let n = 1; n <= (options.workers ?? 2); n++) {
      starting.push(start(`worker-${n}`, ["--node-id", `w${n}`]).waitFor("worker.listening"));
    }
    await Promise.all(starting);
  } else {
    for (let n = 1; n <= (options.workers ?? 2); n++) {
      await start(`worker-${n}`, ["--node-id", `w${n}`]).waitFor("worker.listening");
    }
  }
  for (let n = 1; n <= (options.pool ?? 0); n++) {
    await start(`pool-${n}`, ["--node-id", `p${n}`, "--pool"]).waitFor("worker.listening");
  }
  const gateways: string[] = [];
  /** Starts gateway g`n` (ZS_* variables in `env`, e.g. ZS_VERSION); resolves with its URL. */
  const startGateway = async (n: number, env: Record<string, string> = {}) => {
    const gateway = new NodeProcess(`gateway-${n}`, [
      "--role=gateway",
      "--config",
      config,
      "--coordinator",
      `127.0.0.1:${listening.grpcPort}`,
      "--port",
      "0",
      "--node-id",
      `g${n}`,
      "--storage",
      ":memory:",
    ], env);
    workers.push(gateway);
    const ready = await gateway.waitFor("gateway.listening");
    gateways.push(`http://${ready.httpAddress}`);
    return `http://${ready.httpAddress}`;
  };
  for (let n = 1; n <= (options.gateways ?? 0); n++) await startGateway(n);
  /** Starts worker `id` (ZS_* variables in `env`) once the cluster runs; resolves when listening. */
  const startWorker = async (id: string, env: Record<string, string> = {}) => {
    const worker = start(`worker-${id.slice(1)}`, ["--node-id", id], env);
    await worker.waitFor("worker.listening");
    return worker;
  };
  const state = () => getJson<ClusterState>(`${api}/api/state`);
  const audit = new ClusterAudit();
  let last: ClusterState | undefined;
  try {
    await until("the map assigned and every worker reporting", async () => {
      const s = last = await state();
      const active = s.workers.filter((w) => w.state === "active");
      if (
        s.epoch < 1 || active.length !== (options.workers ?? 2) ||
        active.some((w) => w.entities === 0)
      ) return undefined;
      for (const w of s.workers) audit.follow(w.id, `http://${w.httpAddress}`);
      return s;
    });
  } catch (error) {
    // Say what the cluster looked like, then stop every process it started.
    const seen = last
      ? `epoch ${last.epoch}, workers ${
        last.workers.map((w) => `${w.id}:${w.state}:${w.entities}`).join(" ")
      }, events ${last.events.map((e) => `${e.kind}${e.reason ? `(${e.reason})` : ""}`).join(" ")}`
      : "no /api/state answer";
    await Promise.all([coordinator, ...workers].map((p) => p.kill()));
    Deno.removeSync(config);
    throw new Error(`${(error as Error).message}; last seen: ${seen}`, { cause: error });
  }
  const post = (path: string, body?: unknown) =>
    fetch(`${api}${path}`, {
      method: "POST",
      headers: OPERATOR_HEADERS,
      body: body === undefined ? undefined : JSON.stringify(body),
    });
  const close = async () => {
    await Promise.all([coordinator, ...workers].map((p) => p.kill()));
    Deno.removeSync(config);
  };
  /** The process started with node id `id` (`w2`, `p1`, `g1`). */
  // Processes are named after their node ids: w1 is "worker-1", p1 "pool-1", g1 "gateway-1".
  const PREFIX: Record<string, string> = { w: "worker", p: "pool", g: "gateway" };
  const processOf = (id: string) => {
    const name = `${PREFIX[id[0]] ?? ""}-${id.slice(1)}`;
    const found = workers.find((p) => p.name === name);
    if (!found) throw new RangeError(`No process with node id ${id} in this cluster`);
    return found;
  };
  return {
    api,
    coordinator,
    workers,
    gateways,
    state,
    audit,
    post,
    close,
    processOf,
    config,
    startWorker,
    startGateway,
  };
}
