// The coordinator's directories of rooms: instances (indexed by mode, tags, open slots, game
// version, worker and region, created time through the creation order; searched in creation order with a paging cursor through the indexes),
// their seats (a reservation is taken here, in one place, so two players cannot take the last
// one), and users (online, on which gateway, in the world or in which instance). In memory,
// with the ids of what changed since the coordinator's last commit (coordinator_state.ts makes
// them durable) and a restore that rebuilds every index from stored records.
import { CodedError, ErrorCode } from "../errors.ts";
import { InstanceIndexes, type InstanceQuery } from "./instance_indexes.ts";
import type { InstanceRecord, InstanceRow, UserRecord } from "./instance_records.ts";

export type { InstanceRecord, InstanceRow, UserRecord } from "./instance_records.ts";

export { type InstanceQuery, MAX_PAGE } from "./instance_indexes.ts";

/** Options of {@linkcode InstanceDirectory}. */
export interface InstanceDirectoryOptions {
  /** An empty instance is destroyed once it was empty this long. */
  emptyGraceMs: number;
  /**
   * Users of a gateway declared down go offline (their seats freed) after this long unless
   * they resume elsewhere first (default 15 000 ms: the gateways' resume grace).
   */
  lostGraceMs?: number;
  now?: () => number;
}

/** The instance and user directories of one coordinator. */
export class InstanceDirectory {
  readonly #byId = new Map<string, InstanceRecord>();
  readonly #indexes = new InstanceIndexes();
  readonly #users = new Map<string, UserRecord>();
  readonly #usersByGateway = new Map<string, Set<string>>();
  /** Instances with no seat taken, oldest emptiness first. */
  readonly #empty = new Set<InstanceRecord>();
  #workerSeats = new Map<string, number>();
  #lostGateways = new Set<string>();
  #workerInstances = new Map<string, number>();
  #seq = 0;
  /** Instances and users changed since the last {@linkcode clearChanges}. */
  readonly #changed = { instances: new Set<string>(), users: new Set<string>() };
  #o: InstanceDirectoryOptions;
  #now: () => number;

  constructor(options: InstanceDirectoryOptions) {
    this.#o = options;
    this.#now = options.now ?? Date.now;
  }

  /** Live instances. */
  get size(): number {
    return this.#byId.size;
  }

  /** The newest sequence number minted (workers drop hosted instances older than a list). */
  get seq(): number {
    return this.#seq;
  }

  get(id: string): InstanceRecord | undefined {
    return this.#byId.get(id);
  }

  /** Every live instance, in creation order. */
  all(): IterableIterator<InstanceRecord> {
    return this.#indexes.all();
  }

  /** Seats taken on each worker (for placement). */
  seatsOn(worker: string): number {
    return this.#workerSeats.get(worker) ?? 0;
  }

  /** Instances placed on `worker`. */
  countOn(worker: string): number {
    return this.#workerInstances.get(worker) ?? 0;
  }

  /** Registers a new, empty instance; its owner takes a seat with {@linkcode reserve}. */
  create(
    spec:
      & Omit<
        InstanceRecord,
        "id" | "seq" | "createdAt" | "players" | "emptySince" | "moves" | "region"
      >
      & { region?: string },
  ) {
    const seq = ++this.#seq;
    const now = this.#now();
    const record: InstanceRecord = {
      ...spec,
      region: spec.region ?? "",
      tags: [...new Set(spec.tags)],
      id: `i${seq.toString(36)}`,
      seq,
      createdAt: now,
      players: new Set(),
      emptySince: now,
      moves: 0,
    };
    this.#insert(record);
    return record;
  }

  /**
   * Names `worker` (of `region`) as the host of instance `id` (a live move or a failover): the
   * worker and region indexes, seat and instance counts follow, and its move count goes up.
   * INSTANCE_NOT_FOUND when gone.
   */
  relocate(id: string, worker: string, region = ""): InstanceRecord {
    const record = this.#byId.get(id);
    if (!record) {
      throw new CodedError(ErrorCode.INSTANCE_NOT_FOUND, `No instance ${JSON.stringify(id)}`);
    }
    const from = record.worker;
    if (from === worker) return record;
    this.#workerInstances.set(from, this.countOn(from) - 1);
    this.#workerSeats.set(from, this.seatsOn(from) - record.players.size);
    this.#indexes.moveWorker(record, worker, region);
    record.moves++;
    this.#workerInstances.set(worker, this.countOn(worker) + 1);
    this.#workerSeats.set(worker, this.seatsOn(worker) + record.players.size);
    this.#changed.instances.add(id);
    return record;
  }

