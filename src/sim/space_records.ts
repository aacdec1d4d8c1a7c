// What a space counts and logs: its counters, the ownership and interaction event logs (for
// audits and tests), and the record of each live migration it accepted.
import type { Interaction } from "../sync/batch_codec.ts";

/** A change of ownership as recorded in the space's log (for audits and tests). */
export interface OwnershipEvent {
  seq: number;
  /** acquire: owned from this tick on; release: owned up to and including this tick. */
  kind: "acquire" | "release";
  tick: number;
  entity: number;
  peer: string;
}

/** What happened to an interaction on this worker. */
export interface InteractionEvent {
  seq: number;
  kind: "issued" | "applied" | "forwarded" | "dropped" | "duplicate";
  tick: number;
  id: string;
  target: number;
  /** Issued toward a ghost (the target lived on another worker at the time). */
  remote: boolean;
}

/** Counters exported as metrics and in heartbeats. */
export interface SpaceCounters {
  handoffsOut: number;
  handoffsIn: number;
  interactionsApplied: number;
  interactionsForwarded: number;
  interactionsDropped: number;
  batchesApplied: number;
  /** Cells handed over (acknowledged by the receiver) and taken over by live migration. */
  migrationsOut: number;
  migrationsIn: number;
  /** Transfers refused by this worker because count or checksum did not match. */
  transfersRefused: number;
  /** Batches refused because their sender is declared down (fenced) in the map. */
  batchesFenced: number;
  /** Entities taken over from a dead owner's mirror. */
  promoted: number;
  /** Held handoffs sent again to a new receiver after the first one died. */
  handoffsResent: number;
  /** World-start entities respawned in cells of a dead owner that had no replica. */
  respawned: number;
  /** Promoted entities dropped because a live worker proved it owned them already. */
  duplicatesDropped: number;
  /** Entities adopted from a worker of another game version, handed to `migrateState`. */
  statesMigrated: number;
}

/** One accepted live migration, as measured by the receiver. */
export interface MigrationRecord {
  cell: number;
  epoch: number;
  from: string;
  entities: number;
  /** Wall time from the sender freezing the cell to this worker owning it. */
  pauseMs: number;
  /** Ticks between the sender's last tick with the cell and the first tick here with it, minus one. */
  ticksMissed: number;
  tick: number;
}

/** A space's counters, all zero. */
export function newSpaceCounters(): SpaceCounters {
  return {
    handoffsOut: 0,
    handoffsIn: 0,
    interactionsApplied: 0,
    interactionsForwarded: 0,
    interactionsDropped: 0,
    batchesApplied: 0,
    migrationsOut: 0,
    migrationsIn: 0,
    transfersRefused: 0,
    batchesFenced: 0,
    promoted: 0,
    handoffsResent: 0,
    respawned: 0,
    duplicatesDropped: 0,
    statesMigrated: 0,
  };
}

/** The ownership and interaction logs of one space, bounded to about `logSize` events each. */
export class SpaceLog {
  #ownership: OwnershipEvent[] = [];
  #interactions: InteractionEvent[] = [];
  #seq = 0;
  #logSize: number;

  constructor(logSize = 200_000) {
    this.#logSize = logSize;
  }

  /** Records a change of ownership. */
  record(kind: OwnershipEvent["kind"], entity: number, peer: string, tick: number): void {
    const logSize = this.#logSize;
    this.#ownership.push({ seq: ++this.#seq, kind, tick, entity, peer });
    // Trim in bulk (a quarter at a time): one shift per event would move the whole log.
    if (this.#ownership.length > logSize * 1.25) {
      this.#ownership.splice(0, this.#ownership.length - logSize);
    }
  }

  /** Records what happened to an interaction. */
  note(kind: InteractionEvent["kind"], tick: number, i: Interaction, remote: boolean): void {
    const logSize = this.#logSize;
    this.#interactions.push({ seq: ++this.#seq, kind, tick, id: i.id, target: i.target, remote });
    if (this.#interactions.length > logSize * 1.25) {
      this.#interactions.splice(0, this.#interactions.length - logSize);
    }
  }

  /** Ownership events after `since` (a seq cursor), oldest first. */
  ownershipSince(since: number): OwnershipEvent[] {
    return this.#ownership.filter((e) => e.seq > since);
  }

  /** Interaction events after `since`, oldest first. */
  interactionsSince(since: number): InteractionEvent[] {
    return this.#interactions.filter((e) => e.seq > since);
  }
}
