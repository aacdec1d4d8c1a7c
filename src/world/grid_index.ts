// A uniform grid of buckets over the world's x/y plane, kept as linked lists in Int32Arrays
// (head per bucket, next/prev per filed record): an entity is moved only when it changes bucket,
// and a query walks the lists reading positions from the position columns (entity_positions.ts),
// touching an entity record only for a hit. Records are numbered densely per index (their
// `indexSlot`), so an index's tables grow with what it holds, not with every record of the
// process (a worker hosting many rooms has one index per room). No allocation per upsert or
// query (the caller passes the output array).
import type { Entity } from "./entity.ts";
import { positions } from "./entity_positions.ts";
import { type EntityIndex, type Hits, roomFor } from "./spatial_index.ts";

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
  /** 1 / bucketSize: bucket math multiplies (upserts and queries alike, so they agree). */
  #scale: number;
  /** First filed record (its index slot) in each bucket, -1 for none. */
  #head: Int32Array;
  /** Per index slot: the bucket it is filed in, its list neighbours, its position column slot. */
  #bucketOf = new Int32Array(0);
  #next = new Int32Array(0);
  #prev = new Int32Array(0);
  #column = new Int32Array(0);
  /** Per index slot: the record filed there (undefined: free). */
  #records: (Entity | undefined)[] = [];
  /** Index slots given back, reused before new ones. */
  #free: number[] = [];
  /** The index slot filed for each entity id. */
  #slots = new Map<number, number>();
  reinserts = 0;

  /** @param size world extent (x, y[, z]); @param bucketSize edge of a bucket. */
  constructor(size: readonly number[], bucketSize: number) {
    if (!(bucketSize > 0)) {
      throw new RangeError(`Cannot build a grid index: bucketSize must be > 0, got ${bucketSize}`);
    }
    this.bucketSize = bucketSize;
    this.#scale = 1 / bucketSize;
    this.#cols = Math.max(1, Math.ceil(size[0] / bucketSize));
    this.#rows = Math.max(1, Math.ceil(size[1] / bucketSize));
    this.#head = new Int32Array(this.#cols * this.#rows).fill(-1);
  }

  get size(): number {
    return this.#slots.size;
  }

  /** Records the per-slot tables have room for: grows with what this index ever held at once. */
  get capacity(): number {
    return this.#bucketOf.length;
  }

  #col(x: number): number {
    const c = Math.floor(x * this.#scale);
    return c < 0 ? 0 : c >= this.#cols ? this.#cols - 1 : c;
  }

  #row(y: number): number {
    const r = Math.floor(y * this.#scale);
    return r < 0 ? 0 : r >= this.#rows ? this.#rows - 1 : r;
  }

  upsert(entity: Entity): void {
    const bucket = this.#col(entity.x) + this.#row(entity.y) * this.#cols;
    const slot = entity.indexSlot;
    if (slot >= 0 && this.#records[slot] === entity) {
      const filed = this.#bucketOf[slot];
      if (filed === bucket) return;
      this.#unlink(slot, filed);
      this.#link(slot, bucket);
      this.reinserts++;
      return;
    }
    // Not filed here. Another record of the same id (a ghost becoming owned, say) gives way.
    const old = this.#slots.get(entity.id);
    if (old !== undefined) this.#unfile(old);
    const fresh = this.#free.length > 0 ? this.#free.pop()! : this.#records.length;
    if (fresh >= this.#bucketOf.length) this.#grow();
    this.#records[fresh] = entity;
    this.#column[fresh] = entity.slot;
    entity.indexSlot = fresh;
    this.#slots.set(entity.id, fresh);
    this.#link(fresh, bucket);
    this.reinserts++;
  }

  remove(id: number): void {
    const slot = this.#slots.get(id);
    if (slot === undefined) return;
    this.#unfile(slot);
    this.#slots.delete(id);
  }

  readonly at = new Float64Array(4);

  query(x: number, y: number, z: number, radius: number, out: Entity[]): Entity[] {
    const at = this.at;
    at[0] = x;
    at[1] = y;
    at[2] = z;
    at[3] = radius;
    return this.queryAt(out);
  }

  queryAt(out: Entity[]): Entity[] {
    const at = this.at, x = at[0], y = at[1], z = at[2], radius = at[3];
    // Filled by index and truncated once: `out.length = 0` would drop the array's backing store,
    // so every query would allocate a new one.
    let found = 0;
    const r2 = radius * radius;
    const cols = this.#cols, head = this.#head, next = this.#next, records = this.#records;
    const column = this.#column, px = positions.x, py = positions.y, pz = positions.z;
    const c0 = this.#col(x - radius), c1 = this.#col(x + radius);
    const r0 = this.#row(y - radius), r1 = this.#row(y + radius);
    for (let r = r0; r <= r1; r++) {
      for (let c = c0; c <= c1; c++) {
        for (let s = head[c + r * cols]; s >= 0; s = next[s]) {
          const at = column[s];
          const dx = px[at] - x, dy = py[at] - y, dz = pz[at] - z;
          if (dx * dx + dy * dy + dz * dz <= r2) out[found++] = records[s]!;
        }
      }
    }
    if (out.length !== found) out.length = found;
    return out;
  }
  /** queryAt writing index slots as handles (see EntityIndex.queryHits). */
  queryHits(hits: Hits): void {
    const at = this.at, x = at[0], y = at[1], z = at[2], radius = at[3];
    let found = 0;
    let handles = hits.handles;
    const r2 = radius * radius;
    const cols = this.#cols, head = this.#head, next = this.#next;
    const column = this.#column, px = positions.x, py = positions.y, pz = positions.z;
    const c0 = this.#col(x - radius), c1 = this.#col(x + radius);
    const r0 = this.#row(y - radius), r1 = this.#row(y + radius);
    for (let r = r0; r <= r1; r++) {
      for (let c = c0; c <= c1; c++) {
        for (let s = head[c + r * cols]; s >= 0; s = next[s]) {
          const at = column[s];
          const dx = px[at] - x, dy = py[at] - y, dz = pz[at] - z;
          if (dx * dx + dy * dy + dz * dz <= r2) {
            if (found === handles.length) handles = roomFor(hits, found + 1);
            handles[found++] = s;
          }
        }
      }
    }
    hits.count = found;
  }

  hitSlot(handle: number): number {
    return this.#column[handle];
  }

  hitRecord(handle: number): Entity {
    return this.#records[handle]!;
  }

  clear(): void {
    for (const record of this.#records) if (record) record.indexSlot = -1;
    this.#head.fill(-1);
    this.#bucketOf.fill(-1);
    this.#records.length = 0;
    this.#free.length = 0;
    this.#slots.clear();
  }

  /** Drops the record at index slot `slot` from its bucket; the slot is free again. */
  #unfile(slot: number): void {
    this.#unlink(slot, this.#bucketOf[slot]);
    this.#bucketOf[slot] = -1;
    const record = this.#records[slot]!;
    if (record.indexSlot === slot) record.indexSlot = -1;
    this.#records[slot] = undefined;
    this.#free.push(slot);
  }

  #link(slot: number, bucket: number): void {
    const first = this.#head[bucket];
    this.#next[slot] = first;
    this.#prev[slot] = -1;
    if (first >= 0) this.#prev[first] = slot;
    this.#head[bucket] = slot;
    this.#bucketOf[slot] = bucket;
  }

  #unlink(slot: number, bucket: number): void {
    const before = this.#prev[slot], after = this.#next[slot];
    if (before >= 0) this.#next[before] = after;
    else this.#head[bucket] = after;
    if (after >= 0) this.#prev[after] = before;
  }

  /** Doubles the per-slot tables (growth is rare: only past the most ever filed here). */
  #grow(): void {
    const capacity = Math.max(this.#bucketOf.length * 2, 64);
    const widen = (old: Int32Array, fill: number) => {
      const grown = new Int32Array(capacity).fill(fill);
      grown.set(old);
      return grown;
    };
    this.#bucketOf = widen(this.#bucketOf, -1);
    this.#next = widen(this.#next, -1);
    this.#prev = widen(this.#prev, -1);
    this.#column = widen(this.#column, 0);
  }
}
