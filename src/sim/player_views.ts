// Each owned player's area-of-interest view: what its client was last sent of every visible
// entity (position and data version), and the DIFF that brings it up to date. Player sessions
// (player_sessions.ts) decide when a view starts afresh, is diffed, or is dropped.
import type { Entity } from "../world/entity.ts";
import type { SessionDiff } from "../session/session_messages.ts";
import type { EntityIndex } from "../world/spatial_index.ts";
import { DataVersions } from "./data_versions.ts";

interface View {
  /** Per visible entity: the position and data version (src/sim/data_versions.ts) last sent. */
  known: Map<number, { x: number; y: number; z: number; data: number }>;
  full: boolean;
}

const scratch: Entity[] = [];

/** The views of the players owned by one space, by entity id. */
export class PlayerViews {
  #views = new Map<number, View>();
  #aoiRadius: number;
  #dataVersions: DataVersions;

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
   * `index` as of `tick`, which it then records as sent; undefined for a detached player.
   */
  diff(index: EntityIndex, tick: number, player: Entity): SessionDiff | undefined {
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
    };
    const visible = index.query(player.x, player.y, player.z, this.#aoiRadius, scratch);
    const seen = new Set<number>();
    for (const e of visible) {
      seen.add(e.id);
      const last = view.known.get(e.id);
      const data = this.#dataVersions.of(e, tick);
      if (!last) {
        diff.enter.push([e.id, e.type, e.x, e.y, e.z, e.data]);
        view.known.set(e.id, { x: e.x, y: e.y, z: e.z, data });
      } else if (last.data !== data) {
        // The whole data, only when it changed (docs/protocol.md, DIFF).
        diff.update.push([e.id, e.x, e.y, e.z, e.data]);
        last.x = e.x;
        last.y = e.y;
        last.z = e.z;
        last.data = data;
      } else if (last.x !== e.x || last.y !== e.y || last.z !== e.z) {
        diff.update.push([e.id, e.x, e.y, e.z]);
        last.x = e.x;
        last.y = e.y;
        last.z = e.z;
      }
    }
    for (const id of view.known.keys()) {
      if (!seen.has(id)) {
        diff.leave.push(id);
        view.known.delete(id);
      }
    }
    view.full = false;
    return diff;
  }
}
