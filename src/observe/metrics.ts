// Prometheus metrics of this isolate (a process or a worker thread): one prom-client registry
// with the default process metrics and ZoneScaler's own, labelled by role and node. Counts that
// the hot paths already keep (space counters, link traffic) are read at scrape time.
import client from "prom-client";
import type { ErrorCode } from "../errors.ts";
import { TICK_PHASES, TickPhases } from "./tick_phases.ts";

/** Transports counted in `zs_messages_total` and `zs_bytes_total`. */
export const Transport = { GRPC_SYNC: "grpc_sync", HTTP: "http" } as const;
/** One of {@linkcode Transport}. */
export type Transport = typeof Transport[keyof typeof Transport];

/** Message and byte counts of one transport in both directions; incremented in place. */
export interface TrafficCounts {
  messagesIn: number;
  bytesIn: number;
  messagesOut: number;
  bytesOut: number;
}

/** A zeroed {@linkcode TrafficCounts}. */
export function trafficCounts(): TrafficCounts {
  return { messagesIn: 0, bytesIn: 0, messagesOut: 0, bytesOut: 0 };
}

/** What a worker shows at scrape time (a `Space` fits). */
export interface WorkerView {
  owned: { readonly size: number };
  ghosts: { readonly size: number };
  counters: { readonly handoffsIn: number; readonly handoffsOut: number };
}

/** What a coordinator shows at scrape time (a `Registry` fits). */
export interface CoordinatorView {
  workers: ReadonlyMap<string, { readonly state: string }>;
  map: { readonly epoch: number };
}

/** Worker states always exported by `zs_workers` (zero when empty); others appear when used. */
const WORKER_STATES = ["active", "spare", "draining", "releasing", "drained", "down"] as const;

/** Tick durations from 0.1 ms to 50 ms; a tick over 50 ms (at 20 Hz) is already late. */
export const TICK_BUCKETS: readonly number[] = [
  0.0001,
  0.00025,
  0.0005,
  0.001,
  0.0025,
  0.005,
  0.0075,
  0.01,
  0.015,
  0.02,
  0.03,
  0.05,
  0.1,
  0.25,
];

/** The registry of this isolate; every ZoneScaler metric and the default metrics live here. */
export const registry = new client.Registry();
client.collectDefaultMetrics({ register: registry });

const nodes = new Set<NodeMetrics>();
const registers = [registry];
const base = ["role", "node"] as const;

const tickDuration = new client.Histogram({
  name: "zs_tick_duration_seconds",
  help: "Duration of one worker tick (game logic, handoff, ghost sync, batch encoding).",
  labelNames: base,
  buckets: [...TICK_BUCKETS],
  registers,
});

new client.Counter({
  name: "zs_tick_phase_seconds_total",
  help:
    "Seconds of worker ticks spent in each phase (src/observe/tick_phases.ts); they add up to the ticks' duration.",
  labelNames: [...base, "phase"],
  registers,
  collect() {
    this.reset();
    for (const n of nodes) {
      if (!n.worker) continue;
      const seconds = n.phases.seconds;
      TICK_PHASES.forEach((phase, i) => this.inc({ ...n.labels, phase }, seconds[i]));
    }
  },
});

new client.Gauge({
  name: "zs_entities",
  help: "Entities owned by the worker.",
  labelNames: base,
  registers,
  collect() {
    this.reset();
    for (const n of nodes) if (n.worker) this.set(n.labels, n.worker.owned.size);
  },
});

new client.Gauge({
  name: "zs_ghosts",
  help: "Read-only ghosts of entities owned by other workers.",
  labelNames: base,
  registers,
  collect() {
    this.reset();
    for (const n of nodes) if (n.worker) this.set(n.labels, n.worker.ghosts.size);
  },
});

new client.Counter({
  name: "zs_handoffs_total",
  help: "Entities handed over to (out) or taken over from (in) another worker.",
  labelNames: [...base, "direction"],
  registers,
  collect() {
    this.reset();
    for (const n of nodes) {
      if (!n.worker) continue;
      this.inc({ ...n.labels, direction: "in" }, n.worker.counters.handoffsIn);
      this.inc({ ...n.labels, direction: "out" }, n.worker.counters.handoffsOut);
    }
  },
});

new client.Counter({
  name: "zs_migrations_total",
  help: "Live cell migrations completed.",
  labelNames: base,
  registers,
  collect() {
    this.reset();
    for (const n of nodes) this.inc(n.labels, n.migrations);
  },
});

new client.Gauge({
  name: "zs_sessions",
  help: "Client sessions connected to the gateway.",
  labelNames: base,
  registers,
  collect() {
    this.reset();
    for (const n of nodes) if (n.sessions !== undefined) this.set(n.labels, n.sessions);
  },
});

/** Yields [transport, counts] for every transport a node has. */
function* trafficOf(n: NodeMetrics): Generator<[Transport, TrafficCounts]> {
  yield [Transport.HTTP, n.http];
  if (n.sync) yield [Transport.GRPC_SYNC, n.sync];
}

