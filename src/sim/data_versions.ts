// When an entity's `data` changed, for the AOI diff: a version per entity that moves on when
// its data differs from the last tick's (a shallow compare, nested values by their JSON text),
// checked at most once per entity per tick and shared by every observer.
import type { Entity } from "../world/entity.ts";
import { dataColumns } from "../world/entity_positions.ts";

/**
 * What the diff remembers of an entity's data, kept on the entity (`Entity.dataSync`): key,
 * value, key, value…, primitive values as they are, nested ones (arrays, maps) as their JSON
 * text. The version and the tick it was checked at are in columns by the record's slot
 * (entity_positions.ts, `dataColumns`): a second look in one tick reads nothing else, and the
 * AOI diffs read them without touching the record.
 */
export type DataSnapshot = unknown[];

/**
 * Per-entity data versions. Ghosts get a fresh data object with every batch, so identity cannot
 * tell a change, and game code may mutate `data` in place; comparing the values can. The
 * snapshot lives on the entity record (which ghosts reuse); versions come from one counter per
 * worker, so a new record of the same entity never repeats a version a view remembers.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { makeEntity } from "../world/entity.ts";
 * const versions = new DataVersions();
 * const e = makeEntity(1, "coin", { x: 0, y: 0 }, { value: 1, tags: ["a"] });
 * const before = versions.of(e, 1);
 * e.data.value = 2;
 * assert.equal(versions.of(e, 1), before); // once per tick
 * const changed = versions.of(e, 2);
 * assert.notEqual(changed, before);
 * e.data = { value: 2, tags: ["a"] }; // same values in a new object: no change
 * assert.equal(versions.of(e, 3), changed);
 * (e.data.tags as string[]).push("b");
 * assert.notEqual(versions.of(e, 4), changed);
 * ```
 */
export class DataVersions {
  #counter = 0;

  /** The version of `entity.data` as of `tick`. */
  of(entity: Entity, tick: number): number {
    const slot = entity.slot, { checked, version } = dataColumns;
    if (checked[slot] === tick) return version[slot];
    checked[slot] = tick;
    const pairs = entity.dataSync;
    if (pairs === undefined) {
      entity.dataSync = capture([], entity.data);
      return version[slot] = ++this.#counter;
    }
    if (!same(pairs, entity.data)) {
      capture(pairs, entity.data);
      version[slot] = ++this.#counter;
    }
    return version[slot];
  }
}

function capture(pairs: unknown[], data: Record<string, unknown>): unknown[] {
  let n = 0;
  for (const key in data) {
    const value = data[key];
    pairs[n++] = key;
    pairs[n++] = isNested(value) ? JSON.stringify(value, binaryAsArray) : value;
  }
  if (pairs.length !== n) pairs.length = n;
  return pairs;
}

function same(pairs: readonly unknown[], data: Record<string, unknown>): boolean {
  let n = 0;
  for (const key in data) {
    if (pairs[n] !== key) return false;
    const value = data[key], before = pairs[n + 1];
    if (value !== before) {
      if (!isNested(value) || JSON.stringify(value, binaryAsArray) !== before) return false;
    }
    n += 2;
  }
  return n === pairs.length;
}

function isNested(value: unknown): value is object {
  return typeof value === "object" && value !== null;
}

function binaryAsArray(_key: string, value: unknown): unknown {
  return value instanceof Uint8Array ? Array.from(value) : value;
}
