// The one place that makes the coordinator's state durable: captures the live registry, gateway
// directory, autoscale settings, instance and user directories and deploy records as a
// DurableState, appends what changed since the last
// capture to the state file (commit, called before anything is announced or answered), writes
// periodic snapshots, and loads a stored state back into the live objects.
import type { AutoscaleConfig } from "../config/config.ts";
import { PartitionMap } from "../world/partition.ts";
import { Buffer } from "node:buffer";
import {
  applyChange,
  diffState,
  type DurableDeploys,
  type DurableGateway,
  type DurableInstance,
  type DurableRooms,
  type DurableState,
  type DurableUser,
  type DurableWorker,
  emptyState,
  type StateChange,
} from "./durable_state.ts";
import type { InstanceDirectory, InstanceRecord, UserRecord } from "./instance_directory.ts";
import { decode, encode } from "../protocol/msgpack.ts";
import type { GatewayDirectory } from "./gateway_directory.ts";
import type { Registry } from "./registry.ts";
import type { LogEntry, StateStore } from "./state_store.ts";
import { beforeFirstReport, type WorkerRecord } from "./worker_record.ts";
import type { Implementation, UnaryCallback } from "../net/rpc_server.ts";

/** Log entries between two snapshots unless told otherwise. */
export const SNAPSHOT_EVERY = 500;

/**
 * A takeover in term T starts its map epochs at T × 2^32: every map of the new term is newer
 * than any the old active could still announce (cut off from its standby, before it hears of
 * the new term), so workers ignore the old one's maps. 2^32 epochs per term, 2^21 terms fit in
 * a safe integer.
 */
export const TERM_EPOCH_STRIDE = 2 ** 32;

/** Options of {@linkcode CoordinatorState}. */
export interface CoordinatorStateOptions {
  store: StateStore;
  registry: Registry;
  gateways: GatewayDirectory;
  /** The balancer's live autoscale settings (changed by the control API). */
  autoscale: { get(): AutoscaleConfig; set(value: AutoscaleConfig): void };
  /** The world spec handed to workers: its tick 0 is kept from the first run on. */
  world: { worldStartMs: number };
  /** The instance and user directories (rooms), when this coordinator keeps them. */
  instances?: InstanceDirectory;
  /** The deploy records and runs (src/cluster/deploys.ts), when this coordinator keeps them. */
  deploys?: { durable(): DurableDeploys; restore(stored: DurableDeploys): void };
  /** Entries between snapshots (default {@linkcode SNAPSHOT_EVERY}). */
  snapshotEvery?: number;
  now?: () => number;
}

/** The durable side of one coordinator. */
export class CoordinatorState {
  /** The coordinator's term (raised by each takeover). */
  term = 1;
  /** gRPC address of the other coordinator of the pair, once known. */
  peer = "";
  #o: CoordinatorStateOptions;
  #last: DurableState;
  #listeners = new Set<(entries: LogEntry[]) => void>();