/** A counter of one traffic measure per transport and direction, read at scrape time. */
function trafficCounter(
  name: string,
  help: string,
  measure: { in: keyof TrafficCounts; out: keyof TrafficCounts },
): void {
  new client.Counter({
    name,
    help,
    labelNames: [...base, "transport", "direction"],
    registers,
    collect() {
      this.reset();
      for (const n of nodes) {
        for (const [transport, c] of trafficOf(n)) {
          this.inc({ ...n.labels, transport, direction: "in" }, c[measure.in]);
          this.inc({ ...n.labels, transport, direction: "out" }, c[measure.out]);
        }
      }
    },
  });
}

trafficCounter(
  "zs_messages_total",
  "Messages received (in) and sent (out): HTTP requests/responses, gRPC sync batches.",
  { in: "messagesIn", out: "messagesOut" },
);
trafficCounter("zs_bytes_total", "Payload bytes received (in) and sent (out) per transport.", {
  in: "bytesIn",
  out: "bytesOut",
});

new client.Counter({
  name: "zs_errors_total",
  help: "Errors by stable error code (BAD_BATCH, UNAUTHENTICATED, ...).",
  labelNames: [...base, "code"],
  registers,
  collect() {
    this.reset();
    for (const n of nodes) {
      for (const [code, count] of n.errors) this.inc({ ...n.labels, code }, count);
    }
  },
});

new client.Gauge({
  name: "zs_workers",
  help: "Workers known to the coordinator, by state.",
  labelNames: [...base, "state"],
  registers,
  collect() {
    this.reset();
    for (const n of nodes) {
      if (!n.coordinator) continue;
      const counts = new Map<string, number>(WORKER_STATES.map((s) => [s, 0]));
      for (const w of n.coordinator.workers.values()) {
        counts.set(w.state, (counts.get(w.state) ?? 0) + 1);
      }
      for (const [state, count] of counts) this.set({ ...n.labels, state }, count);
    }
  },
});

new client.Gauge({
  name: "zs_map_epoch",
  help: "Epoch of the coordinator's partition map.",
  labelNames: base,
  registers,
  collect() {
    this.reset();
    for (const n of nodes) if (n.coordinator) this.set(n.labels, n.coordinator.map.epoch);
  },
});

/** Options of {@linkcode NodeMetrics}. */
export interface NodeMetricsOptions {
  role: string;
  /** Node id; may be set later (a worker learns its id when it registers). */
  node?: string;
}

/**
 * The metrics of one node (coordinator, worker, gateway) running in this isolate. Plain
 * counters are bumped on the paths that see the event; views are read when scraped.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { NodeMetrics, scrape } from "./metrics.ts";
 *
 * const metrics = new NodeMetrics({ role: "worker", node: "example" });
 * metrics.countError("BAD_BATCH");
 * const text = await scrape();
 * assert.match(text, /zs_errors_total\{role="worker",node="example",code="BAD_BATCH"\} 1/);
 * metrics.close();
 * ```
 */
export class NodeMetrics {
  readonly role: string;
  /** Requests and responses of this node's HTTP server (counted by `startHttp`). */
  readonly http: TrafficCounts = trafficCounts();
  /** Peer batches, once the node has peer links. */
  sync?: TrafficCounts;
  worker?: WorkerView;
  coordinator?: CoordinatorView;
  /** Connected sessions; only a gateway sets it. */
  sessions?: number;
  readonly errors = new Map<string, number>();
  migrations = 0;
  /** Seconds of this node's worker ticks by phase (zs_tick_phase_seconds_total). */
  readonly phases = new TickPhases();
  #labels: { role: string; node: string };
  #tick: client.Histogram.Internal<"role" | "node">;

  constructor(options: NodeMetricsOptions) {
    this.role = options.role;
    this.#labels = { role: options.role, node: options.node ?? "" };
    this.#tick = tickDuration.labels(this.#labels);
    nodes.add(this);
  }

  /** The `role` and `node` labels of every series of this node. */
  get labels(): { readonly role: string; readonly node: string } {
    return this.#labels;
  }

  /** Renames the node: later scrapes use the new id. */
  set node(id: string) {
    tickDuration.remove(this.#labels);
    this.#labels = { role: this.role, node: id };
    this.#tick = tickDuration.labels(this.#labels);
  }

  get node(): string {
    return this.#labels.node;
  }

  /** Records one tick's duration in seconds. */
  observeTick(seconds: number): void {
    this.#tick.observe(seconds);
  }

  /** Counts one error with a stable code. */
  countError(code: ErrorCode): void {
    this.errors.set(code, (this.errors.get(code) ?? 0) + 1);
  }

  /** Counts completed live cell migrations (`zs_migrations_total`). */
  countMigration(cells = 1): void {
    this.migrations += cells;
  }

  /** Exports a worker's entities, ghosts, handoffs and peer traffic. */
  watchWorker(worker: WorkerView, sync: TrafficCounts): void {
    this.worker = worker;
    this.sync = sync;
  }

  /** Exports a coordinator's workers by state and map epoch. */
  watchCoordinator(coordinator: CoordinatorView): void {
    this.coordinator = coordinator;
  }

  /** Removes this node's series from the registry. */
  close(): void {
    nodes.delete(this);
    tickDuration.remove(this.#labels);
  }
}

/** The registry in the Prometheus text format. */
export function scrape(): Promise<string> {
  return registry.metrics();
}

/** A `GET /metrics` response. */
export async function metricsResponse(): Promise<Response> {
  return new Response(await scrape(), {
    headers: { "content-type": registry.contentType, "cache-control": "no-store" },
  });
}
