// Each owned player's area-of-interest view: what its client was last sent of every visible
// entity (position and data version), and the DIFF that brings it up to date. Player sessions
// (player_sessions.ts) decide when a view starts afresh, is diffed, or is dropped.
//
// Memory, not arithmetic, is what a diff costs: 2,000 players among 20,000 entities see ~16
// each, and each entity record, data object or map entry read in AOI order is a likely cache
// miss. So a view is a table of numbers sorted by entity id, merged with the AOI query sorted
// by id in one pass (entering, staying and leaving fall out of it, no hash lookup); the query
// gives index handles (EntityIndex.queryHits), and ids, positions and data versions are read
// from the slot columns (entity_positions.ts); the rows made this tick are found by slot too,
// and each diff says where its rows sit in the tick's row table (SessionDiff.refs), so the
// report is written without looking them up.
// A record is read only to make a row that carries its type or data. A map of per-entity
// objects cost ~27 ms a snapshot in process at that size, the queries alone 1.4 ms.
import type { Entity } from "../world/entity.ts";
import type { EnterRow, RowTable, SessionDiff, UpdateRow } from "../session/session_messages.ts";
import type { EntityIndex, Hits } from "../world/spatial_index.ts";
import { dataColumns, positions, slotsUsed } from "../world/entity_positions.ts";
import { DataVersions } from "./data_versions.ts";

/** Numbers per entity in a view's table: id, data version last sent, x, y, z last sent. */
const STRIDE = 5;
/** Entities a new view's tables have room for before they grow. */
const INITIAL_ENTRIES = 16;
/** Up to this many visible entities are sorted by insertion (the usual AOI holds ~16). */
const INSERTION_SORT_MAX = 32;

interface View {
  /** What its client was last sent of each visible entity, `count` entries sorted by id. */
  known: Float64Array;
  /** The table the next diff writes, then swapped with `known`. */
  spare: Float64Array;
  count: number;
  full: boolean;
}

/**
 * Where the rows made of each record (by slot) in the state of one tick sit in that state's
 * {@linkcode RowTable}: one row per entity and kind, put in every player's diff that needs
 * it, so a report lists each row once however many players see it (session_wire.ts) and the
 * gateway encodes it once for all of its clients. `stamp[slot]` says which views and state the
 * slot's positions are of ({@linkcode PlayerViews}' `#stamp`); a record belongs to one space, so
 * one table serves every space of the process.
 */
const rows = {
  stamp: new Float64Array(0),
  enterAt: new Int32Array(0),
  dataAt: new Int32Array(0),
  moveAt: new Int32Array(0),
};
/** The last stamp handed out (a new one per views per shown state). */
let stamps = 0;

/** Room in the rows table for every slot handed out so far. */
function rowsRoom(): void {
  const need = slotsUsed();
  if (rows.stamp.length >= need) return;
  const size = Math.max(need, rows.stamp.length * 2, 1024);
  const stamp = new Float64Array(size);
  stamp.set(rows.stamp);
  rows.stamp = stamp;
  for (const kind of ["enterAt", "dataAt", "moveAt"] as const) {
    const at = new Int32Array(size);
    at.set(rows[kind]);
    rows[kind] = at;
  }
}

const hits: Hits = { handles: new Int32Array(256), count: 0 };
/** The hits of one diff, sorted by id: each one's handle, column slot and id. */
let sortedHandles = new Int32Array(256);
let sortedSlots = new Int32Array(256);
let sortedIds = new Float64Array(256);
/** Positions 0..n-1 for sorting more than INSERTION_SORT_MAX hits. */
const order: number[] = [];

/** Fills the sorted arrays with the `hits` of `index`, in id order (ids are unique). */
function sortHits(index: EntityIndex): number {
  const n = hits.count, handles = hits.handles, ids = positions.id;
  if (sortedHandles.length < n) {
    const size = Math.max(n, sortedHandles.length * 2);
    sortedHandles = new Int32Array(size);
    sortedSlots = new Int32Array(size);
    sortedIds = new Float64Array(size);
  }
  const outHandles = sortedHandles, outSlots = sortedSlots, outIds = sortedIds;
  if (n <= INSERTION_SORT_MAX) {
    for (let i = 0; i < n; i++) {
      const handle = handles[i], slot = index.hitSlot(handle), id = ids[slot];
      let j = i - 1;
      while (j >= 0 && outIds[j] > id) {
        outHandles[j + 1] = outHandles[j];
        outSlots[j + 1] = outSlots[j];
        outIds[j + 1] = outIds[j];
        j--;
      }
      outHandles[j + 1] = handle;
      outSlots[j + 1] = slot;
      outIds[j + 1] = id;
    }
    return n;
  }
  // A crowd: the same by one sort of positions, keyed by the hits' ids.
  for (let i = 0; i < n; i++) {
    outSlots[i] = index.hitSlot(handles[i]);
    outIds[i] = ids[outSlots[i]];
  }
  order.length = n;
  for (let i = 0; i < n; i++) order[i] = i;
  order.sort((a, b) => outIds[a] - outIds[b]);
  for (let i = 0; i < n; i++) {
    const from = order[i];
    outHandles[i] = handles[from];
    outSlots[i] = index.hitSlot(handles[from]);
    outIds[i] = ids[outSlots[i]];
  }
  return n;
}

/** The views of the players owned by one space, by entity id. */
export class PlayerViews {
  #views = new Map<number, View>();
  #aoiRadius: number;
  #dataVersions: DataVersions;
  /** Entries of the views diffed since the last `prepare`. */
  #entries = 0;
  /** This views' rows stamp, the shown state it is for, and the rows made for it. */
  #stamp = 0;
  #stampShown = Number.NaN;
  #table: RowTable = { rows: [] };

