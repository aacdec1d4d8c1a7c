// Replication (replica mode): an owner mirrors everything it owns, and the handoffs it still
// holds, to its backup (a diff with interest = all, one map entry per entity); the backup keeps
// the mirror in a table per owner, apart from ghosts and invisible to game logic, until the
// owner dies and the mirror is promoted.
import type { Handoff, MirroredEntity, ReplicaOps } from "./batch_codec.ts";
import type { Entity } from "../world/entity.ts";
import type { OwnedEntities } from "../sim/owned_entities.ts";
import { appendMove, applyMove } from "./batch_records.ts";

/**
 * Ticks between two refreshes of an entity whose motion did not change (its data may have):
 * the most a mirrored NPC's data can lag behind.
 */
export const REFRESH_TICKS = 20;

/**
 * One refresh in this many goes in full even when the data did not change, so a backup that
 * lost an entity's full state (a restart under the same id the owner never saw) heals in
 * REFRESH_TICKS × FULL_REFRESHES ticks.
 */
export const FULL_REFRESHES = 10;

/**
 * What the backup holds of each entity, in columns by a number of the sender's own (the
 * record's `replicaSlot`, dense over what the space owns, reused once an entity left): the
 * record and entity id it was given for, the velocity and data version of its last full state
 * (NaN: the next update goes in full), its type, and the ticks it joined and was created at.
 * Columns, not a map of objects: an update tick reads them for every owned entity, and 20,000
 * map lookups with objects scattered in memory cost about 1.6 times as much (issue 16).
 */
class SentColumns {
  records: (Entity | undefined)[] = [];
  id = new Float64Array(0);
  vx = new Float64Array(0);
  vy = new Float64Array(0);
  vz = new Float64Array(0);
  version = new Float64Array(0);
  /** The tick the record joined the owned entities at (that tick's update goes in full). */
  joined = new Float64Array(0);
  /** The tick it was created on the backup at (no update that tick: the create is one). */
  created = new Float64Array(0);
  type: string[] = [];
  #free: number[] = [];
  /** The number of each entity the backup holds, by id. */
  readonly of = new Map<number, number>();

  /** Numbers `e` (the backup holds it from now on), its next update in full. */
  start(e: Entity): void {
    const id = e.id, was = this.of.get(id);
    if (was !== undefined) this.#release(was);
    const at = this.#free.length > 0 ? this.#free.pop()! : this.records.length;
    if (at >= this.id.length) this.#grow();
    this.records[at] = e;
    e.replicaSlot = at;
    this.of.set(id, at);
    this.id[at] = id;
    this.vx[at] =
      this.vy[at] =
      this.vz[at] =
      this.version[at] =
        NaN;
    this.joined[at] = this.created[at] = NaN;
    this.type[at] = e.type;
  }

  /** True when `e` is the record numbered for its id. */
  holds(e: Entity): boolean {
    const at = e.replicaSlot;
    return at >= 0 && this.records[at] === e && this.id[at] === e.id;
  }

  /** The backup no longer holds entity `id`; false when it did not. */
  drop(id: number): boolean {
    const at = this.of.get(id);
    if (at === undefined) return false;
    this.of.delete(id);
    this.#release(at);
    return true;
  }

  clear(): void {
    for (const e of this.records) if (e && e.replicaSlot >= 0) e.replicaSlot = -1;
    this.records.length = 0;
    this.#free.length = 0;
    this.of.clear();
  }

  #release(at: number): void {
    const e = this.records[at];
    if (e && e.replicaSlot === at) e.replicaSlot = -1;
    this.records[at] = undefined;
    this.id[at] = NaN;
    this.#free.push(at);
  }

  #grow(): void {
    const size = Math.max(this.id.length * 2, 64);
    const grow = (old: Float64Array) => {
      const column = new Float64Array(size).fill(NaN);
      column.set(old);
      return column;
    };
    this.id = grow(this.id);
    this.vx = grow(this.vx);
    this.vy = grow(this.vy);
    this.vz = grow(this.vz);
    this.version = grow(this.version);
    this.joined = grow(this.joined);
    this.created = grow(this.created);
  }
}

