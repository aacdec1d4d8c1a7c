// The coordinator's worker registry and partition map: registration, heartbeats with load
// reports, failure detection and failover (backups, fencing), the initial split once enough
// workers joined, and cluster events.
import type { LoadWeights } from "../config/config.ts";
import { CodedError, ErrorCode } from "../errors.ts";
import type { Grid } from "../world/grid.ts";
import { loadPerCell } from "./load_estimate.ts";
import { assignRegions, PartitionMap } from "../world/partition.ts";
import type { Move } from "./balance_plan.ts";
import type { FaultToleranceMode } from "./failover_plan.ts";
import { type ClusterEvent, ClusterEvents } from "./cluster_events.ts";
import { Failover } from "./failover.ts";
import {
  drainWorker,
  expireMigrations,
  type InstanceHosts,
  moveCells,
  moveInstance,
  progressMigrations,
} from "./cell_migrations.ts";
import type { RegistryParts } from "./registry_parts.ts";
import {
  beforeFirstReport,
  type HeartbeatOutcome,
  isCounted,
  type LoadReport,
  type Migration,
  type Registration,
  type WorkerRecord,
} from "./worker_record.ts";

export type {
  HeartbeatOutcome,
  LoadReport,
  Migration,
  Registration,
  WorkerRecord,
  WorkerState,
} from "./worker_record.ts";
export type { ClusterEvent } from "./cluster_events.ts";

/** Options of {@linkcode Registry}. */
export interface RegistryOptions {
  grid: Grid;
  minWorkers: number;
  workerTimeoutMs: number;
  /** Down this long after its map stream broke, unless it re-attaches or beats (0 = never). */
  streamGraceMs?: number;
  /** How a worker's death is survived (default "replica"). */
  faultTolerance?: FaultToleranceMode;
  /** Weights of the load estimate (defaults: entities only). */
  load?: LoadWeights;
  /** The instances (rooms) on workers: drains move them, failovers give them to backups. */
  instances?: InstanceHosts;
  /** A migration not finished after this long is reported as stalled (and forgotten). */
  migrationTimeoutMs?: number;
  now?: () => number;
  eventRingSize?: number;
  onMap?: (map: PartitionMap) => void;
  onEvent?: (event: ClusterEvent) => void;
}

/** The coordinator's state machine; transport-free so it is tested with a fake clock. */
export class Registry {
  readonly workers = new Map<string, WorkerRecord>();
  /** Cells being moved, by cell. */
  readonly migrations = new Map<number, Migration>();
  map: PartitionMap;
  #options: RegistryOptions;
  #now: () => number;
  #nextIndex = 1;
  #events: ClusterEvents;
  #failover: Failover;
  #parts: RegistryParts;