  /** `dataVersions` is shared with the space's ghost sync (default: the views' own). */
  constructor(aoiRadius: number, dataVersions: DataVersions = new DataVersions()) {
    this.#aoiRadius = aoiRadius;
    this.#dataVersions = dataVersions;
  }

  /** Starts the player's view afresh: its next DIFF is full. */
  reset(id: number): void {
    const size = INITIAL_ENTRIES * STRIDE;
    this.#views.set(id, {
      known: new Float64Array(size),
      spare: new Float64Array(size),
      count: 0,
      full: true,
    });
  }

  /**
   * Before the diffs of tick `tick`: checks the data version of each owned entity, in the
   * order they are stored. The diffs then read it from a column; left to them, in the AOI
   * queries' order, the same checks cost twice as much in cache misses (20,000 entities: 2.6
   * against 1.3 ms). Done only when the last collect's views held at least half as many
   * entries as there are owned entities: a few players in a big world see a small part of it,
   * and this would check all of it.
   */
  prepare(owned: ReadonlyMap<number, Entity>, tick: number): void {
    const entries = this.#entries;
    this.#entries = 0;
    if (entries * 2 < owned.size) return;
    const versions = this.#dataVersions;
    for (const e of owned.values()) versions.of(e, tick);
  }

  /** Drops the player's view (it left). */
  delete(id: number): void {
    this.#views.delete(id);
  }

  /** Ids of the players with a view (deleting while iterating is safe). */
  ids(): IterableIterator<number> {
    return this.#views.keys();
  }

  /**
   * The DIFF of a connected player's view against the entities within its AOI radius in
   * `index` as of `tick`, which it then records as sent; undefined for a detached player. The
   * diff is labelled `shown`: the tick whose state the index holds. Rows and left ids come in
   * id order.
   */
  diff(index: EntityIndex, tick: number, player: Entity, shown = tick): SessionDiff | undefined {
    const session = player.session;
    if (!session || session.detachedAt !== 0) return undefined;
    const view = this.#views.get(player.id)!;
    const enter: EnterRow[] = [], update: UpdateRow[] = [], leave: number[] = [];
    const diff: SessionDiff = {
      session: session.id,
      entity: player.id,
      ack: session.lastSeq,
      full: view.full,
      enter,
      update,
      leave,
      tick: shown,
    };
    // Rows are shared within one state shown: a tick that collects at its start (the tick
    // before's state) and at its end (its own) makes two sets.
    if (shown !== this.#stampShown) {
      this.#stampShown = shown;
      this.#stamp = ++stamps;
      this.#table = { rows: [] };
    }
    const stamp = this.#stamp, table = this.#table, made = table.rows;
    rowsRoom();
    const at = index.at;
    at[0] = player.x;
    at[1] = player.y;
    at[2] = player.z;
    at[3] = this.#aoiRadius;
    index.queryHits(hits);
    const n = sortHits(index);
    this.#entries += n;
    if (view.spare.length < n * STRIDE) {
      view.spare = new Float64Array(Math.max(n, view.spare.length / STRIDE * 2) * STRIDE);
    }
    const old = view.known, count = view.count, next = view.spare, versions = this.#dataVersions;
    const px = positions.x, py = positions.y, pz = positions.z;
    const { checked, version } = dataColumns;
    const { stamp: rowStamp, enterAt, dataAt, moveAt } = rows;
    const enterRefs: number[] = [], updateRefs: number[] = [];
    let o = 0;
    for (let k = 0; k < n; k++) {
      const slot = sortedSlots[k], id = sortedIds[k];
      while (o < count && old[o * STRIDE] < id) leave.push(old[o++ * STRIDE]);
      const data = checked[slot] === tick
        ? version[slot]
        : versions.of(index.hitRecord(sortedHandles[k]), tick);
      const x = px[slot], y = py[slot], z = pz[slot];
      if (rowStamp[slot] !== stamp) {
        rowStamp[slot] = stamp;
        enterAt[slot] = dataAt[slot] = moveAt[slot] = -1;
      }
      if (o < count && old[o * STRIDE] === id) {
        const was = o++ * STRIDE;
        if (old[was + 1] !== data) {
          // The whole data, only when it changed (docs/protocol.md, DIFF).
          let at = dataAt[slot];
          if (at < 0) {
            dataAt[slot] = at = made.length;
            made.push([id, x, y, z, index.hitRecord(sortedHandles[k]).data]);
          }
          update.push(made[at] as UpdateRow);
          updateRefs.push(at);
        } else if (old[was + 2] !== x || old[was + 3] !== y || old[was + 4] !== z) {
          let at = moveAt[slot];
          if (at < 0) {
            moveAt[slot] = at = made.length;
            made.push([id, x, y, z]);
          }
          update.push(made[at] as UpdateRow);
          updateRefs.push(at);
        }
      } else {
        let at = enterAt[slot];
        if (at < 0) {
          const e = index.hitRecord(sortedHandles[k]);
          enterAt[slot] = at = made.length;
          made.push([id, e.type, x, y, z, e.data]);
        }
        enter.push(made[at] as EnterRow);
        enterRefs.push(at);
      }
      const to = k * STRIDE;
      next[to] = id;
      next[to + 1] = data;
      next[to + 2] = x;
      next[to + 3] = y;
      next[to + 4] = z;
    }
    while (o < count) leave.push(old[o++ * STRIDE]);
    diff.refs = { table, enter: enterRefs, update: updateRefs };
    view.known = next;
    view.spare = old;
    view.count = n;
    view.full = false;
    return diff;
  }
}
