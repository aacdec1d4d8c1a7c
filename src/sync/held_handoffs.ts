// Handoffs a worker sent and holds until their receiver confirms them, so nothing handed to a
// worker that dies is lost: on its death they are sent again to the cell's new owner, which
// drops those it already has (from its mirror). Also the receiver's memory of handoffs it
// processed, so a replay is acknowledged and not adopted twice.
import type { Handoff, HandoffAck } from "./batch_codec.ts";

/** A handoff waiting for its receiver's acknowledgement. */
export interface HeldHandoff {
  handoff: Handoff;
  /** The worker it was sent to; "" once that worker died and a new receiver is due. */
  to: string;
  /** Local tick it was (last) sent at. */
  sentAt: number;
  /**
   * Once `to` died: its backup, which holds its mirror and so knows whether the dead worker had
   * adopted the entity ("" = none; the cell's new owner takes it).
   */
  heir?: string;
}

/** The sender's side: one held handoff per entity. */
export class HeldHandoffs {
  readonly held = new Map<number, HeldHandoff>();

  get size(): number {
    return this.held.size;
  }

  /** Holds a handoff just sent to `to` at `tick` (a newer one of the same entity replaces it). */
  hold(handoff: Handoff, to: string, tick: number): void {
    this.held.set(handoff.entity.id, { handoff, to, sentAt: tick });
  }

  /** The receiver confirmed: stop holding. False when it was not held (a late duplicate). */
  acknowledged(ack: HandoffAck): boolean {
    const held = this.held.get(ack.entity);
    if (!held || held.handoff.tick !== ack.tick) return false;
    this.held.delete(ack.entity);
    return true;
  }

  /**
   * The receivers that died: their handoffs wait for a new receiver, the dead one's heir (its
   * backup) when it has one. Returns how many.
   */
  orphan(dead: ReadonlySet<string>, heirOf: (dead: string) => string): number {
    let n = 0;
    for (const held of this.held.values()) {
      if (!dead.has(held.to)) continue;
      held.heir = heirOf(held.to);
      held.to = "";
      n++;
    }
    return n;
  }

  /**
   * Handoffs to send again: those without a live receiver (see {@linkcode orphan}) and those
   * unconfirmed since before `staleBefore` (a lost batch; the receiver drops duplicates).
   */
  *due(staleBefore: number): Generator<HeldHandoff> {
    for (const held of this.held.values()) {
      if (held.to === "" || held.sentAt < staleBefore) yield held;
    }
  }

  /** Stops holding an entity's handoff (it is owned here again). */
  release(id: number): void {
    this.held.delete(id);
  }

  clear(): void {
    this.held.clear();
  }
}

/**
 * The receiver's side: the tick of the last handoff processed per entity, kept for a while, so
 * a replay (a dead sender's backup sending what the sender held) is recognised.
 */
export class ProcessedHandoffs {
  #ticks = new Map<number, { tick: number; at: number }>();

  /** Records that the handoff of `entity` at `tick` was processed at local tick `at`. */
  note(entity: number, tick: number, at: number): void {
    this.#ticks.set(entity, { tick, at });
  }

  /** True when this handoff (or a later one of the same entity) was processed already. */
  seen(entity: number, tick: number): boolean {
    const last = this.#ticks.get(entity);
    return last !== undefined && last.tick >= tick;
  }

  /** Forgets what was processed before local tick `before`. */
  expire(before: number): void {
    for (const [id, { at }] of this.#ticks) if (at < before) this.#ticks.delete(id);
  }

  clear(): void {
    this.#ticks.clear();
  }
}

/**
 * The receiver's acknowledgements waiting for its backup: a handoff is confirmed to its sender
 * only once the backup acknowledged the tick that mirrored the entity, so the sender holds it
 * until a death of the receiver cannot lose it.
 */
export class DeferredAcks {
  #waiting: Array<{ to: string; ack: HandoffAck; tick: number }> = [];
  /** The backup acknowledged replica ops up to this tick. */
  #mirroredUpTo = 0;

  get size(): number {
    return this.#waiting.length;
  }

  /** An acknowledgement for `to`, due once the backup has mirrored tick `tick`. */
  defer(to: string, ack: HandoffAck, tick: number): void {
    this.#waiting.push({ to, ack, tick });
  }

  /** The backup confirmed replica ops up to `tick`. */
  mirrored(tick: number): void {
    this.#mirroredUpTo = Math.max(this.#mirroredUpTo, tick);
  }

  /** Hands `send` every acknowledgement now due (all of them when there is no backup). */
  release(noBackup: boolean, send: (to: string, ack: HandoffAck) => void): void {
    if (this.#waiting.length === 0) return;
    let kept = 0;
    for (const d of this.#waiting) {
      if (noBackup || d.tick <= this.#mirroredUpTo) send(d.to, d.ack);
      else this.#waiting[kept++] = d;
    }
    this.#waiting.length = kept;
  }
}
