// The coordinator's worker registry and partition map: registration, heartbeats with load
// reports, failure detection, the initial split once enough workers joined, and cluster events.
import type { Grid } from "./grid.ts";
import { assignRegions, PartitionMap } from "./partition.ts";
import type { CellLoad } from "./rpc.ts";

/** Lifecycle of a registered worker. */
export type WorkerState = "active" | "spare" | "down";

/** What the coordinator knows of one worker. */
export interface WorkerRecord {
  id: string;
  index: number;
  grpcAddress: string;
  httpAddress: string;
  version: string;
  pool: boolean;
  state: WorkerState;
  registeredAt: number;
  lastHeartbeat: number;
  tick: number;
  cells: CellLoad[];
  ghosts: number;
  tickP50Ms: number;
  tickP99Ms: number;
}

/** A cluster event kept for the diagnostics page and `/api/state`. */
export interface ClusterEvent {
  seq: number;
  time: number;
  kind: string;
  [field: string]: unknown;
}

/** Options of {@linkcode Registry}. */
export interface RegistryOptions {
  grid: Grid;
  minWorkers: number;
  workerTimeoutMs: number;
  now?: () => number;
  eventRingSize?: number;
  onMap?: (map: PartitionMap) => void;
  onEvent?: (event: ClusterEvent) => void;
}

/** Registration data sent by a worker. */
export interface Registration {
  nodeId: string;
  grpcAddress: string;
  httpAddress: string;
  version: string;
  pool: boolean;
}

/** The coordinator's state machine; transport-free so it is tested with a fake clock. */
export class Registry {
  readonly workers = new Map<string, WorkerRecord>();
  map: PartitionMap;
  #options: RegistryOptions;
  #now: () => number;
  #nextIndex = 1;
  #events: ClusterEvent[] = [];
  #seq = 0;

  constructor(options: RegistryOptions) {
    this.#options = options;
    this.#now = options.now ?? Date.now;
    this.map = PartitionMap.empty(options.grid.cellCount);
  }

  /** Registers (or re-registers after a restart) a worker and returns its record. */
  register(request: Registration): WorkerRecord {
    const now = this.#now();
    const existing = request.nodeId ? this.workers.get(request.nodeId) : undefined;
    const id = request.nodeId || this.#freshId();
    const ownsCells = this.map.owners.includes(id);
    const record: WorkerRecord = {
      id,
      index: existing?.index ?? this.#nextIndex++,
      grpcAddress: request.grpcAddress,
      httpAddress: request.httpAddress,
      version: request.version,
      pool: request.pool,
      state: ownsCells ? "active" : "spare",
      registeredAt: now,
      lastHeartbeat: now,
      tick: 0,
      cells: [],
      ghosts: 0,
      tickP50Ms: 0,
      tickP99Ms: 0,
    };
    this.workers.set(id, record);
    this.event(existing ? "worker.rejoined" : "worker.joined", {
      worker: id,
      address: request.grpcAddress,
      pool: request.pool,
    });
    this.#maybeAssign();
    if (existing && this.map.epoch > 0) this.#publish(); // addresses may have changed
    return record;
  }

  /** Records a heartbeat; false when the worker is unknown (it must register again). */
  heartbeat(
    id: string,
    report: {
      tick: number;
      cells: CellLoad[];
      ghosts: number;
      tickP50Ms: number;
      tickP99Ms: number;
    },
  ): boolean {
    const record = this.workers.get(id);
    if (!record) return false;
    record.lastHeartbeat = this.#now();
    record.tick = report.tick;
    record.cells = report.cells;
    record.ghosts = report.ghosts;
    record.tickP50Ms = report.tickP50Ms;
    record.tickP99Ms = report.tickP99Ms;
    if (record.state === "down") {
      record.state = this.map.owners.includes(id) ? "active" : "spare";
      this.event("worker.recovered", { worker: id });
      this.#publish();
    }
    return true;
  }

  /** Marks workers whose heartbeats stopped as down; returns their ids. */
  sweep(): string[] {
    const now = this.#now();
    const downed: string[] = [];
    for (const record of this.workers.values()) {
      if (record.state !== "down" && now - record.lastHeartbeat > this.#options.workerTimeoutMs) {
        record.state = "down";
        downed.push(record.id);
        this.event("worker.down", { worker: record.id, silentMs: now - record.lastHeartbeat });
      }
    }
    if (downed.length > 0) this.#publish();
    return downed;
  }

  /** Appends a cluster event to the ring. */
  event(kind: string, fields: Record<string, unknown> = {}): ClusterEvent {
    const event: ClusterEvent = { seq: ++this.#seq, time: this.#now(), kind, ...fields };
    this.#events.push(event);
    const size = this.#options.eventRingSize ?? 1_000;
    if (this.#events.length > size) this.#events.shift();
    this.#options.onEvent?.(event);
    return event;
  }

  /** Cluster events after `since`, oldest first. */
  eventsSince(since = 0): ClusterEvent[] {
    return this.#events.filter((e) => e.seq > since);
  }

  /** Owned entity count per cell, from the latest load reports. */
  entitiesPerCell(): number[] {
    const counts = new Array<number>(this.map.owners.length).fill(0);
    for (const record of this.workers.values()) {
      if (record.state === "down") continue;
      for (const load of record.cells) {
        if (load.cell < counts.length) counts[load.cell] += load.entities;
      }
    }
    return counts;
  }

  #freshId(): string {
    let n = this.workers.size + 1;
    while (this.workers.has(`w${n}`)) n++;
    return `w${n}`;
  }

  #maybeAssign(): void {
    if (this.map.epoch > 0) return;
    const candidates = [...this.workers.values()]
      .filter((w) => w.state !== "down" && !w.pool)
      .sort((a, b) => a.index - b.index);
    if (candidates.length < this.#options.minWorkers) return;
    const ids = candidates.map((w) => w.id);
    this.map = this.map.next(assignRegions(this.#options.grid, ids));
    for (const w of candidates) w.state = "active";
    this.event("map.assigned", { epoch: this.map.epoch, workers: ids });
    this.#publish();
  }

  #publish(): void {
    this.#options.onMap?.(this.map);
  }
}