/**
 * The owner's side: what its backup holds, and the ops that bring it up to date. An update goes
 * when an entity's velocity changed (the backup extrapolates straight motion), for players
 * (their sessions change with every input), and for everyone once per REFRESH_TICKS; so a
 * crowd of walking NPCs costs a few updates per tick, not one per entity. An update whose type
 * and data did not change since the entity's last full state goes as a motion-only move (seven
 * numbers in a packed column); only players, data changes and new entities go in full. Creates
 * and deletes come from the ids that joined and left the owned entities since the last tick,
 * so only ticks with updates walk every owned entity (reading columns, no lookup).
 */
export class ReplicaSender {
  #backup = "";
  #heldSent = new Set<number>();
  /** What the backup holds. */
  #sent = new SentColumns();

  /** The backup the mirror currently goes to ("" = none). */
  get backup(): string {
    return this.#backup;
  }

  /**
   * Appends this tick's replica ops for `backup` to `ops()`: creates of newly owned entities,
   * deletes of those gone and the changes in held handoffs every tick (they decide who owns
   * what), updates at ticks that are a multiple of `every` (`replicationTicks`; 0: none). A new
   * backup starts from scratch. `owned.joined` and `owned.left` must hold every change since
   * the previous call; `versionOf` gives an entity's data version at this tick.
   */
  collect(
    owned: OwnedEntities,
    held: ReadonlyMap<number, { handoff: Handoff }>,
    backup: string,
    options: {
      tick: number;
      every: number;
      versionOf: (e: Entity) => number;
      ops: () => ReplicaOps;
    },
  ): void {
    let fresh = false;
    if (backup !== this.#backup) {
      this.reset();
      this.#backup = backup;
      fresh = true;
    }
    if (!backup) return;
    const { tick, every, ops } = options;
    const updates = every > 0 && tick % every === 0;
    // Update ticks come every `every` ticks: each entity is refreshed at one of every `rounds`.
    const rounds = Math.max(1, Math.floor(REFRESH_TICKS / Math.max(1, every)));
    const round = every > 0 ? Math.floor(tick / every) : 0;
    const sent = this.#sent;
    let list: ReplicaOps | undefined;
    const create = (e: Entity) => {
      // The first update after a create always goes, in full (a backup that missed the create
      // has the entity again two ticks later).
      sent.start(e);
      sent.created[e.replicaSlot] = tick;
      (list ??= ops()).creates.push(e);
    };
    // Records that joined since the last call: a new entity is created on the backup; one it
    // holds (left and came back, maybe as another record) has its next update in full.
    for (const id of owned.joined) {
      const e = owned.get(id);
      if (e === undefined) continue;
      if (!sent.of.has(id)) {
        create(e);
        continue;
      }
      if (!sent.holds(e)) sent.start(e);
      else sent.vx[e.replicaSlot] = sent.version[e.replicaSlot] = NaN;
      sent.joined[e.replicaSlot] = tick;
    }
    if (fresh || updates) {
      // The columns are read through `sent` on every entity, not taken once before the loop: a
      // create in the loop may grow them, and writes to the old ones would be lost.
      for (const e of owned.values()) {
        if (!sent.holds(e)) {
          // Owned, yet not seen join: a new backup starts from scratch.
          create(e);
          continue;
        }
        const at = e.replicaSlot;
        if (!updates || sent.created[at] === tick) continue;
        const id = e.id;
        const joined = sent.joined[at] === tick;
        const refresh = (id + round) % rounds === 0;
        if (
          !e.session && sent.vx[at] === e.vx && sent.vy[at] === e.vy && sent.vz[at] === e.vz &&
          !refresh && !joined
        ) continue;
        sent.vx[at] = e.vx;
        sent.vy[at] = e.vy;
        sent.vz[at] = e.vz;
        const version = options.versionOf(e);
        list ??= ops();
        const heal = refresh && Math.floor((id + round) / rounds) % FULL_REFRESHES === 0;
        if (
          e.session || joined || heal || version !== sent.version[at] || e.type !== sent.type[at]
        ) {
          sent.version[at] = version;
          sent.type[at] = e.type;
          list.updates.push(e);
        } else appendMove(list.moves, e);
      }
    }
    for (const id of owned.left) {
      if (owned.has(id) || !sent.drop(id)) continue;
      (list ??= ops()).deletes.push(id);
    }
    for (const [id, handoff] of held) {
      if (this.#heldSent.has(id)) continue;
      this.#heldSent.add(id);
      (list ??= ops()).held.push(handoff.handoff);
    }
    for (const id of this.#heldSent) {
      if (held.has(id)) continue;
      this.#heldSent.delete(id);
      (list ??= ops()).released.push(id);
    }
  }

  /** Forgets the backup's state (it must be sent from scratch). */
  reset(): void {
    this.#heldSent.clear();
    this.#sent.clear();
    this.#backup = "";
  }
}

/** One owner's mirror on its backup. */
export interface Mirror {
  entities: Map<number, MirroredEntity>;
  /** The owner's tick at which each entity's mirrored state was taken. */
  taken: Map<number, number>;
  held: Map<number, Handoff>;
  /** Tick of the owner's batch that last wrote this mirror. */
  tick: number;
}

/** The backup's side: one mirror per owner it backs up. */
export class ReplicaTable {
  readonly mirrors = new Map<string, Mirror>();

