// When an entity's `data` changed, for the AOI diff: its JSON text, computed at most once per
// entity per tick and shared by every observer, compared with the text each observer last got.
import type { Entity } from "../world/entity.ts";

/**
 * Per-tick cache of entities' data signatures (their JSON text). Ghosts get a fresh data object
 * with every batch, so identity cannot tell a change; the text can, and game code may mutate
 * `data` in place.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { makeEntity } from "../world/entity.ts";
 * const signatures = new DataSignatures();
 * const e = makeEntity(1, "coin", { x: 0, y: 0 }, { value: 1 });
 * const before = signatures.of(e, 1);
 * e.data.value = 2;
 * assert.equal(signatures.of(e, 1), before); // once per tick
 * assert.notEqual(signatures.of(e, 2), before);
 * ```
 */
export class DataSignatures {
  #tick = -1;
  #texts = new Map<number, string>();

  /** The JSON text of `entity.data` as of `tick`. */
  of(entity: Entity, tick: number): string {
    if (tick !== this.#tick) {
      this.#texts.clear();
      this.#tick = tick;
    }
    let text = this.#texts.get(entity.id);
    if (text === undefined) {
      text = JSON.stringify(entity.data, binaryAsArray) ?? "";
      this.#texts.set(entity.id, text);
    }
    return text;
  }
}

function binaryAsArray(_key: string, value: unknown): unknown {
  return value instanceof Uint8Array ? Array.from(value) : value;
}
