// The coordinator's worker registry and partition map: registration, heartbeats with load
// reports, failure detection and failover (backups, fencing), the initial split once enough
// workers joined, and cluster events.
import type { LoadWeights } from "../config/config.ts";
import { CodedError, ErrorCode } from "../errors.ts";
import type { Grid } from "../world/grid.ts";
import { loadPerCell } from "./load_estimate.ts";
import { assignRegions, PartitionMap } from "../world/partition.ts";
import { type Move, planDrain } from "./balance_plan.ts";
import { assignBackups, type FaultToleranceMode, planFailover } from "./failover_plan.ts";
import type { CellLoad } from "../net/rpc.ts";

/**
 * Lifecycle of a registered worker: active (owns cells), spare (warm pool), draining (moving
 * its cells away before it exits), releasing (moving them away to return to the pool),
 * drained (owns nothing, about to exit), down (missed its heartbeats or lost its map stream:
 * its cells were given away), fenced (came back after being declared down and was refused: it
 * must register again as a spare).
 */
export type WorkerState =
  | "active"
  | "spare"
  | "draining"
  | "releasing"
  | "drained"
  | "down"
  | "fenced";

/** What {@linkcode Registry.heartbeat} made of a heartbeat. */
export type HeartbeatOutcome = "ok" | "unknown" | "fenced";

/** A cell on its way from one worker to another. */
export interface Migration {
  cell: number;
  from: string;
  to: string;
  epoch: number;
  reason: string;
  startedAt: number;
}

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
  /** Map epoch the worker last reported running under. */
  epoch: number;
  /** Cell transfers it sent and that were not acknowledged yet. */
  pendingTransfers: number;
  /** Last time it gave or took a cell. */
  lastMigrationAt: number;
  /** Handoffs it sent and that were not acknowledged yet. */
  pendingHandoffs: number;
  /** Entities it mirrors for the owners it backs up. */
  mirrored: number;
  /** The process's random incarnation from its registration ("" when it sent none). */
  incarnation: string;
  /** When its map stream broke (undefined while attached or never attached). */
  streamLostAt?: number;
  /** It took a dead worker's cells at this epoch and has not reported running it yet. */
  promotingEpoch?: number;
}