  constructor(options: RegistryOptions) {
    this.#options = options;
    this.#now = options.now ?? Date.now;
    this.map = PartitionMap.empty(options.grid.cellCount);
    this.#events = new ClusterEvents(
      this.#now,
      options.eventRingSize,
      (event) => options.onEvent?.(event),
    );
    // deno-lint-ignore no-this-alias -- the parts are a long-lived view of this registry
    const registry = this;
    this.#parts = {
      workers: this.workers,
      migrations: this.migrations,
      get map() {
        return registry.map;
      },
      set map(map: PartitionMap) {
        registry.map = map;
      },
      options,
      now: this.#now,
      event: (kind, fields) => this.event(kind, fields),
      publish: () => this.#failover.publish(),
      cellLoads: () => this.cellLoads(),
    };
    this.#failover = new Failover(this.#parts);
  }

  /** The next worker index to hand out (part of the durable state: indexes mint entity ids). */
  get nextIndex(): number {
    return this.#nextIndex;
  }

  /**
   * Takes over a stored state (a restart, a standby's takeover): the map, the workers (each
   * given a full heartbeat timeout from now to beat again) and migrations in flight. The map
   * moves on to a new epoch with the same owners, so no epoch number is ever announced twice.
   */
  restore(
    state: {
      map: PartitionMap;
      workers: WorkerRecord[];
      migrations: Migration[];
      nextIndex: number;
    },
    reason: string,
    /** The new epoch is at least this (a takeover starts its term's epochs above the last's). */
    minEpoch = 0,
  ): void {
    this.workers.clear();
    for (const worker of state.workers) this.workers.set(worker.id, worker);
    this.migrations.clear();
    for (const m of state.migrations) this.migrations.set(m.cell, m);
    this.#nextIndex = Math.max(state.nextIndex, ...state.workers.map((w) => w.index + 1));
    const m = state.map;
    this.map = m.epoch > 0
      ? new PartitionMap(Math.max(m.epoch + 1, minEpoch), m.owners, {
        backups: m.backups,
        down: m.down,
      })
      : m;
    this.event("coordinator.restored", {
      reason,
      epoch: this.map.epoch,
      storedEpoch: state.map.epoch,
      workers: state.workers.length,
    });
  }

  /** Registers (or re-registers after a restart) a worker and returns its record. */
  register(request: Registration): WorkerRecord {
    const now = this.#now();
    const existing = request.nodeId ? this.workers.get(request.nodeId) : undefined;
    const id = request.nodeId || this.#freshId();
    // The same process asking again (its first answer was lost or came after its deadline):
    // answer as before rather than take it for a restart and fail its cells over.
    if (
      existing && request.incarnation && existing.incarnation === request.incarnation &&
      existing.state !== "down" && existing.state !== "fenced"
    ) {
      existing.lastHeartbeat = now;
      return existing;
    }
    // A live worker registers only once (again only when we forgot it, or fenced): a second
    // registration is a new process under the same id, so the one that owned cells is dead,
    // even if its heartbeats had not yet run out.
    if (
      existing && existing.state !== "down" && existing.state !== "fenced" && this.#hosts(id)
    ) {
      existing.state = "down";
      this.event("worker.down", {
        worker: id,
        silentMs: now - existing.lastHeartbeat,
        reason: "restarted",
      });
      this.#failover.failover([id]);
    }
    // A worker that was declared down comes back as a new incarnation: it owns nothing, and a
    // fresh index keeps the entity ids it mints apart from those it minted before.
    const fenced = existing?.state === "down" || existing?.state === "fenced";
    const ownsCells = !fenced && this.#hosts(id);
    const record: WorkerRecord = {
      id,
      index: existing && !fenced ? existing.index : this.#nextIndex++,
      grpcAddress: request.grpcAddress,
      httpAddress: request.httpAddress,
      version: request.version,
      gameVersion: request.gameVersion ?? "",
      region: request.region ?? "",
      pool: request.pool,
      state: ownsCells ? "active" : "spare",
      registeredAt: now,
      ...beforeFirstReport(now),
      incarnation: request.incarnation ?? "",
    };
    this.workers.set(id, record);
    this.event(existing ? "worker.rejoined" : "worker.joined", {
      worker: id,
      address: request.grpcAddress,
      pool: request.pool,
    });
    // Otherwise publish: addresses, backups may have changed.
    if (!this.#maybeAssign() && this.map.epoch > 0) this.#failover.publish();
    return record;
  }

  /**
   * Records a heartbeat. "unknown": the worker must register again; "fenced": it was declared
   * down and its cells given away, so nothing it reports counts: it must drop its state and
   * register again as a spare.
   */
  heartbeat(id: string, report: LoadReport): HeartbeatOutcome {
    const record = this.workers.get(id);
    if (!record) return "unknown";
    if (record.state === "down" || record.state === "fenced") {
      if (record.state === "down") {
        record.state = "fenced";
        this.event("worker.fenced", { worker: id, epoch: this.map.epoch, reported: report.epoch });
        this.#failover.publish();
      }
      return "fenced";
    }
    record.lastHeartbeat = this.#now();
    record.streamLostAt = undefined;
    record.tick = report.tick;
    record.cells = report.cells;
    record.ghosts = report.ghosts;
    record.tickP50Ms = report.tickP50Ms;
    record.tickP99Ms = report.tickP99Ms;
    record.epoch = report.epoch ?? record.epoch;
    record.pendingTransfers = report.pendingTransfers ?? 0;
    record.pendingHandoffs = report.pendingHandoffs ?? 0;
    record.mirrored = report.mirrored ?? 0;
    record.handoffsOut = report.handoffsOut ?? record.handoffsOut;
    if (record.promotingEpoch !== undefined && record.epoch >= record.promotingEpoch) {
      this.event("promoted", { worker: id, epoch: record.promotingEpoch });
      record.promotingEpoch = undefined;
    }
    progressMigrations(this.#parts, record);
    return "ok";
  }

  /** A worker's map stream is open (again). */
  streamAttached(id: string): void {
    const record = this.workers.get(id);
    if (record) record.streamLostAt = undefined;
  }

  /** A worker's map stream broke: unless it comes back or beats, it is down after the grace. */
  streamLost(id: string): void {
    const record = this.workers.get(id);
    if (record && record.state !== "down" && record.state !== "fenced") {
      record.streamLostAt = this.#now();
    }
  }

  /**
   * Marks workers whose heartbeats stopped (or whose map stream broke and stayed broken) as
   * down, and gives their cells to live workers in one new map epoch; returns their ids.
   */
  sweep(): string[] {
    const now = this.#now();
    const downed: string[] = [];
    const grace = this.#options.streamGraceMs ?? 0;
    for (const record of this.workers.values()) {
      if (record.state === "down" || record.state === "fenced") continue;
      const silentMs = now - record.lastHeartbeat;
      const streamLost = grace > 0 && record.streamLostAt !== undefined &&
        now - record.streamLostAt > grace;
      if (silentMs > this.#options.workerTimeoutMs || streamLost) {
        record.state = "down";
        downed.push(record.id);
        this.event("worker.down", {
          worker: record.id,
          silentMs,
          reason: silentMs > this.#options.workerTimeoutMs ? "heartbeat" : "stream",
        });
      }
    }
    if (downed.length > 0) this.#failover.failover(downed);
    return downed;
  }

  /** Appends a cluster event to the ring. */
  event(kind: string, fields: Record<string, unknown> = {}): ClusterEvent {
    return this.#events.push(kind, fields);
  }

  /** Cluster events after `since`, oldest first. */
  eventsSince(since = 0): ClusterEvent[] {
    return this.#events.since(since);
  }

  /** Load per cell from the latest reports of live workers, under the configured weights. */
  cellLoads(): Float64Array {
    const live = [...this.workers.values()].filter((w) => isCounted(w)).map((w) => w.cells);
    const weights = this.#options.load ?? { entities: 1, players: 0, interactions: 0 };
    return loadPerCell(live, this.map.owners.length, weights);
  }

  /** A worker left on purpose (after draining): forget it. */
  leave(id: string): boolean {
    const record = this.workers.get(id);
    if (!record) return false;
    if (this.#hosts(id)) {
      throw new CodedError(
        ErrorCode.CONFLICT,
        `Cannot leave: ${id} still owns cells or instances; drain it first`,
      );
    }
    this.workers.delete(id);
    this.event("worker.left", { worker: id });
    this.#failover.publish();
    return true;
  }

  /**
   * Moves cells in one new map epoch. Every move must name a cell of `from` and a worker that
   * can take cells (active, or a spare, which becomes active); a cell already moving is a
   * CONFLICT. Returns the new map.
   */
  moveCells(moves: readonly Move[], reason: string): PartitionMap {
    return moveCells(this.#parts, moves, reason);
  }

  /**
   * Moves instance `id` to worker `to` in one new map epoch (its host hands it over whole, as
   * a cell). INSTANCE_NOT_FOUND, NOT_FOUND (no such worker) or CONFLICT.
   */
  moveInstance(
    id: string,
    to: string,
    reason = "api",
  ): { from: string; to: string; epoch: number } {
    return moveInstance(this.#parts, id, to, reason);
  }

  /**
   * Moves every cell of a worker to the other active workers. `release` returns it to the warm
   * pool afterwards; otherwise it is drained and expected to exit. NO_CAPACITY when no other
   * worker can take the cells.
   */
  drain(id: string, mode: "drain" | "release" = "drain"): Move[] {
    return drainWorker(this.#parts, id, mode);
  }

  /** Forgets migrations that did not finish in time (reported as stalled). */
  expireMigrations(): void {
    expireMigrations(this.#parts);
  }

  /** Owned entity count per cell, from the latest load reports. */
  entitiesPerCell(): number[] {
    return this.perCell("entities");
  }

  /** One figure of the latest load reports per cell (entities, players or interactions/s). */
  perCell(key: "entities" | "players" | "interactions"): number[] {
    const counts = new Array<number>(this.map.owners.length).fill(0);
    for (const record of this.workers.values()) {
      if (!isCounted(record)) continue;
      for (const load of record.cells) {
        if (load.cell < counts.length) counts[load.cell] += load[key];
      }
    }
    return counts;
  }

  /** True when `id` owns cells or hosts instances. */
  #hosts(id: string): boolean {
    return this.map.owners.includes(id) || (this.#options.instances?.on(id).length ?? 0) > 0;
  }

  #freshId(): string {
    let n = this.workers.size + 1;
    while (this.workers.has(`w${n}`)) n++;
    return `w${n}`;
  }

  /** The initial split, once enough workers joined; true when it happened now. */
  #maybeAssign(): boolean {
    if (this.map.epoch > 0) return false;
    const candidates = [...this.workers.values()]
      .filter((w) => w.state !== "down" && !w.pool)
      .sort((a, b) => a.index - b.index);
    if (candidates.length < this.#options.minWorkers) return false;
    const ids = candidates.map((w) => w.id);
    for (const w of candidates) w.state = "active";
    this.map = this.map.next(assignRegions(this.#options.grid, ids), this.#failover.roles());
    this.event("map.assigned", { epoch: this.map.epoch, workers: ids });
    this.#failover.announceBackups();
    this.#options.onMap?.(this.map);
    return true;
  }
}
