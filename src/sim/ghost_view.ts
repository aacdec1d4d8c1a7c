// What game code sees of a ghost: a read-only view of the record the sync layer keeps, so a
// write to a ghost (another worker's entity) fails loudly instead of being silently overwritten
// by the owner's next batch.
import type { Entity } from "../world/entity.ts";

/** A ghost's read-only view, made once per ghost record and data object. */
export class GhostViews {
  #views = new WeakMap<object, object>();

  /** The read-only view of `ghost` (its `data` read-only too). */
  of(ghost: Entity): Entity {
    return this.#view(ghost, ghost) as Entity;
  }

  #view(target: object, ghost: Entity): object {
    let view = this.#views.get(target);
    if (view) return view;
    const refuse = (key: string | symbol): never => {
      throw new TypeError(
        `Cannot set ${String(key)} of entity ${ghost.id}: it is a ghost of an entity owned by ` +
          `worker ${ghost.owner}; send it an interaction (ctx.interact) instead`,
      );
    };
    view = new Proxy(target, {
      get: (object, key) => {
        const value = Reflect.get(object, key);
        if (typeof value !== "object" || value === null || value instanceof Uint8Array) {
          return value;
        }
        return this.#view(value, ghost);
      },
      set: (_object, key) => refuse(key),
      deleteProperty: (_object, key) => refuse(key),
      defineProperty: (_object, key) => refuse(key),
    });
    this.#views.set(target, view);
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
