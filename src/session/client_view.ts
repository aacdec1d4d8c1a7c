// What one client has been told about its area of interest: the gateway's mirror of the
// client's entity set. It turns workers' diffs into a consistent stream (no double enter, no
// update or leave of an unknown entity, no update repeating what the client has, full sets into
// diffs) and builds full snapshots.
import { isDeepStrictEqual } from "node:util";
import type { EntityData } from "../world/entity.ts";
import {
  type DiffMessage,
  type EnterRecord,
  Op,
  type UpdateRecord,
} from "../protocol/client_protocol.ts";

interface Entry {
  type: string;
  x: number;
  y: number;
  z: number;
  data: EntityData | undefined;
  /** Generation of the last full set that listed this entry. */
  seen: number;
}

/** Counts of worker records the view had to repair; non-zero values point at a worker bug. */
export interface ViewRepairs {
  /** An enter of an entity already visible, sent on as an update. */
  reentered: number;
  /** An update of an entity not visible, dropped (its type is unknown). */
  unknownUpdates: number;
  /** A leave of an entity not visible, dropped. */
  unknownLeaves: number;
}

/**
 * The mirror of one client's visible entities. Feed it every diff a worker computes for the
 * player, even when the send queue discards the frame: it then always knows what a full
 * snapshot must contain. Records are applied in the protocol's order: `leave`, then `enter`,
 * then `update`. An update keeps its data only when it differs from the client's copy, and is
 * dropped when it changes nothing: a worker that sees an entity afresh (a handoff, a new ghost
 * record, its full set after adopting a player) cannot know what the client already has.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * const view = new ClientView();
 * view.apply({ op: 6, tick: 1, ack: 0, enter: [[7, "npc", 1, 2, 0]], update: [], leave: [] });
 * // A worker that takes over after a handoff sends its full set; the client gets a diff.
 * const diff = view.apply({
 *   op: 6, tick: 2, ack: 3, full: true, enter: [[8, "npc", 5, 5, 0]], update: [], leave: [],
 * });
 * assert.deepEqual([diff.enter, diff.leave, diff.full], [[[8, "npc", 5, 5, 0]], [7], undefined]);
 * assert.deepEqual(view.snapshot().enter, [[8, "npc", 5, 5, 0]]);
 * ```
 */
export class ClientView {
  #entries = new Map<number, Entry>();
  #generation = 0;
  #tick = -1;
  #ack = 0;
  readonly repairs: ViewRepairs = { reentered: 0, unknownUpdates: 0, unknownLeaves: 0 };

  /** Entities visible now. */
  get size(): number {
    return this.#entries.size;
  }

  /** Tick of the last diff applied (-1 before the first). */
  get tick(): number {
    return this.#tick;
  }

  /** Input ack of the last diff applied. */
  get ack(): number {
    return this.#ack;
  }

  /** True when entity `id` is visible. */
  has(id: number): boolean {
    return this.#entries.has(id);
  }

  /**
   * Applies a worker's diff for this player and returns the diff to send the client: the same
   * records minus the ones that would contradict what the client knows. A diff with `full`
   * lists everything visible; it is turned into enters, updates and leaves against the view.
   */
  apply(diff: DiffMessage): DiffMessage {
    this.#tick = diff.tick;
    this.#ack = diff.ack;
    return diff.full ? this.#applyFull(diff) : this.#applyIncremental(diff);
  }

