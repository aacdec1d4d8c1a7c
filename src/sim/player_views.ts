// Each owned player's area-of-interest view: what its client was last sent of every visible
// entity (position and data version), and the DIFF that brings it up to date. Player sessions
// (player_sessions.ts) decide when a view starts afresh, is diffed, or is dropped.
//
// A view is a table of numbers sorted by entity id, not a map of objects: a diff sorts what the
// AOI query found by id and merges it with the table, so entering, staying and leaving come out
// of one pass with no hash lookup and no allocation per visible entity. At 2,000 players among
// 20,000 entities (16 in sight each) the map of per-entity objects cost ~27 ms a snapshot, far
// more than the queries (1.4 ms): every lookup and every remembered entity was a cache miss.
import type { Entity } from "../world/entity.ts";
import type { EnterRow, SessionDiff, UpdateRow } from "../session/session_messages.ts";
import type { EntityIndex } from "../world/spatial_index.ts";
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
 * The rows of one entity in the state of one tick, made once and put in every player's diff
 * that needs them: a report lists each row once however many players see it (session_wire.ts),
 * and the gateway encodes it once for all of its clients. Kept on the entity record
 * (`Entity.viewRows`) and reused from tick to tick, so finding them costs no lookup.
 */
export interface ViewRows {
  /** The views (one space's) and the shown tick (whose state they hold) of the rows below. */
  views: PlayerViews | undefined;
  shown: number;
  enter: EnterRow | undefined;
  /** Position and whole data. */
  data: UpdateRow | undefined;
  move: UpdateRow | undefined;
}

const scratch: Entity[] = [];

function byId(a: Entity, b: Entity): number {
  return a.id - b.id;
}

/** Sorts `entities` by id in place (ids are unique: the index files one record per id). */
function sortById(entities: Entity[]): void {
  const n = entities.length;
  if (n > INSERTION_SORT_MAX) {
    entities.sort(byId);
    return;
  }
  for (let i = 1; i < n; i++) {
    const e = entities[i], id = e.id;
    let j = i - 1;
    while (j >= 0 && entities[j].id > id) {
      entities[j + 1] = entities[j];
      j--;
    }
    entities[j + 1] = e;
  }
}

/** The views of the players owned by one space, by entity id. */
export class PlayerViews {
  #views = new Map<number, View>();
  #aoiRadius: number;
  #dataVersions: DataVersions;
  /** Entries of the views diffed since the last `prepare`. */
  #entries = 0;

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
   * Before the diffs of tick `tick` showing the state of `shown`: checks the data version of
   * each owned entity and readies its rows, in the order they are stored. The diffs then find
   * both on the record at once; left to them, in the AOI queries' order, the same work cost
   * twice as much in cache misses (20,000 entities: 2.6 against 1.3 ms). Done only when the
   * last collect's views held at least half as many entries as there are owned entities: a
   * few players in a big world see a small part of it, and this would check all of it.
   */
  prepare(owned: ReadonlyMap<number, Entity>, tick: number, shown: number): void {
    const entries = this.#entries;
    this.#entries = 0;
    if (entries * 2 < owned.size) return;
    const versions = this.#dataVersions;
    for (const e of owned.values()) {
      versions.of(e, tick);
      this.#rowsOf(e, shown);
    }
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
    const visible = index.query(player.x, player.y, player.z, this.#aoiRadius, scratch);
    sortById(visible);
    this.#entries += visible.length;
    if (view.spare.length < visible.length * STRIDE) {
      view.spare = new Float64Array(
        Math.max(visible.length, view.spare.length / STRIDE * 2) * STRIDE,
      );
    }
    const old = view.known, count = view.count, next = view.spare, versions = this.#dataVersions;
    let o = 0, n = 0;
    for (let k = 0; k < visible.length; k++) {
      const e = visible[k], id = e.id;
      while (o < count && old[o * STRIDE] < id) leave.push(old[o++ * STRIDE]);
      const data = versions.of(e, tick);
      const x = e.x, y = e.y, z = e.z;
      if (o < count && old[o * STRIDE] === id) {
        const at = o++ * STRIDE;
        if (old[at + 1] !== data) {
          // The whole data, only when it changed (docs/protocol.md, DIFF).
          update.push(this.#rowsOf(e, shown).data ??= [id, x, y, z, e.data]);
        } else if (old[at + 2] !== x || old[at + 3] !== y || old[at + 4] !== z) {
          update.push(this.#rowsOf(e, shown).move ??= [id, x, y, z]);
        }
      } else {
        enter.push(this.#rowsOf(e, shown).enter ??= [id, e.type, x, y, z, e.data]);
      }
      const at = n++ * STRIDE;
      next[at] = id;
      next[at + 1] = data;
      next[at + 2] = x;
      next[at + 3] = y;
      next[at + 4] = z;
    }
    while (o < count) leave.push(old[o++ * STRIDE]);
    view.known = next;
    view.spare = old;
    view.count = n;
    view.full = false;
    return diff;
  }

  /**
   * The entity's rows in the state of tick `shown` (emptied when they hold another tick's or
   * another space's). Keyed by the state shown, not the tick being run: a tick that collects at
   * its start (the tick before's state) and at its end (its own) makes two sets.
   */
  #rowsOf(e: Entity, shown: number): ViewRows {
    let rows = e.viewRows;
    if (rows === undefined) {
      rows = e.viewRows = {
        views: this,
        shown,
        enter: undefined,
        data: undefined,
        move: undefined,
      };
    } else if (rows.shown !== shown || rows.views !== this) {
      rows.views = this;
      rows.shown = shown;
      rows.enter = rows.data = rows.move = undefined;
    }
    return rows;
  }
}
