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

/** What the backup holds of an entity: the velocity and data version last mirrored. */
interface Sent {
  vx: number;
  vy: number;
  vz: number;
  /** Data version of the last full state sent (NaN: none yet, or the entity came back). */
  version: number;
  /** Type in the last full state sent. */
  type: string;
}

/**
 * The owner's side: what its backup holds, and the ops that bring it up to date. An update goes
 * when an entity's velocity changed (the backup extrapolates straight motion), for players
 * (their sessions change with every input), and for everyone once per REFRESH_TICKS; so a
 * crowd of walking NPCs costs a few updates per tick, not one per entity. An update whose type
 * and data did not change since the entity's last full state goes as a motion-only move (seven
 * numbers in a packed column); only players, data changes and new entities go in full. Creates
 * and deletes come from the ids that joined and left the owned entities since the last tick,
 * so only ticks with updates walk every owned entity (one map lookup each).
 */
export class ReplicaSender {
  #backup = "";
  #heldSent = new Set<number>();
  /** Every entity the backup holds. */
  #sent = new Map<number, Sent>();

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
    const sentMap = this.#sent;
    let list: ReplicaOps | undefined;
    const create = (e: Entity) => {
      // NaN: the first update after a create always goes, in full (a backup that missed the
      // create has the entity again two ticks later).
      sentMap.set(e.id, { vx: NaN, vy: NaN, vz: NaN, version: NaN, type: e.type });
      (list ??= ops()).creates.push(e);
    };
    if (fresh || updates) {
      for (const e of owned.values()) {
        const sent = sentMap.get(e.id);
        if (sent === undefined) {
          create(e);
          continue;
        }
        if (!updates) continue;
        const joined = owned.joined.has(e.id);
        const refresh = (e.id + round) % rounds === 0;
        if (
          !e.session && sent.vx === e.vx && sent.vy === e.vy && sent.vz === e.vz && !refresh &&
          !joined
        ) continue;
        sent.vx = e.vx;
        sent.vy = e.vy;
        sent.vz = e.vz;
        const version = options.versionOf(e);
        list ??= ops();
        const heal = refresh && Math.floor((e.id + round) / rounds) % FULL_REFRESHES === 0;
        if (e.session || joined || heal || version !== sent.version || e.type !== sent.type) {
          sent.version = version;
          sent.type = e.type;
          list.updates.push(e);
        } else appendMove(list.moves, e);
      }
    } else {
      for (const id of owned.joined) {
        const e = owned.get(id);
        if (e === undefined) continue;
        const sent = sentMap.get(id);
        if (sent === undefined) create(e);
        else (sent.vx = NaN, sent.version = NaN); // left and came back: its next update is full
      }
    }
    for (const id of owned.left) {
      if (owned.has(id) || !sentMap.delete(id)) continue;
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
