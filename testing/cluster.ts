// Starts a test cluster of real processes: a coordinator, workers (and pool workers) and
// gateways, with an audit following the workers' ownership logs when asked (`audit: true`).
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
  /** The map epoch it last reported running under. */
  epoch: number;
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
/** Audit events each worker of an audited test cluster keeps, of each kind (a long test's worth). */
export const AUDIT_EVENTS = 200_000;

/** A coordinator and `workers` workers (plus `pool` spares) as OS processes. */
export async function startCluster(
  overrides: Record<string, unknown>,
  options: {
    workers?: number;
    pool?: number;
    gateways?: number;
    /** Start the workers all at once instead of one after the other (faster). */
    parallel?: boolean;
    /** Give the coordinator a state file of its own, so it can be restarted. */
    durable?: boolean;
    /**
     * Start a second coordinator as the standby of the first (each with its own state file);
     * workers and gateways are given both addresses.
     */
    standby?: boolean;
    /** Wait for every worker to report entities (default true; false for a game without NPCs). */
    entities?: boolean;
    /**
     * Workers keep audit logs ({@linkcode AUDIT_EVENTS} events of each kind), so `audit` can
     * follow them; without it they are off, as in production, and `audit.collect()` fails.
     */
    audit?: boolean;
    /** More flags for worker `n` (1-based), e.g. its `--region`. */
    workerFlags?: (n: number) => string[];
  } = {},
) {
  const config = writeTestConfig(
    options.audit ? { auditEvents: AUDIT_EVENTS, ...overrides } : overrides,
  );
  const durable = options.durable || options.standby;
  /** The coordinators' places: the first one started active, the second its standby. */
  const slots: CoordinatorSlot[] = [];
  const coordinators: NodeProcess[] = [];
  const launch = (slot: CoordinatorSlot, ports: string[]) => {
    const n = coordinators.length + 1;
    const node = new NodeProcess(n === 1 ? "coordinator" : `coordinator-${n}`, [
      "--role=coordinator",
      "--config",
      config,
      ...ports,
      ...(slot.statePath ? ["--coordinator-state", slot.statePath] : []),
      ...slot.extra,
    ]);
    coordinators.push(node);
    slot.process = node;
    return node;
  };
  const addSlot = async (extra: string[]) => {
    const statePath = durable
      ? Deno.makeTempFileSync({ prefix: "zs-coordinator-", suffix: ".sqlite" })
      : undefined;
    // A new file: the coordinator creates it (an existing empty file would be refused).
    if (statePath) Deno.removeSync(statePath);
    const slot = { statePath, extra, grpcPort: 0, httpPort: 0 } as CoordinatorSlot;
    slots.push(slot);
    const listening = await launch(slot, ["--port", "0", "--grpc-port", "0"])
      .waitFor("coordinator.listening");
    slot.grpcPort = Number(listening.grpcPort);
    slot.httpPort = Number(listening.httpPort);
    return slot;
  };
  const first = await addSlot([]);
  if (options.standby) await addSlot(["--standby-of", `127.0.0.1:${first.grpcPort}`]);
  const coordinatorAddress = slots.map((s) => `127.0.0.1:${s.grpcPort}`).join(",");
  const workers: NodeProcess[] = [];
  const api = `http://127.0.0.1:${first.httpPort}`;
  const start = (name: string, extra: string[] = [], env: Record<string, string> = {}) => {
    const worker = new NodeProcess(name, workerArgs(config, coordinatorAddress, ...extra), env);
    workers.push(worker);
    return worker;
  };
  if (options.parallel) {
    const starting = [];
    for (let n = 1; n <= (options.workers ?? 2); n++) {
      starting.push(
        start(`worker-${n}`, ["--node-id", `w${n}`, ...(options.workerFlags?.(n) ?? [])]).waitFor(
          "worker.listening",
        ),
      );
    }
    await Promise.all(starting);
  } else {
    for (let n = 1; n <= (options.workers ?? 2); n++) {
      await start(`worker-${n}`, ["--node-id", `w${n}`, ...(options.workerFlags?.(n) ?? [])])
        .waitFor("worker.listening");
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
      coordinatorAddress,
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
        (options.entities !== false && active.some((w) => w.entities === 0))
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
    await Promise.all([...coordinators, ...workers].map((p) => p.kill()));
    removeFiles(config, slots);
    throw new Error(`${(error as Error).message}; last seen: ${seen}`, { cause: error });
  }
  const post = (path: string, body?: unknown) =>
    fetch(`${api}${path}`, {
      method: "POST",
      headers: OPERATOR_HEADERS,
      body: body === undefined ? undefined : JSON.stringify(body),
    });
  const close = async () => {
    await Promise.all([...coordinators, ...workers].map((p) => p.kill()));
    removeFiles(config, slots);
  };
  /**
   * Starts coordinator `slot` (0: the first, 1: its standby) again on the same ports, state
   * file and flags after it was killed, and resolves once it listens.
   */
  const restartCoordinator = async (slot = 0) => {
    const at = slots[slot];
    if (!at?.statePath) throw new Error("restartCoordinator needs startCluster({ durable: true })");
    if (at.process.exitStatus === undefined) throw new Error(`coordinator ${slot} still runs`);
    await launch(at, ["--port", String(at.httpPort), "--grpc-port", String(at.grpcPort)])
      .waitFor("coordinator.listening");
    return at.process;
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
  /** The /api/state of coordinator `slot`. */
  const stateAt = (slot: number) =>
    getJson<ClusterState>(`http://127.0.0.1:${slots[slot].httpPort}/api/state`);
  /** A POST to coordinator `slot`'s API with the operator token. */
  const postAt = (slot: number, path: string, body?: unknown) =>
    fetch(`http://127.0.0.1:${slots[slot].httpPort}${path}`, {
      method: "POST",
      headers: OPERATOR_HEADERS,
      body: body === undefined ? undefined : JSON.stringify(body),
    });
  return {
    api,
    /** The first coordinator's process running now (a new one after restartCoordinator). */
    get coordinator() {
      return first.process;
    },
    /** Each coordinator's ports, state file and process now. */
    slots,
    workers,
    gateways,
    state,
    audit,
    post,
    close,
    processOf,
    config,
    restartCoordinator,
    stateAt,
    postAt,
    startWorker,
    startGateway,
  };
}

/** One coordinator of a test cluster. */
export interface CoordinatorSlot {
  statePath?: string;
  /** Flags beyond the config and ports (`--standby-of`). */
  extra: string[];
  grpcPort: number;
  httpPort: number;
  process: NodeProcess;
}

/** Removes the config and the state files with their WAL, whichever exist. */
function removeFiles(config: string, slots: CoordinatorSlot[]): void {
  Deno.removeSync(config);
  for (const { statePath } of slots) {
    if (!statePath) continue;
    for (const path of [statePath, `${statePath}-wal`, `${statePath}-shm`]) {
      try {
        Deno.removeSync(path);
      } catch (error) {
        if (!(error instanceof Deno.errors.NotFound)) throw error;
      }
    }
  }
}
