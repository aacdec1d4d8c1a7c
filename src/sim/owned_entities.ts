// The entities a space owns: a Map by id that also notes which ids joined and left since the
// last tick, so a per-tick pass that cares only about membership (the replica diff's creates and
// deletes) reads those few ids instead of walking every owned entity every tick.
import type { Entity } from "../world/entity.ts";

/**
 * Owned entities by id, with the ids that joined and left since {@linkcode clearChanges}.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { OwnedEntities } from "./owned_entities.ts";
 * import { makeEntity } from "../world/entity.ts";
 * const owned = new OwnedEntities();
 * owned.set(1, makeEntity(1, "npc", { x: 0, y: 0 }));
 * owned.delete(1);
 * assert.deepEqual([...owned.joined], [1]);
 * assert.deepEqual([...owned.left], [1]);
 * owned.clearChanges();
 * assert.equal(owned.joined.size + owned.left.size, 0);
 * ```
 */
export class OwnedEntities extends Map<number, Entity> {
  /** Ids set since the last clearChanges (owned now or not: check with `has`). */
  readonly joined = new Set<number>();
  /** Ids deleted since the last clearChanges (maybe owned again: check with `has`). */
  readonly left = new Set<number>();

  override set(id: number, entity: Entity): this {
    // Map's constructor calls set before the fields exist; it is never given entries here.
    this.joined?.add(id);
    return super.set(id, entity);
  }

  override delete(id: number): boolean {
    if (!super.delete(id)) return false;
    this.left.add(id);
    return true;
  }

  override clear(): void {
    for (const id of this.keys()) this.left.add(id);
    super.clear();
  }

  /** Forgets the changes noted so far (once per tick, after every reader has seen them). */
  clearChanges(): void {
    this.joined.clear();
    this.left.clear();
  }
}
