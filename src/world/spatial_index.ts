// Spatial indexes of a worker's entities (owned and ghosts) behind one interface: an rbush of
// fat boxes (an entity is re-filed only when it leaves the box it was filed under) and a uniform
// grid of buckets (src/world/grid_index.ts). Config key `spatialIndex` picks one; bench compares them.
import RBush from "rbush";
import type { Entity } from "./entity.ts";

/**
 * What {@linkcode EntityIndex.queryHits} found: `count` handles in `handles` (grown by the
 * index as needed), each good until the next query of that index.
 */
export interface Hits {
  handles: Int32Array;
  count: number;
}

/** Room in `hits` for `n` handles, keeping those written. */
export function roomFor(hits: Hits, n: number): Int32Array {
  if (hits.handles.length < n) {
    const bigger = new Int32Array(Math.max(n, hits.handles.length * 2));
    bigger.set(hits.handles);
    hits.handles = bigger;
  }
  return hits.handles;
}

/** What the tick, ghost sync and AOI need from a spatial index. */
export interface EntityIndex {
  readonly size: number;
  /** How many times an entity was (re-)filed. */
  readonly reinserts: number;
  /** Files a new entity or re-files a moved one. */
  upsert(entity: Entity): void;
  /** Drops an entity; unknown ids are ignored. */
  remove(id: number): void;
  /** Fills `out` (cleared first) with entities within `radius` of the point and returns it. */
  query(x: number, y: number, z: number, radius: number, out: Entity[]): Entity[];
  /** The point and radius of {@linkcode queryAt}: x, y, z, radius. */
  readonly at: Float64Array;
  /**
   * {@linkcode query} about the point and radius written to {@linkcode at} first. Hot callers
   * use it: a call the optimizer does not inline passes each number argument as a fresh heap
   * object, and a game's neighbour query per entity per tick made most of a worker's garbage.
   */
  queryAt(out: Entity[]): Entity[];
  /**
   * {@linkcode queryAt} giving handles instead of records. A handle's slot
   * ({@linkcode hitSlot}) reads the entity's id and position from the columns
   * (entity_positions.ts); the AOI diffs touch a record ({@linkcode hitRecord}) only for a row
   * that needs its type or data, since every record read is a likely cache miss.
   */
  queryHits(hits: Hits): void;
  /** The column slot (`Entity.slot`) of a handle of the last {@linkcode queryHits}. */
  hitSlot(handle: number): number;
  /** The record of a handle of the last {@linkcode queryHits}. */
  hitRecord(handle: number): Entity;
  /** Empties the index. */
  clear(): void;
}

interface Item {
  minX: number;
  minY: number;
  maxX: number;
  maxY: number;
  entity: Entity;
}

/**
 * Incrementally updated index answering "entities within r of a point" queries.
 * x/y are indexed; z (3D worlds) is checked exactly on each candidate.
 */
export class SpatialIndex implements EntityIndex {
  readonly slack: number;
  #tree = new RBush<Item>(16);
  #items = new Map<number, Item>();
  #box = { minX: 0, minY: 0, maxX: 0, maxY: 0 };
  /** How many times an entity was (re-)inserted; the fat box keeps this low. */
  reinserts = 0;

  /** @param slack how far an entity may move before it is re-filed (the fat-box margin). */
  constructor(slack: number) {
    this.slack = slack;
  }

  get size(): number {
    return this.#items.size;
  }

  /** Files a new entity or re-files a moved one when it left its fat box. */
  upsert(entity: Entity): void {
    const item = this.#items.get(entity.id);
    if (item) {
      if (
        item.entity === entity && entity.x >= item.minX && entity.x <= item.maxX &&
        entity.y >= item.minY && entity.y <= item.maxY
      ) return;
      this.#tree.remove(item);
    }
    const fresh: Item = {
      minX: entity.x - this.slack,
      minY: entity.y - this.slack,
      maxX: entity.x + this.slack,
      maxY: entity.y + this.slack,
      entity,
    };
    this.#items.set(entity.id, fresh);
    this.#tree.insert(fresh);
    this.reinserts++;
  }

  /** Drops an entity; unknown ids are ignored. */
  remove(id: number): void {
    const item = this.#items.get(id);
    if (!item) return;
    this.#tree.remove(item);
    this.#items.delete(id);
  }

  readonly at = new Float64Array(4);

  queryAt(out: Entity[]): Entity[] {
    const at = this.at;
    return this.query(at[0], at[1], at[2], at[3], out);
  }

  /** Fills `out` (cleared first) with entities within `radius` of the point and returns it. */
  query(x: number, y: number, z: number, radius: number, out: Entity[]): Entity[] {
    out.length = 0;
    const box = this.#box;
    box.minX = x - radius;
    box.minY = y - radius;
    box.maxX = x + radius;
    box.maxY = y + radius;
    const r2 = radius * radius;
    for (const item of this.#tree.search(box)) {
      const e = item.entity;
      const dx = e.x - x, dy = e.y - y, dz = e.z - z;
      if (dx * dx + dy * dy + dz * dz <= r2) out.push(e);
    }
    return out;
  }

  /** The records of the last queryHits; a handle is a position in it. */
  #hits: Entity[] = [];

  queryHits(hits: Hits): void {
    const found = this.queryAt(this.#hits);
    const handles = roomFor(hits, found.length);
    for (let i = 0; i < found.length; i++) handles[i] = i;
    hits.count = found.length;
  }

  hitSlot(handle: number): number {
    return this.#hits[handle].slot;
  }

  hitRecord(handle: number): Entity {
    return this.#hits[handle];
  }

  /** Empties the index. */
  clear(): void {
    this.#tree.clear();
    this.#items.clear();
    this.#hits.length = 0;
  }
}