  constructor(options: CoordinatorStateOptions) {
    this.#o = options;
    this.#last = emptyState(
      options.registry.map.owners.length,
      options.autoscale.get(),
      options.world.worldStartMs,
    );
  }

  get store(): StateStore {
    return this.#o.store;
  }

  /** The state as of the last commit. */
  get committed(): DurableState {
    return this.#last;
  }

  /** Calls `listener` with the entries of every commit (log shipping); returns its remover. */
  onAppend(listener: (entries: LogEntry[]) => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  /**
   * Reads the stored state back without making it live (a standby must not write to its log
   * before it follows); undefined when the file was new (then the empty state is written as
   * snapshot 0).
   */
  read(): DurableState | undefined {
    const loaded = this.#o.store.load();
    if (loaded) return loaded.state;
    this.#last = this.capture();
    this.#o.instances?.clearChanges();
    this.#o.store.snapshot(this.#last);
    return undefined;
  }

  /** Reads the stored state and makes it live (a lone coordinator's restart); false if none. */
  load(reason: string): boolean {
    const stored = this.read();
    if (stored) this.adopt(stored, reason);
    return stored !== undefined;
  }

  /**
   * Makes `state` the live one (a restart or a takeover, which passes its new term and its
   * peer), then commits it with the map in a new epoch.
   */
  adopt(state: DurableState, reason: string, changed: { term?: number; peer?: string } = {}): void {
    const { registry, gateways, autoscale } = this.#o;
    const now = (this.#o.now ?? Date.now)();
    this.term = changed.term ?? state.term;
    this.peer = changed.peer ?? state.peer;
    autoscale.set({ ...state.autoscale });
    this.#o.world.worldStartMs = state.worldStartMs;
    gateways.gateways.clear();
    for (const g of Object.values(state.gateways)) {
      gateways.gateways.set(g.id, { ...g, sessions: 0, bytesOut: 0, lastHeartbeat: now });
    }
    const m = state.map;
    registry.restore(
      {
        map: new PartitionMap(m.epoch, m.owners, {
          backups: new Map(m.backups),
          down: new Set(m.down),
        }),
        workers: Object.values(state.workers).map((w) => liveWorker(w, now)),
        migrations: structuredClone(state.migrations),
        nextIndex: state.nextIndex,
      },
      reason,
      changed.term !== undefined ? changed.term * TERM_EPOCH_STRIDE : 0,
    );
    this.#o.instances?.restore(
      state.rooms.seq,
      Object.values(state.rooms.instances).map(liveInstance),
      Object.values(state.rooms.users).map((u) => structuredClone(u)),
    );
    this.#o.deploys?.restore(state.deploys);
    this.#last = state;
    this.commit();
  }

  /** The live state now (the rooms read whole from the directory). */
  capture(): DurableState {
    const d = this.#o.instances;
    const rooms: DurableRooms = d
      ? { seq: d.seq, instances: {}, users: {} }
      : structuredClone(this.#last.rooms);
    if (d) {
      for (const r of d.all()) rooms.instances[r.id] = durableInstance(r);
      for (const u of d.userRecords()) rooms.users[u.user] = durableUser(u);
    }
    return { ...this.#captureRest(), rooms };
  }

  /** Everything but the rooms, now. */
  #captureRest(): Omit<DurableState, "rooms"> {
    const { registry, gateways, autoscale } = this.#o;
    const map = registry.map;
    const last = this.#last;
    const workers: Record<string, DurableWorker> = {};
    for (const w of registry.workers.values()) workers[w.id] = durableWorker(w);
    const durableGateways: Record<string, DurableGateway> = {};
    for (const g of gateways.gateways.values()) {
      durableGateways[g.id] = { id: g.id, httpAddress: g.httpAddress, version: g.version };
    }
    return {
      term: this.term,
      nextIndex: registry.nextIndex,
      // A map is immutable within its epoch: only a new epoch is copied.
      map: last.map.epoch === map.epoch && last.map.owners.length === map.owners.length
        ? last.map
        : {
          epoch: map.epoch,
          owners: [...map.owners],
          backups: [...map.backups],
          down: [...map.down],
        },
      workers,
      gateways: durableGateways,
      migrations: [...registry.migrations.values()].map((m) => ({ ...m })),
      autoscale: { ...autoscale.get() },
      peer: this.peer,
      worldStartMs: this.#o.world.worldStartMs,
      deploys: this.#o.deploys?.durable() ?? last.deploys,
    };
  }

  /**
   * The rooms' changes since the last commit, from the ids the directory marked: a commit
   * costs what changed, not the size of the directory.
   */
  #roomChanges(last: DurableRooms): StateChange[] {
    const d = this.#o.instances;
    if (!d) return [];
    const changes: StateChange[] = [];
    if (d.seq !== last.seq) changes.push({ kind: "instance.seq", seq: d.seq });
    for (const id of d.changes.instances) {
      const record = d.get(id);
      if (!record) {
        if (Object.hasOwn(last.instances, id)) changes.push({ kind: "instance.removed", id });
        continue;
      }
      const instance = durableInstance(record);
      if (!same(last.instances[id], instance)) changes.push({ kind: "instance", instance });
    }
    for (const id of d.changes.users) {
      const record = d.user(id);
      if (!record) {
        if (Object.hasOwn(last.users, id)) changes.push({ kind: "user.removed", id });
        continue;
      }
      const user = durableUser(record);
      if (!same(last.users[id], user)) changes.push({ kind: "user", user });
    }
    return changes;
  }

  /**
   * Appends what changed since the last commit to the state file (durable when this returns)
   * and passes the entries to the log's listeners; returns the index of the last entry.
   */
  commit(): number {
    // The rooms are carried over and changed in place: copying them would cost their size.
    const next: DurableState = { ...this.#captureRest(), rooms: this.#last.rooms };
    const changes = diffState(this.#last, next);
    const roomChanges = this.#roomChanges(next.rooms);
    changes.push(...roomChanges);
    const store = this.#o.store;
    if (changes.length === 0) return store.last.index;
    const first = store.last.index + 1;
    const index = store.append(changes, this.term);
    for (const change of roomChanges) applyChange(next, change);
    this.#last = next;
    this.#o.instances?.clearChanges();
    if (store.sinceSnapshot >= (this.#o.snapshotEvery ?? SNAPSHOT_EVERY)) store.snapshot(next);
    const entries = changes.map((change, i) => ({ index: first + i, term: this.term, change }));
    for (const listener of this.#listeners) listener(entries);
    return index;
  }
}

function same(a: unknown, b: unknown): boolean {
  return JSON.stringify(a) === JSON.stringify(b);
}

function durableWorker(w: WorkerRecord): DurableWorker {
  const out: DurableWorker = {
    id: w.id,
    index: w.index,
    grpcAddress: w.grpcAddress,
    httpAddress: w.httpAddress,
    version: w.version,
    gameVersion: w.gameVersion,
    region: w.region,
    pool: w.pool,
    state: w.state,
    incarnation: w.incarnation,
    registeredAt: w.registeredAt,
  };
  if (w.promotingEpoch !== undefined) out.promotingEpoch = w.promotingEpoch;
  return out;
}

function durableInstance(r: InstanceRecord): DurableInstance {
  return {
    id: r.id,
    seq: r.seq,
    mode: r.mode,
    options: Buffer.from(encode(r.options ?? null)).toString("base64"),
    maxPlayers: r.maxPlayers,
    private: r.private,
    tags: [...r.tags],
    version: r.version,
    worker: r.worker,
    region: r.region,
    moves: r.moves,
    owner: r.owner,
    createdAt: r.createdAt,
    players: [...r.players],
    emptySince: r.emptySince,
  };
}

function durableUser(u: UserRecord): DurableUser {
  const out: DurableUser = { user: u.user, gateway: u.gateway, instance: u.instance };
  if (u.world) out.world = { ...u.world };
  if (u.lostAt !== undefined) out.lostAt = u.lostAt;
  return out;
}

/** A stored instance as a live record (its options decoded back to what the workers get). */
function liveInstance(i: DurableInstance): InstanceRecord {
  const options = decode(Buffer.from(i.options, "base64")); // checked by parseState
  return {
    ...i,
    moves: i.moves ?? 0,
    region: i.region ?? "",
    tags: [...i.tags],
    options,
    players: new Set(i.players),
  };
}

/** A stored worker as a live record: it has a full timeout from `now` to beat again. */
function liveWorker(w: DurableWorker, now: number): WorkerRecord {
  return { ...w, ...beforeFirstReport(now) };
}

/**
 * Wraps each unary handler so its answer goes out only once what the call changed is durable
 * (`whenDurable` commits and runs its callback then): a worker never holds an id, an index or
 * an epoch that a restart or a takeover would not know.
 */
export function answerAfterCommit(
  handlers: Implementation,
  whenDurable: (answer: () => void) => void,
): Implementation {
  const wrapped: Implementation = {};
  for (const [method, handler] of Object.entries(handlers)) {
    wrapped[method] = (call: unknown, callback?: UnaryCallback<unknown>) => {
      if (!callback) return handler(call);
      return handler(
        call,
        (error: Parameters<typeof callback>[0], value?: unknown) =>
          whenDurable(() => callback(error, value)),
      );
    };
  }
  return wrapped;
}