  /**
   * Replaces every instance and user with stored ones (a restart or a takeover): the indexes,
   * seat counts and empty list are rebuilt from the records; `seq` is the newest creation
   * number ever minted.
   */
  restore(seq: number, instances: Iterable<InstanceRecord>, users: Iterable<UserRecord>): void {
    for (const map of [this.#byId, this.#users, this.#usersByGateway]) map.clear();
    this.#indexes.clear();
    this.#empty.clear();
    this.#workerSeats.clear();
    this.#workerInstances.clear();
    this.#lostGateways.clear();
    this.#seq = seq;
    for (const record of [...instances].sort((a, b) => a.seq - b.seq)) {
      this.#insert(record);
      this.#workerSeats.set(record.worker, this.seatsOn(record.worker) + record.players.size);
      if (record.players.size > 0) this.#empty.delete(record);
    }
    for (const user of users) {
      this.#users.set(user.user, user);
      let set = this.#usersByGateway.get(user.gateway);
      if (!set) this.#usersByGateway.set(user.gateway, set = new Set());
      set.add(user.user);
      if (user.lostAt !== undefined) this.#lostGateways.add(user.gateway);
    }
    this.clearChanges();
  }

  /** Ids of the instances and users changed (created, seated, moved, removed) since the last clear. */
  get changes(): { readonly instances: ReadonlySet<string>; readonly users: ReadonlySet<string> } {
    return this.#changed;
  }

  /** Forgets the changes (they are durable now). */
  clearChanges(): void {
    this.#changed.instances.clear();
    this.#changed.users.clear();
  }

  #insert(record: InstanceRecord): void {
    this.#changed.instances.add(record.id);
    this.#byId.set(record.id, record);
    this.#empty.add(record);
    this.#workerInstances.set(record.worker, this.countOn(record.worker) + 1);
    this.#indexes.add(record);
  }

  /**
   * Takes a seat of instance `id` for `user` (on `gateway`), giving up the seat it held
   * elsewhere. Throws INSTANCE_NOT_FOUND, WRONG_VERSION or INSTANCE_FULL. A user already
   * seated there keeps its seat.
   */
  reserve(
    id: string,
    user: string,
    gateway: string,
    options: { version?: string; world?: { x: number; y: number; z: number } } = {},
  ): InstanceRecord {
    const record = this.#byId.get(id);
    if (!record) {
      throw new CodedError(ErrorCode.INSTANCE_NOT_FOUND, `No instance ${JSON.stringify(id)}`);
    }
    if (options.version !== undefined && options.version !== record.version) {
      throw new CodedError(
        ErrorCode.WRONG_VERSION,
        `Instance ${id} runs game version ${record.version}, not ${options.version}`,
      );
    }
    if (record.players.has(user)) return record;
    if (record.players.size >= record.maxPlayers) {
      throw new CodedError(
        ErrorCode.INSTANCE_FULL,
        `Instance ${id} is full (${record.maxPlayers} players)`,
      );
    }
    const previous = this.#users.get(user);
    const world = previous?.instance ? previous.world : options.world ?? previous?.world;
    if (previous?.instance) this.#leaveSeat(previous.instance, user);
    record.players.add(user);
    this.#seatsChanged(record, +1);
    this.online(user, gateway, { instance: id, world });
    return record;
  }

  /**
   * The oldest public instance of `mode` (and `version`, `region`, when given) with a free seat
   * that `accept` takes (all, when not given), or undefined: quick-join creates one then.
   */
  findOpen(
    mode: string,
    version?: string,
    accept: (record: InstanceRecord) => boolean = () => true,
    region?: string,
  ): InstanceRecord | undefined {
    return this.#indexes.findOpen(mode, version, accept, region);
  }

  /** The user gives up its seat; returns where it was and its last world position. */
  release(user: string): UserRecord | undefined {
    const record = this.#users.get(user);
    if (!record?.instance) return record;
    const left = { ...record };
    this.#leaveSeat(record.instance, user);
    record.instance = "";
    this.#changed.users.add(user);
    return left;
  }

  /** Removes an instance (its seats are freed; the worker disposes of it). NOT_ALLOWED for others. */
  destroy(id: string, by?: string): InstanceRecord {
    const record = this.#byId.get(id);
    if (!record) {
      throw new CodedError(ErrorCode.INSTANCE_NOT_FOUND, `No instance ${JSON.stringify(id)}`);
    }
    if (by !== undefined && by !== record.owner) {
      throw new CodedError(ErrorCode.NOT_ALLOWED, `Only the owner may destroy instance ${id}`);
    }
    for (const user of record.players) {
      const u = this.#users.get(user);
      if (u?.instance === id) u.instance = "";
      this.#changed.users.add(user);
    }
    this.#changed.instances.add(id);
    this.#seatsChanged(record, -record.players.size);
    record.players.clear();
    this.#byId.delete(id);
    this.#empty.delete(record);
    this.#workerInstances.set(record.worker, this.countOn(record.worker) - 1);
    this.#indexes.remove(record);
    return record;
  }

  /** A gateway was declared down: its users go offline after the grace unless they resume. */
  gatewayDown(gateway: string): void {
    const now = this.#now();
    for (const user of this.#usersByGateway.get(gateway) ?? []) {
      const record = this.#users.get(user);
      if (record) record.lostAt = now;
      this.#changed.users.add(user);
    }
    this.#lostGateways.add(gateway);
  }

  /**
   * Destroys every instance empty for longer than the grace period (returns them), after
   * taking offline the users of downed gateways whose grace ran out.
   */
  sweep(): InstanceRecord[] {
    const now = this.#now();
    for (const gateway of this.#lostGateways) {
      const users = this.#usersByGateway.get(gateway);
      let waiting = false;
      for (const user of users ?? []) {
        const lostAt = this.#users.get(user)?.lostAt;
        if (lostAt === undefined) continue;
        if (now - lostAt >= (this.#o.lostGraceMs ?? 15_000)) this.offline(user);
        else waiting = true;
      }
      if (!waiting) this.#lostGateways.delete(gateway);
    }
    const due: InstanceRecord[] = [];
    for (const record of this.#empty) {
      if (now - record.emptySince >= this.#o.emptyGraceMs) due.push(record);
    }
    for (const record of due) this.destroy(record.id);
    return due;
  }

  /**
   * Instances matching `query`, oldest first, one page; `next` pages on. Clients search the
   * public ones; the operator's list (`scope` "all") has the private ones too.
   */
  search(
    query: InstanceQuery,
    scope: "public" | "all" = "public",
  ): { instances: InstanceRecord[]; next?: string } {
    return this.#indexes.search(query, scope);
  }

  // ---- users ----------------------------------------------------------------------------------

  /** A user is online on `gateway` (in the world unless `where` says otherwise). */
  online(
    user: string,
    gateway: string,
    where: { instance?: string; world?: { x: number; y: number; z: number } } = {},
  ): void {
    const previous = this.#users.get(user);
    if (previous && previous.gateway !== gateway) {
      this.#usersByGateway.get(previous.gateway)?.delete(user);
    }
    const record: UserRecord = {
      user,
      gateway,
      instance: where.instance ?? previous?.instance ?? "",
      world: where.world ?? previous?.world,
    };
    this.#users.set(user, record);
    this.#changed.users.add(user);
    let set = this.#usersByGateway.get(gateway);
    if (!set) this.#usersByGateway.set(gateway, set = new Set());
    set.add(user);
  }

  /** A user's session ended: its seat is freed. */
  offline(user: string): void {
    this.release(user);
    const record = this.#users.get(user);
    if (!record) return;
    this.#users.delete(user);
    this.#changed.users.add(user);
    this.#usersByGateway.get(record.gateway)?.delete(user);
  }

  user(user: string): UserRecord | undefined {
    return this.#users.get(user);
  }

  /** Every user record. */
  userRecords(): IterableIterator<UserRecord> {
    return this.#users.values();
  }

  /** Users online on `gateway`. */
  usersOn(gateway: string): string[] {
    return [...this.#usersByGateway.get(gateway) ?? []];
  }

  /** Online users. */
  get users(): number {
    return this.#users.size;
  }

  // ---- internals ------------------------------------------------------------------------------

  #leaveSeat(id: string, user: string): void {
    const record = this.#byId.get(id);
    if (!record || !record.players.delete(user)) return;
    this.#seatsChanged(record, -1);
  }

  #seatsChanged(record: InstanceRecord, delta: number): void {
    this.#changed.instances.add(record.id);
    this.#workerSeats.set(record.worker, this.seatsOn(record.worker) + delta);
    if (record.players.size === 0) {
      if (!this.#empty.has(record)) {
        record.emptySince = this.#now();
        this.#empty.add(record);
      }
    } else {
      record.emptySince = 0;
      this.#empty.delete(record);
    }
    this.#indexes.seatsChanged(record);
  }
}

/** What a client sees of an instance. */
export function instanceRow(record: InstanceRecord): InstanceRow {
  return {
    id: record.id,
    mode: record.mode,
    players: record.players.size,
    maxPlayers: record.maxPlayers,
    tags: record.tags,
    version: record.version,
    region: record.region,
    createdAt: record.createdAt,
    private: record.private,
  };
}
