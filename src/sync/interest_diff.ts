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

/**
 * The sending side of every interest-driven copy: remembers which entities each peer holds a
 * copy of, and each tick fills that peer's op lists with creates (newly of interest), updates
 * (still of interest, written by an `update` callback) and deletes (no longer). Ghosts use it
 * with interest = the border band. (Replication, interest = everything owned, has a cheaper
 * diff of its own in replica.ts.)
 */
export class InterestDiff {
  #sent = new Map<string, Set<number>>();
  #next = new Map<string, Set<number>>();
  #peers = new Set<string>();

  /** Entity ids `peer` currently holds copies of (after the last tick). */
  heldBy(peer: string): ReadonlySet<number> {
    return this.#sent.get(peer) ?? EMPTY;
  }

  /** `peer` no longer holds a copy of the entity (without a delete being sent). */
  forgetEntity(id: number, peer: string): void {
    this.#sent.get(peer)?.delete(id);
  }

  /** `peer` holds a copy of the entity already: diff against that next tick. */
  assumeHeld(id: number, peer: string): void {
    let sent = this.#sent.get(peer);
    if (!sent) this.#sent.set(peer, sent = new Set());
    sent.add(id);
  }

  /** A peer went away (or stopped being of interest): forget what it held. */
  forgetPeer(peer: string): void {
    this.#sent.delete(peer);
    this.#next.delete(peer);
  }

  /** Peers holding copies now. */
  peers(): IterableIterator<string> {
    return this.#sent.keys();
  }

  /**
   * Asks `interest` which peers each owned entity concerns and appends ops to their lists:
   * creates and deletes here, and for an entity a peer holds already, `update(entity, peer)`
   * writes whatever update it needs (maybe none).
   */
  collect(
    owned: Iterable<Entity>,
    interest: (entity: Entity, out: Set<string>) => void,
    targetFor: (peer: string) => DiffTarget,
    update: (entity: Entity, peer: string) => void,
  ): void {
    const peers = this.#peers;
    for (const next of this.#next.values()) next.clear();
    for (const entity of owned) {
      peers.clear();
      interest(entity, peers);
      if (peers.size === 0) continue;
      for (const peer of peers) {
        let next = this.#next.get(peer);
        if (!next) this.#next.set(peer, next = new Set());
        next.add(entity.id);
        if (!this.#sent.get(peer)?.has(entity.id)) targetFor(peer).creates.push(entity);
        else update(entity, peer);
      }
    }
    for (const [peer, sent] of this.#sent) {
      const next = this.#next.get(peer);
      for (const id of sent) {
        if (!next?.has(id)) targetFor(peer).deletes.push(id);
      }
    }
    // Swap the double buffers: what was sent this tick is what the peers hold now.
    const previous = this.#sent;
    this.#sent = this.#next;
    this.#next = previous;
    for (const [peer, set] of this.#sent) if (set.size === 0) this.#sent.delete(peer);
  }
}

const EMPTY: ReadonlySet<number> = new Set();
