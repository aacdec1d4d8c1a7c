// What game code sees of a ghost: a read-only view of the record the sync layer keeps, so a
// write to a ghost (another worker's entity) fails loudly instead of being silently overwritten
// by the owner's next batch.
import type { Entity, EntityData, SessionInfo } from "../world/entity.ts";
import type { DataSnapshot } from "./data_versions.ts";

/**
 * A ghost's read-only view: every field of the record read through a getter, every write
 * refused. A class, not a Proxy: game code reads `other.id` or `other.x` of every neighbour a
 * query finds, and with a Proxy among the records V8 stopped inlining the record's getters at
 * those sites for every neighbour, owned ones too (a CPU profile of a worker of a pair with
 * 20,000 entities, bench/profile.ts, showed `get id` called out of line from the demo's
 * `onTick`, 0.67 ms a tick; with this class it is inlined, and the tick's time moved by less
 * than this machine's run-to-run noise). Its `data` is still a Proxy: games read a neighbour's
 * data far less often than its id and position.
 */
class GhostView implements Entity {
  #record: Entity;
  #views: GhostViews;

  constructor(record: Entity, views: GhostViews) {
    this.#record = record;
    this.#views = views;
  }

  get id(): number {
    return this.#record.id;
  }
  set id(_: number) {
    refuse(this.#record, "id");
  }
  get type(): string {
    return this.#record.type;
  }
  set type(_: string) {
    refuse(this.#record, "type");
  }
  get x(): number {
    return this.#record.x;
  }
  set x(_: number) {
    refuse(this.#record, "x");
  }
  get y(): number {
    return this.#record.y;
  }
  set y(_: number) {
    refuse(this.#record, "y");
  }
  get z(): number {
    return this.#record.z;
  }
  set z(_: number) {
    refuse(this.#record, "z");
  }
  get vx(): number {
    return this.#record.vx;
  }
  set vx(_: number) {
    refuse(this.#record, "vx");
  }
  get vy(): number {
    return this.#record.vy;
  }
  set vy(_: number) {
    refuse(this.#record, "vy");
  }
  get vz(): number {
    return this.#record.vz;
  }
  set vz(_: number) {
    refuse(this.#record, "vz");
  }
  get data(): EntityData {
    return this.#views.dataOf(this.#record);
  }
  set data(_: EntityData) {
    refuse(this.#record, "data");
  }
  get slot(): number {
    return this.#record.slot;
  }
  get indexSlot(): number {
    return this.#record.indexSlot;
  }
  set indexSlot(_: number) {
    refuse(this.#record, "indexSlot");
  }
  get replicaSlot(): number {
    return this.#record.replicaSlot;
  }
  set replicaSlot(_: number) {
    refuse(this.#record, "replicaSlot");
  }
  get cell(): number {
    return this.#record.cell;
  }
  set cell(_: number) {
    refuse(this.#record, "cell");
  }
  get owner(): string {
    return this.#record.owner;
  }
  set owner(_: string) {
    refuse(this.#record, "owner");
  }
  get dataSync(): DataSnapshot | undefined {
    return undefined;
  }
  set dataSync(_: DataSnapshot | undefined) {
    refuse(this.#record, "dataSync");
  }
  get session(): SessionInfo | undefined {
    return undefined;
  }
  set session(_: SessionInfo | undefined) {
    refuse(this.#record, "session");
  }

  /** The record's plain fields, as the record gives them. */
  toJSON(): unknown {
    return (this.#record as { toJSON?: () => unknown }).toJSON?.() ?? { ...this.#record };
  }
}

/** Throws the error of a write to `ghost`'s field (or a field of its data) `key`. */
function refuse(ghost: Entity, key: string | symbol): never {
  throw new TypeError(
    `Cannot set ${String(key)} of entity ${ghost.id}: it is a ghost of an entity owned by ` +
      `worker ${ghost.owner}; send it an interaction (ctx.interact) instead`,
  );
}

/** The read-only views of a space's ghosts: one per ghost record and one per data object. */
export class GhostViews {
  #records = new WeakMap<Entity, Entity>();
  #objects = new WeakMap<object, object>();

  /** The read-only view of `ghost` (its `data` read-only too). */
  of(ghost: Entity): Entity {
    let view = this.#records.get(ghost);
    if (!view) this.#records.set(ghost, view = new GhostView(ghost, this));
    return view;
  }

  /** The read-only view of `ghost`'s current data (a ghost update may replace the object). */
  dataOf(ghost: Entity): EntityData {
    return this.#view(ghost.data, ghost) as EntityData;
  }

  #view(target: object, ghost: Entity): object {
    let view = this.#objects.get(target);
    if (view) return view;
    view = new Proxy(target, {
      get: (object, key) => {
        const value = Reflect.get(object, key);
        if (typeof value !== "object" || value === null || value instanceof Uint8Array) {
          return value;
        }
        return this.#view(value, ghost);
      },
      set: (_object, key) => refuse(ghost, key),
      deleteProperty: (_object, key) => refuse(ghost, key),
      defineProperty: (_object, key) => refuse(ghost, key),
    });
    this.#objects.set(target, view);
    return view;
  }
}

/**
 * Replaces the ghosts in `found` (a spatial query's result) by their read-only views.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { makeEntity } from "../world/entity.ts";
 * const views = new GhostViews();
 * const ghost = makeEntity(9, "npc", { x: 1, y: 1 }, { hp: 3 }, "w2");
 * const [seen] = viewGhosts([ghost], "w1", views);
 * assert.equal(seen.data.hp, 3);
 * assert.throws(() => (seen.x = 5), /Cannot set x of entity 9: it is a ghost/);
 * assert.throws(() => (seen.data.hp = 0), /Cannot set hp of entity 9/);
 * ```
 */
export function viewGhosts(found: Entity[], self: string, views: GhostViews): Entity[] {
  for (let i = 0; i < found.length; i++) {
    if (found[i].owner !== self) found[i] = views.of(found[i]);
  }
  return found;
}
