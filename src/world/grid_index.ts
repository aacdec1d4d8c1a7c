// A uniform grid of buckets over the world's x/y plane: entities are filed by bucket and moved
// only when they change bucket; queries scan the buckets a circle overlaps. No allocation per
// upsert or query (the caller passes the output array).
import type { Entity } from "./entity.ts";
import type { EntityIndex } from "./spatial_index.ts";

interface Slot {
  bucket: number;
  at: number;
  entity: Entity;
}

/**
 * Spatial index for point entities with small query radii (neighbours, AOI).
 *
 * @example
 * ```ts
 * import { GridIndex } from "./grid_index.ts";
 * import { makeEntity } from "./entity.ts";
 * const index = new GridIndex([100, 100], 10);
 * index.upsert(makeEntity(1, "npc", { x: 5, y: 5 }));
 * index.upsert(makeEntity(2, "npc", { x: 50, y: 50 }));
 * if (index.query(6, 6, 0, 3, []).length !== 1) throw new Error("one neighbour");
 * ```
 */
export class GridIndex implements EntityIndex {
  readonly bucketSize: number;
  #cols: number;
  #rows: number;
  #buckets: Entity[][];
  #slots = new Map<number, Slot>();
  reinserts = 0;

  /** @param size world extent (x, y[, z]); @param bucketSize edge of a bucket. */
  constructor(size: readonly number[], bucketSize: number) {
    if (!(bucketSize > 0)) {
      throw new RangeError(`Cannot build a grid index: bucketSize must be > 0, got ${bucketSize}`);
    }
    this.bucketSize = bucketSize;
    this.#cols = Math.max(1, Math.ceil(size[0] / bucketSize));
    this.#rows = Math.max(1, Math.ceil(size[1] / bucketSize));
    this.#buckets = Array.from({ length: this.#cols * this.#rows }, () => []);
  }

  get size(): number {
    return this.#slots.size;
  }

  #col(x: number): number {
    const c = Math.floor(x / this.bucketSize);
    return c < 0 ? 0 : c >= this.#cols ? this.#cols - 1 : c;
  }

  #row(y: number): number {
    const r = Math.floor(y / this.bucketSize);
    return r < 0 ? 0 : r >= this.#rows ? this.#rows - 1 : r;
  }

  upsert(entity: Entity): void {
    const bucket = this.#col(entity.x) + this.#row(entity.y) * this.#cols;
    const slot = this.#slots.get(entity.id);
    if (slot) {
      if (slot.bucket === bucket && slot.entity === entity) return;
      this.#take(slot);
      slot.bucket = bucket;
      slot.entity = entity;
      this.#put(slot);
    } else {
      const fresh: Slot = { bucket, at: 0, entity };
      this.#slots.set(entity.id, fresh);
      this.#put(fresh);
    }
    this.reinserts++;
  }

  remove(id: number): void {
    const slot = this.#slots.get(id);
    if (!slot) return;
    this.#take(slot);
    this.#slots.delete(id);
  }

  query(x: number, y: number, z: number, radius: number, out: Entity[]): Entity[] {
    out.length = 0;
    const r2 = radius * radius;
    const c0 = this.#col(x - radius), c1 = this.#col(x + radius);
    const r0 = this.#row(y - radius), r1 = this.#row(y + radius);
    for (let r = r0; r <= r1; r++) {
      for (let c = c0; c <= c1; c++) {
        const bucket = this.#buckets[c + r * this.#cols];
        for (let i = 0; i < bucket.length; i++) {
          const e = bucket[i];
          const dx = e.x - x, dy = e.y - y, dz = e.z - z;
          if (dx * dx + dy * dy + dz * dz <= r2) out.push(e);
        }
      }
    }
    return out;
  }

  clear(): void {
    for (const bucket of this.#buckets) bucket.length = 0;
    this.#slots.clear();
  }

  #put(slot: Slot): void {
    const bucket = this.#buckets[slot.bucket];
    slot.at = bucket.length;
    bucket.push(slot.entity);
  }

  /** Swap-removes the slot's entity from its bucket. */
  #take(slot: Slot): void {
    const bucket = this.#buckets[slot.bucket];
    const last = bucket.pop()!;
    if (slot.at < bucket.length) {
      bucket[slot.at] = last;
      this.#slots.get(last.id)!.at = slot.at;
    }
  }
}