  /** Applies an owner's replica ops (an update of an entity not mirrored yet creates it). */
  apply(owner: string, tick: number, ops: ReplicaOps): void {
    let mirror = this.mirrors.get(owner);
    if (!mirror) {
      this.mirrors.set(
        owner,
        mirror = { entities: new Map(), taken: new Map(), held: new Map(), tick },
      );
    }
    mirror.tick = tick;
    for (const list of [ops.creates, ops.updates]) {
      for (const e of list) (mirror.entities.set(e.id, e), mirror.taken.set(e.id, tick));
    }
    const moves = ops.moves;
    for (let i = 0; i + 6 < moves.length; i += 7) {
      const e = mirror.entities.get(moves[i]);
      if (e === undefined) continue; // never created here: its full state comes with a refresh
      applyMove(e, moves, i);
      mirror.taken.set(e.id, tick);
    }
    for (const id of ops.deletes) (mirror.entities.delete(id), mirror.taken.delete(id));
    for (const h of ops.held) mirror.held.set(h.entity.id, h);
    for (const id of ops.released) mirror.held.delete(id);
  }

  /**
   * A live worker adopted `entity` from `owner` by a handoff of `tick`: a mirrored state taken
   * no later than that is stale and goes. False when this table has no mirror of `owner`.
   */
  claim(owner: string, entity: number, tick: number): boolean {
    const mirror = this.mirrors.get(owner);
    if (!mirror) return false;
    const taken = mirror.taken.get(entity);
    if (taken !== undefined && taken <= tick) {
      mirror.entities.delete(entity);
      mirror.taken.delete(entity);
    }
    const held = mirror.held.get(entity);
    if (held && held.tick <= tick) mirror.held.delete(entity);
    return true;
  }

  /** Removes and returns an owner's mirror (promotion), or undefined when there is none. */
  take(owner: string): Mirror | undefined {
    const mirror = this.mirrors.get(owner);
    this.mirrors.delete(owner);
    return mirror;
  }

  /** Drops mirrors of owners this worker no longer backs up. */
  keepOnly(owners: ReadonlySet<string>): void {
    for (const owner of this.mirrors.keys()) if (!owners.has(owner)) this.mirrors.delete(owner);
  }

  /** Mirrored entities over all owners. */
  get size(): number {
    let n = 0;
    for (const m of this.mirrors.values()) n += m.entities.size;
    return n;
  }

  /** Drops everything. */
  clear(): void {
    this.mirrors.clear();
  }
}
