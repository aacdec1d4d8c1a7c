// The sending side of every interest-driven copy: which entities each peer holds a copy of, and
// the per-tick create/update/delete diff against that. Ghost sync (src/sync/ghosts.ts) is its user.
import type { EntityState } from "./batch_codec.ts";
import type { Entity } from "../world/entity.ts";

/** The op lists a diff writes for one peer (a batch's ghost ops). */
export interface DiffTarget {
  creates: EntityState[];
  updates: EntityState[];
  deletes: number[];
}

/** A copy a peer holds: the pass of `collect` that last found it of interest. */
interface Held {
  seen: number;
}

/**
 * The sending side of every interest-driven copy: remembers which entities each peer holds a
 * copy of, and each tick fills that peer's op lists with creates (newly of interest), updates
 * (still of interest, written by an `update` callback) and deletes (no longer). Ghosts use it
 * with interest = the border band. (Replication, interest = everything owned, has a cheaper
 * diff of its own in replica.ts.)
 *
 * Each peer's copies are one map of id → the pass that last saw it, so an entity of interest
 * costs one lookup per peer and a tick no set rebuilt; the copies a pass did not see are the
 * deletes.
 */
export class InterestDiff {
  #held = new Map<string, Map<number, Held>>();
  #pass = 0;
  #peers: string[] = [];

  /** Entity ids `peer` currently holds copies of (after the last tick), as the map's keys. */
  heldBy(peer: string): ReadonlyMap<number, unknown> {
    return this.#held.get(peer) ?? EMPTY;
  }

  /** `peer` no longer holds a copy of the entity (without a delete being sent). */
  forgetEntity(id: number, peer: string): void {
    this.#held.get(peer)?.delete(id);
  }

  /** `peer` holds a copy of the entity already: diff against that next tick. */
  assumeHeld(id: number, peer: string): void {
    let held = this.#held.get(peer);
    if (!held) this.#held.set(peer, held = new Map());
    // Seen by the last pass: the next one updates it, or deletes it when it is of no interest.
    held.set(id, { seen: this.#pass });
  }

  /** A peer went away (or stopped being of interest): forget what it held. */
  forgetPeer(peer: string): void {
    this.#held.delete(peer);
  }

  /** Peers holding copies now. */
  peers(): IterableIterator<string> {
    return this.#held.keys();
  }

  /**
   * Asks `interest` which peers each owned entity concerns (writing each once to `out` from
   * index 0, returning how many) and appends ops to their lists: creates and deletes here, and
   * for an entity a peer holds already, `update(entity, peer)` writes whatever update it needs
   * (maybe none).
   */
  collect(
    owned: readonly Entity[],
    interest: (entity: Entity, out: string[]) => number,
    targetFor: (peer: string) => DiffTarget,
    update: (entity: Entity, peer: string) => void,
  ): void {
    const pass = ++this.#pass;
    const peers = this.#peers;
    const all = this.#held;
    for (let e = 0; e < owned.length; e++) {
      const entity = owned[e];
      const count = interest(entity, peers);
      for (let i = 0; i < count; i++) {
        const peer = peers[i];
        let held = all.get(peer);
        if (!held) all.set(peer, held = new Map());
        const copy = held.get(entity.id);
        if (copy === undefined) {
          held.set(entity.id, { seen: pass });
          targetFor(peer).creates.push(entity);
        } else {
          copy.seen = pass;
          update(entity, peer);
        }
      }
    }
    for (const [peer, held] of all) {
      for (const [id, copy] of held) {
        if (copy.seen === pass) continue;
        targetFor(peer).deletes.push(id);
        held.delete(id);
      }
      if (held.size === 0) all.delete(peer);
    }
  }
}

const EMPTY: ReadonlyMap<number, unknown> = new Map();
