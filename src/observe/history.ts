// The coordinator's recent history for the diagnostics charts: one sample a second of what the
// heartbeats already report (per worker, per gateway, cluster totals), kept in fixed-size rings
// so its memory is bounded by `capacity × fields × MAX_HISTORY_NODES` floats, whatever happens.
// Nodes that left keep their series (and last state) until their last sample ages out.

/** Seconds of history kept at one sample a second: 15 minutes. */
export const HISTORY_SAMPLES = 900;
/** Time between two samples. */
export const HISTORY_INTERVAL_MS = 1_000;
/** Workers and gateways (each) kept at most; the longest silent is forgotten first. */
export const MAX_HISTORY_NODES = 64;

/** Series of each worker. */
export const WORKER_FIELDS = [
  "tickP50Ms",
  "tickP99Ms",
  "entities",
  "players",
  "ghosts",
  "load",
  "handoffsPerS",
] as const;
/** Series of each gateway. */
export const GATEWAY_FIELDS = ["sessions", "bytesPerS"] as const;
/** Cluster-wide series. */
export const CLUSTER_FIELDS = ["workersUp", "entities", "sessions", "migrations"] as const;

type WorkerField = typeof WORKER_FIELDS[number];
type GatewayField = typeof GATEWAY_FIELDS[number];
type ClusterField = typeof CLUSTER_FIELDS[number];

/** One node's values in one sample. */
export interface NodeSample<F extends string> {
  id: string;
  state: string;
  values: Record<F, number>;
}

/** What one sample records. */
export interface HistorySample {
  workers: NodeSample<WorkerField>[];
  gateways: NodeSample<GatewayField>[];
  cluster: Record<ClusterField, number>;
}

/** One node's series in a {@linkcode HistoryWindow}: null where it reported nothing. */
export interface NodeSeries {
  id: string;
  /** Its state at its last sample ("left" once it is no longer reported). */
  state: string;
  /** Time of its last sample (ms since the epoch). */
  lastSeen: number;
  series: Record<string, (number | null)[]>;
}

/** The answer of `/api/history`. */
export interface HistoryWindow {
  intervalMs: number;
  times: number[];
  cluster: Record<string, (number | null)[]>;
  workers: NodeSeries[];
  gateways: NodeSeries[];
}

/** Rings of one node's fields; NaN marks a sample without it. */
class NodeRing {
  state = "";
  lastSeq = -1;
  lastSeen = 0;
  readonly values: Float32Array[];

  constructor(fields: number, capacity: number) {
    this.values = Array.from({ length: fields }, () => new Float32Array(capacity).fill(NaN));
  }
}

/** A family of nodes (workers or gateways) with the same fields. */
class NodeRings<F extends string> {
  readonly nodes = new Map<string, NodeRing>();
  constructor(readonly fields: readonly F[], readonly capacity: number) {}

  record(seq: number, time: number, samples: NodeSample<F>[]): void {
    const slot = seq % this.capacity;
    for (const ring of this.nodes.values()) {
      for (const values of ring.values) values[slot] = NaN;
      if (ring.lastSeq >= 0 && ring.lastSeq < seq) ring.state = "left";
    }
    for (const sample of samples) {
      let ring = this.nodes.get(sample.id);
      if (!ring) {
        if (this.nodes.size >= MAX_HISTORY_NODES) this.#forgetOldest();
        ring = new NodeRing(this.fields.length, this.capacity);
        this.nodes.set(sample.id, ring);
      }
      ring.state = sample.state;
      ring.lastSeq = seq;
      ring.lastSeen = time;
      this.fields.forEach((field, i) => (ring.values[i][slot] = sample.values[field]));
    }
    // A node whose every sample has aged out is forgotten.
    for (const [id, ring] of this.nodes) {
      if (seq - ring.lastSeq >= this.capacity) this.nodes.delete(id);
    }
  }

  #forgetOldest(): void {
    let oldest: [string, NodeRing] | undefined;
    for (const entry of this.nodes) {
      if (!oldest || entry[1].lastSeq < oldest[1].lastSeq) oldest = entry;
    }
    if (oldest) this.nodes.delete(oldest[0]);
  }

  window(slots: number[], times: number[]): NodeSeries[] {
    return [...this.nodes].map(([id, ring]) => ({
      id,
      state: ring.state,
      lastSeen: ring.lastSeen,
      series: Object.fromEntries(
        this.fields.map((field, i) => [field, slots.map((s) => valueOf(ring.values[i][s]))]),
      ),
    })).filter((n) => times.length === 0 || n.lastSeen >= times[0]);
  }
}

function valueOf(value: number): number | null {
  return Number.isNaN(value) ? null : Math.round(value * 100) / 100;
}

/** Options of {@linkcode History}. */
export interface HistoryOptions {
  /** Samples kept (default {@linkcode HISTORY_SAMPLES}). */
  capacity?: number;
  now?: () => number;
}

/**
 * Bounded rings of recent samples.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { History } from "./history.ts";
 * const history = new History({ capacity: 2, now: () => 1000 });
 * const cluster = { workersUp: 1, entities: 5, sessions: 0, migrations: 0 };
 * history.record({ workers: [], gateways: [], cluster });
 * assert.deepEqual(history.window(60).cluster.entities, [5]);
 * ```
 */
export class History {
  readonly capacity: number;
  #now: () => number;
  #seq = 0;
  #times: Float64Array;
  #cluster: Float32Array[];
  #workers: NodeRings<WorkerField>;
  #gateways: NodeRings<GatewayField>;

  constructor(options: HistoryOptions = {}) {
    this.capacity = options.capacity ?? HISTORY_SAMPLES;
    if (!Number.isSafeInteger(this.capacity) || this.capacity < 1) {
      throw new RangeError(`History capacity must be a positive integer, got ${this.capacity}`);
    }
    this.#now = options.now ?? Date.now;
    this.#times = new Float64Array(this.capacity);
    this.#cluster = CLUSTER_FIELDS.map(() => new Float32Array(this.capacity));
    this.#workers = new NodeRings(WORKER_FIELDS, this.capacity);
    this.#gateways = new NodeRings(GATEWAY_FIELDS, this.capacity);
  }

  /** Samples recorded so far (also those that aged out). */
  get samples(): number {
    return this.#seq;
  }

  /** Appends one sample, overwriting the oldest once the ring is full. */
  record(sample: HistorySample): void {
    const seq = this.#seq++;
    const slot = seq % this.capacity;
    const time = this.#now();
    this.#times[slot] = time;
    CLUSTER_FIELDS.forEach((field, i) => (this.#cluster[i][slot] = sample.cluster[field]));
    this.#workers.record(seq, time, sample.workers);
    this.#gateways.record(seq, time, sample.gateways);
  }

  /** The last `seconds` samples (at most what is kept), oldest first. */
  window(seconds: number): HistoryWindow {
    const count = Math.min(seconds, this.#seq, this.capacity);
    const slots: number[] = [];
    for (let seq = this.#seq - count; seq < this.#seq; seq++) slots.push(seq % this.capacity);
    const times = slots.map((s) => this.#times[s]);
    return {
      intervalMs: HISTORY_INTERVAL_MS,
      times,
      cluster: Object.fromEntries(
        CLUSTER_FIELDS.map((field, i) => [field, slots.map((s) => valueOf(this.#cluster[i][s]))]),
      ),
      workers: this.#workers.window(slots, times),
      gateways: this.#gateways.window(slots, times),
    };
  }
}
