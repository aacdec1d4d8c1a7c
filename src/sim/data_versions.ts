// When an entity's `data` changed, for the AOI diff: a version per entity that moves on when
// its data differs from the last tick's (a shallow compare, nested values by their JSON text),
// checked at most once per entity per tick and shared by every observer.
import type { Entity } from "../world/entity.ts";

/** What the diff remembers of an entity's data, kept on the entity (`Entity.dataSync`). */
export interface DataSnapshot {
  tick: number;
  version: number;
  keys: string[];
  /** Primitive values as they are; nested ones (arrays, maps) as their JSON text. */
  values: unknown[];
}

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
    let snapshot = entity.dataSync;
    if (snapshot === undefined) {
      snapshot = { tick, version: ++this.#counter, keys: [], values: [] };
      capture(snapshot, entity.data);
      entity.dataSync = snapshot;
      return snapshot.version;
    }
    if (snapshot.tick === tick) return snapshot.version;
    snapshot.tick = tick;
    if (!same(snapshot, entity.data)) {
      capture(snapshot, entity.data);
      snapshot.version = ++this.#counter;
    }
    return snapshot.version;
  }
}

function capture(snapshot: DataSnapshot, data: Record<string, unknown>): void {
  snapshot.keys.length = 0;
  snapshot.values.length = 0;
  for (const key in data) {
    const value = data[key];
    snapshot.keys.push(key);
    snapshot.values.push(isNested(value) ? JSON.stringify(value, binaryAsArray) : value);
  }
}

function same(snapshot: DataSnapshot, data: Record<string, unknown>): boolean {
  const { keys, values } = snapshot;
  // Object.keys hits V8's enum cache for a known shape; for-in is several times slower here.
  const now = Object.keys(data);
  if (now.length !== keys.length) return false;
  for (let i = 0; i < now.length; i++) {
    const key = now[i];
    if (keys[i] !== key) return false;
    const value = data[key], before = values[i];
    if (value !== before) {
      if (!isNested(value) || JSON.stringify(value, binaryAsArray) !== before) return false;
    }
  }
  return true;
}

function isNested(value: unknown): value is object {
  return typeof value === "object" && value !== null;
}

function binaryAsArray(_key: string, value: unknown): unknown {
  return value instanceof Uint8Array ? Array.from(value) : value;
}