  /** A full snapshot (`full: true`, `enter` lists every visible entity) at the last tick. */
  snapshot(): DiffMessage {
    const enter: EnterRecord[] = [];
    for (const [id, e] of this.#entries) enter.push(enterRecord(id, e));
    return {
      op: Op.DIFF,
      tick: Math.max(0, this.#tick),
      ack: this.#ack,
      full: true,
      enter,
      update: [],
      leave: [],
    };
  }

  /** Forgets everything (the player's entity is gone). */
  clear(): void {
    this.#entries.clear();
  }

  #applyIncremental(diff: DiffMessage): DiffMessage {
    const leave: number[] = [];
    for (const id of diff.leave) {
      if (this.#entries.delete(id)) leave.push(id);
      else this.repairs.unknownLeaves++;
    }
    // The worker's lists are passed on as they are (often one array shared by many clients,
    // encoded once: hub.ts) until a record must be dropped or changed; only then is a list
    // copied, up to that record.
    let enter: EnterRecord[] | undefined;
    let update: UpdateRecord[] | undefined;
    const records = diff.enter;
    for (let k = 0; k < records.length; k++) {
      const record = records[k];
      const entry = this.#entries.get(record[0]);
      if (entry) {
        this.repairs.reentered++;
        enter ??= records.slice(0, k);
        update ??= [];
        this.#move(update, record[0], entry, record[2], record[3], record[4], record[5]);
      } else {
        this.#add(record);
        enter?.push(record);
      }
    }
    const updates = diff.update;
    for (let k = 0; k < updates.length; k++) {
      const record = updates[k];
      const entry = this.#entries.get(record[0]);
      if (!entry) {
        this.repairs.unknownUpdates++;
        update ??= updates.slice(0, k);
        continue;
      }
      const data = record.length > 4 ? record[4] : undefined;
      if (data !== undefined && isDeepStrictEqual(data, entry.data)) {
        // Data the client has already: sent on as a move, if it moved.
        update ??= updates.slice(0, k);
        this.#move(update, record[0], entry, record[1], record[2], record[3], undefined);
        continue;
      }
      const x = record[1], y = record[2], z = record[3];
      if (data === undefined && entry.x === x && entry.y === y && entry.z === z) {
        update ??= updates.slice(0, k);
        continue;
      }
      entry.x = x;
      entry.y = y;
      entry.z = z;
      if (data !== undefined) entry.data = data;
      update?.push(record);
    }
    return {
      op: Op.DIFF,
      tick: diff.tick,
      ack: diff.ack,
      enter: enter ?? records,
      update: update ?? updates,
      leave: leave.length === diff.leave.length ? diff.leave : leave,
    };
  }

  #applyFull(diff: DiffMessage): DiffMessage {
    const generation = ++this.#generation;
    const enter: EnterRecord[] = [];
    const update: UpdateRecord[] = [];
    for (const record of diff.enter) {
      const entry = this.#entries.get(record[0]);
      if (entry) {
        this.#move(update, record[0], entry, record[2], record[3], record[4], record[5]);
        entry.seen = generation;
      } else {
        this.#add(record).seen = generation;
        enter.push(record);
      }
    }
    const leave: number[] = [];
    for (const [id, entry] of this.#entries) {
      if (entry.seen !== generation) {
        this.#entries.delete(id);
        leave.push(id);
      }
    }
    return { op: Op.DIFF, tick: diff.tick, ack: diff.ack, enter, update, leave };
  }

  #add(record: EnterRecord): Entry {
    const entry: Entry = {
      type: record[1],
      x: record[2],
      y: record[3],
      z: record[4],
      data: record[5],
      seen: this.#generation,
    };
    this.#entries.set(record[0], entry);
    return entry;
  }

  /** Moves the entry and adds the update record the client needs to `out`, if any. */
  #move(
    out: UpdateRecord[],
    id: number,
    entry: Entry,
    x: number,
    y: number,
    z: number,
    data: EntityData | undefined,
  ): void {
    const newData = data !== undefined && !isDeepStrictEqual(data, entry.data);
    if (!newData && entry.x === x && entry.y === y && entry.z === z) return;
    entry.x = x;
    entry.y = y;
    entry.z = z;
    if (!newData) {
      out.push([id, x, y, z]);
      return;
    }
    entry.data = data;
    out.push([id, x, y, z, data]);
  }
}

function enterRecord(id: number, e: Entry): EnterRecord {
  return e.data === undefined ? [id, e.type, e.x, e.y, e.z] : [id, e.type, e.x, e.y, e.z, e.data];
}