/** What a worker sends every heartbeat. */
export interface LoadReport {
  tick: number;
  epoch?: number;
  cells: CellLoad[];
  ghosts: number;
  tickP50Ms: number;
  tickP99Ms: number;
  pendingTransfers?: number;
  pendingHandoffs?: number;
  mirrored?: number;
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
  /** Down this long after its map stream broke, unless it re-attaches or beats (0 = never). */
  streamGraceMs?: number;
  /** How a worker's death is survived (default "replica"). */
  faultTolerance?: FaultToleranceMode;
  /** Weights of the load estimate (defaults: entities only). */
  load?: LoadWeights;
  /** A migration not finished after this long is reported as stalled (and forgotten). */
  migrationTimeoutMs?: number;
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
  /** Random per process ("" when the worker sends none): tells a retry from a restart. */
  incarnation?: string;
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
      existing && existing.state !== "down" && existing.state !== "fenced" &&
      this.map.owners.includes(id)
    ) {
      existing.state = "down";
      this.event("worker.down", {
        worker: id,
        silentMs: now - existing.lastHeartbeat,
        reason: "restarted",
      });
      this.#failover([id]);
    }
    // A worker that was declared down comes back as a new incarnation: it owns nothing, and a
    // fresh index keeps the entity ids it mints apart from those it minted before.
    const fenced = existing?.state === "down" || existing?.state === "fenced";
    const ownsCells = !fenced && this.map.owners.includes(id);
    const record: WorkerRecord = {
      id,
      index: existing && !fenced ? existing.index : this.#nextIndex++,
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
      epoch: 0,
      pendingTransfers: 0,
      lastMigrationAt: -Infinity,
      pendingHandoffs: 0,
      mirrored: 0,
      incarnation: request.incarnation ?? "",
    };
    this.workers.set(id, record);
    this.event(existing ? "worker.rejoined" : "worker.joined", {
      worker: id,
      address: request.grpcAddress,
      pool: request.pool,
    });
    // Otherwise publish: addresses, backups may have changed.
    if (!this.#maybeAssign() && this.map.epoch > 0) this.#publish();
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
        this.#publish();
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
    if (record.promotingEpoch !== undefined && record.epoch >= record.promotingEpoch) {
      this.event("promoted", { worker: id, epoch: record.promotingEpoch });
      record.promotingEpoch = undefined;
    }
    this.#progress(record);
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
    if (downed.length > 0) this.#failover(downed);
    return downed;
  }

  /** The dead workers' cells go to live ones (planFailover), in one epoch with new backups. */
  #failover(dead: string[]): void {
    const gone = new Set(dead);
    for (const m of [...this.migrations.values()]) {
      // A migration from or to a dead worker is settled by the failover itself.
      if (gone.has(m.from) || gone.has(m.to)) this.migrations.delete(m.cell);
    }
    if (this.map.epoch === 0) return this.#publish();
    const plan = planFailover({
      owners: this.map.owners,
      dead,
      workers: [...this.workers.values()],
      backups: this.map.backups,
      mode: this.#mode(),
    });
    const now = this.#now();
    for (const t of plan.takeovers) {
      const taker = this.workers.get(t.taker)!;
      if (taker.state === "spare") {
        taker.state = "active";
        this.event("pool.claimed", { worker: taker.id, reason: "failover" });
      }
      taker.lastMigrationAt = now;
    }
    this.map = this.map.next(plan.owners, this.#roles());
    for (const t of plan.takeovers) {
      this.workers.get(t.taker)!.promotingEpoch = this.map.epoch;
      this.event("cells.reassigned", {
        from: t.dead,
        to: t.taker,
        cells: t.cells.length,
        adoption: t.adoption,
        epoch: this.map.epoch,
      });
    }
    this.#announceBackups();
    this.#options.onMap?.(this.map);
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

  /** Load per cell from the latest reports of live workers, under the configured weights. */
  cellLoads(): Float64Array {
    const live = [...this.workers.values()].filter((w) => isCounted(w)).map((w) => w.cells);
    const weights = this.#options.load ?? { entities: 1, players: 0, interactions: 0 };
    return loadPerCell(live, this.map.owners.length, weights);
  }

  /**
   * Moves cells in one new map epoch. Every move must name a cell of `from` and a worker that
   * can take cells (active, or a spare, which becomes active); a cell already moving is a
   * CONFLICT. Returns the new map.
   */
  moveCells(moves: readonly Move[], reason: string): PartitionMap {
    if (moves.length === 0) {
      throw new CodedError(ErrorCode.BAD_REQUEST, "Cannot move cells: no moves");
    }
    const owners = [...this.map.owners];
    for (const { cell, from, to } of moves) {
      if (!Number.isSafeInteger(cell) || cell < 0 || cell >= owners.length) {
        throw new CodedError(
          ErrorCode.NOT_FOUND,
          `Cannot move cell ${cell}: the map has cells 0..${owners.length - 1}`,
        );
      }
      if (owners[cell] !== from) {
        throw new CodedError(
          ErrorCode.CONFLICT,
          `Cannot move cell ${cell}: it is owned by ${owners[cell] || "nobody"}, not ${from}`,
        );
      }
      if (this.migrations.has(cell)) {
        throw new CodedError(
          ErrorCode.CONFLICT,
          `Cannot move cell ${cell}: it is already moving to ${this.migrations.get(cell)!.to}`,
        );
      }
      const target = this.workers.get(to);
      if (!target) {
        throw new CodedError(ErrorCode.NOT_FOUND, `Cannot move cell ${cell}: no worker ${to}`);
      }
      if (target.state !== "active" && target.state !== "spare") {
        throw new CodedError(
          ErrorCode.CONFLICT,
          `Cannot move cell ${cell} to ${to}: it is ${target.state}`,
        );
      }
      if (to === from) {
        throw new CodedError(ErrorCode.CONFLICT, `Cannot move cell ${cell}: ${to} already owns it`);
      }
      owners[cell] = to;
    }
    const now = this.#now();
    this.map = this.map.next(owners);
    for (const { cell, from, to } of moves) {
      this.migrations.set(cell, { cell, from, to, epoch: this.map.epoch, reason, startedAt: now });
      const target = this.workers.get(to)!;
      if (target.state === "spare") {
        target.state = "active";
        this.event("pool.claimed", { worker: to, reason });
      }
      this.workers.get(from)!.lastMigrationAt = now;
      target.lastMigrationAt = now;
      this.event("cell.migrating", { cell, from, to, epoch: this.map.epoch, reason });
    }
    this.#publish();
    return this.map;
  }

  /**
   * Moves every cell of a worker to the other active workers. `release` returns it to the warm
   * pool afterwards; otherwise it is drained and expected to exit. NO_CAPACITY when no other
   * worker can take the cells.
   */
  drain(id: string, mode: "drain" | "release" = "drain"): Move[] {
    const record = this.workers.get(id);
    if (!record) throw new CodedError(ErrorCode.NOT_FOUND, `Cannot drain ${id}: no such worker`);
    if (record.state === "draining" || record.state === "releasing") return [];
    const targets = [...this.workers.values()]
      .filter((w) => w.id !== id && w.state === "active")
      .map((w) => w.id);
    const moves = this.map.owners.includes(id)
      ? planDrain(this.#options.grid, this.map.owners, this.cellLoads(), id, targets)
      : [];
    if (!moves) {
      throw new CodedError(
        ErrorCode.NO_CAPACITY,
        `Cannot drain ${id}: no other active worker can take its cells`,
      );
    }
    const busy = moves.find((m) => this.migrations.has(m.cell));
    if (busy) {
      throw new CodedError(
        ErrorCode.CONFLICT,
        `Cannot drain ${id}: cell ${busy.cell} is already moving`,
      );
    }
    record.state = mode === "drain" ? "draining" : "releasing";
    this.event(mode === "drain" ? "worker.draining" : "pool.releasing", {
      worker: id,
      cells: moves.length,
    });
    if (moves.length > 0) this.moveCells(moves, mode);
    else this.#publish();
    this.#progress(record);
    return moves;
  }

  /** A worker left on purpose (after draining): forget it. */
  leave(id: string): boolean {
    const record = this.workers.get(id);
    if (!record) return false;
    if (this.map.owners.includes(id)) {
      throw new CodedError(
        ErrorCode.CONFLICT,
        `Cannot leave: ${id} still owns cells; drain it first`,
      );
    }
    this.workers.delete(id);
    this.event("worker.left", { worker: id });
    this.#publish();
    return true;
  }

  /** Forgets migrations that did not finish in time (reported as stalled). */
  expireMigrations(): void {
    const now = this.#now();
    const timeout = this.#options.migrationTimeoutMs ?? 30_000;
    for (const m of this.migrations.values()) {
      if (now - m.startedAt > timeout) {
        this.migrations.delete(m.cell);
        this.event("cell.migration_stalled", {
          cell: m.cell,
          from: m.from,
          to: m.to,
          epoch: m.epoch,
        });
      }
    }
  }

  /** Finishes migrations the giver has completed, and drains that are complete. */
  #progress(record: WorkerRecord): void {
    const now = this.#now();
    for (const m of this.migrations.values()) {
      if (m.from === record.id && record.epoch >= m.epoch && record.pendingTransfers === 0) {
        this.migrations.delete(m.cell);
        record.lastMigrationAt = now;
        const taker = this.workers.get(m.to);
        if (taker) taker.lastMigrationAt = now;
        this.event("cell.migrated", {
          cell: m.cell,
          from: m.from,
          to: m.to,
          epoch: m.epoch,
          ms: now - m.startedAt,
        });
      }
    }
    const emptied = !this.map.owners.includes(record.id) && record.pendingTransfers === 0 &&
      record.epoch >= this.map.epoch;
    if (record.state === "draining" && emptied) {
      record.state = "drained";
      this.event("worker.drained", { worker: record.id });
      this.#publish();
    } else if (record.state === "releasing" && emptied) {
      record.state = "spare";
      this.event("pool.released", { worker: record.id });
      this.#publish();
    }
  }

  /** Owned entity count per cell, from the latest load reports. */
  entitiesPerCell(): number[] {
    const counts = new Array<number>(this.map.owners.length).fill(0);
    for (const record of this.workers.values()) {
      if (!isCounted(record)) continue;
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

  /** The initial split, once enough workers joined; true when it happened now. */
  #maybeAssign(): boolean {
    if (this.map.epoch > 0) return false;
    const candidates = [...this.workers.values()]
      .filter((w) => w.state !== "down" && !w.pool)
      .sort((a, b) => a.index - b.index);
    if (candidates.length < this.#options.minWorkers) return false;
    const ids = candidates.map((w) => w.id);
    for (const w of candidates) w.state = "active";
    this.map = this.map.next(assignRegions(this.#options.grid, ids), this.#roles());
    this.event("map.assigned", { epoch: this.map.epoch, workers: ids });
    this.#announceBackups();
    this.#options.onMap?.(this.map);
    return true;
  }

  #mode(): FaultToleranceMode {
    return this.#options.faultTolerance ?? "replica";
  }

  /** Backups and down workers as they follow from the workers' states now. */
  #roles(): { backups: Map<string, string>; down: Set<string> } {
    const workers = [...this.workers.values()];
    const backups = this.#mode() === "replica"
      ? assignBackups(workers, this.map.backups)
      : new Map<string, string>();
    const down = new Set(
      workers.filter((w) => w.state === "down" || w.state === "fenced").map((w) => w.id),
    );
    return { backups, down };
  }

  #announced = new Map<string, string>();
  #announceBackups(): void {
    for (const [owner, backup] of this.map.backups) {
      if (this.#announced.get(owner) === backup) continue;
      this.event("backup.assigned", { owner, backup, epoch: this.map.epoch });
    }
    this.#announced = new Map(this.map.backups);
  }

  /**
   * Publishes the map; when backups or down workers changed (a worker joined, left, died,
   * rejoined), first moves it to a new epoch carrying them: workers act on roles by epoch.
   */
  #publish(): void {
    if (this.map.epoch > 0) {
      const roles = this.#roles();
      if (!sameRoles(this.map.backups, roles.backups) || !sameSet(this.map.down, roles.down)) {
        this.map = this.map.next(this.map.owners, roles);
        this.#announceBackups();
      }
    }
    this.#options.onMap?.(this.map);
  }
}

/** Down and fenced workers' reports are stale: their cells belong to others now. */
function isCounted(record: WorkerRecord): boolean {
  return record.state !== "down" && record.state !== "fenced";
}

function sameRoles(a: ReadonlyMap<string, string>, b: ReadonlyMap<string, string>): boolean {
  if (a.size !== b.size) return false;
  for (const [k, v] of a) if (b.get(k) !== v) return false;
  return true;
}

function sameSet(a: ReadonlySet<string>, b: ReadonlySet<string>): boolean {
  return a.size === b.size && [...a].every((x) => b.has(x));
}
