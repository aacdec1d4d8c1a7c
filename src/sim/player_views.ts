// Each owned player's area-of-interest view: what its client was last sent of every visible
// entity (position and data version), and the DIFF that brings it up to date. Player sessions
// (player_sessions.ts) decide when a view starts afresh, is diffed, or is dropped.
import type { Entity } from "../world/entity.ts";
import type { EnterRow, SessionDiff, UpdateRow } from "../session/session_messages.ts";
import type { EntityIndex } from "../world/spatial_index.ts";
import { DataVersions } from "./data_versions.ts";

interface Known {
  id: number;
  x: number;
  y: number;
  z: number;
  /** Data version (src/sim/data_versions.ts) last sent. */
  data: number;
  /** The last diff that found the entity visible (`PlayerViews.#pass`). */
  seen: number;
}

interface View {
  /** Per visible entity: what its client was last sent. */
  known: Map<number, Known>;
  full: boolean;
}

/**
 * The rows of one entity at one tick, made once and put in every player's diff that needs
 * them: a report lists each row once however many players see it (session_wire.ts), and the
 * gateway encodes it once for all of its clients.
 */
interface Rows {
  enter?: EnterRow;
  /** Position and whole data. */
  data?: UpdateRow;
  move?: UpdateRow;
}

const scratch: Entity[] = [];

/** The views of the players owned by one space, by entity id. */
export class PlayerViews {
  #views = new Map<number, View>();
  #aoiRadius: number;
  #dataVersions: DataVersions;
  /** Rows made at `#rowsTick`, by entity id. */
  #rows = new Map<number, Rows>();
  #rowsTick = -1;
  /** Counts diffs: an entity's `Known.seen` equal to the current pass was seen by it. */
  #pass = 0;

  /** `dataVersions` is shared with the space's ghost sync (default: the views' own). */
  constructor(aoiRadius: number, dataVersions: DataVersions = new DataVersions()) {
    this.#aoiRadius = aoiRadius;
    this.#dataVersions = dataVersions;
  }

  /** Starts the player's view afresh: its next DIFF is full. */
  reset(id: number): void {
    this.#views.set(id, { known: new Map(), full: true });
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
   * diff is labelled `shown`: the tick whose state the index holds.
   */
  diff(index: EntityIndex, tick: number, player: Entity, shown = tick): SessionDiff | undefined {
    const session = player.session;
    if (!session || session.detachedAt !== 0) return undefined;
    const view = this.#views.get(player.id)!;
    const diff: SessionDiff = {
      session: session.id,
      entity: player.id,
      ack: session.lastSeq,
      full: view.full,
      enter: [],
      update: [],
      leave: [],
      tick: shown,
    };
    if (tick !== this.#rowsTick) {
      this.#rows.clear();
      this.#rowsTick = tick;
    }
    const pass = ++this.#pass;
    const visible = index.query(player.x, player.y, player.z, this.#aoiRadius, scratch);
    for (const e of visible) {
      const last = view.known.get(e.id);
      const data = this.#dataVersions.of(e, tick);
      if (last !== undefined && last.data === data) {
        last.seen = pass;
        if (last.x === e.x && last.y === e.y && last.z === e.z) continue;
        diff.update.push(this.#rowsOf(e).move ??= [e.id, e.x, e.y, e.z]);
      } else if (last === undefined) {
        diff.enter.push(this.#rowsOf(e).enter ??= [e.id, e.type, e.x, e.y, e.z, e.data]);
        view.known.set(e.id, { id: e.id, x: e.x, y: e.y, z: e.z, data, seen: pass });
        continue;
      } else {
        // The whole data, only when it changed (docs/protocol.md, DIFF).
        diff.update.push(this.#rowsOf(e).data ??= [e.id, e.x, e.y, e.z, e.data]);
        last.data = data;
        last.seen = pass;
      }
      last.x = e.x;
      last.y = e.y;
      last.z = e.z;
    }
    for (const known of view.known.values()) {
      if (known.seen !== pass) {
        diff.leave.push(known.id);
        view.known.delete(known.id);
      }
    }
    view.full = false;
    return diff;
  }

  #rowsOf(e: Entity): Rows {
    let rows = this.#rows.get(e.id);
    if (rows === undefined) {
      rows = {};
      this.#rows.set(e.id, rows);
    }
    return rows;
  }
}
