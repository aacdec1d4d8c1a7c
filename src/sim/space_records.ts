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

/** What a space is asked for when its audit logs are off (the worker API answers 409). */
export class AuditOffError extends Error {
  constructor() {
    super(
      "Cannot read the audit logs: they are off on this worker (set auditEvents, ZS_AUDIT_EVENTS)",
    );
    this.name = "AuditOffError";
  }
}

/** The last `capacity` items pushed, oldest first: a fixed array and a head, nothing moved. */
class Ring<T extends { seq: number }> {
  #items: T[] = [];
  #head = 0;
  readonly #capacity: number;

  constructor(capacity: number) {
    this.#capacity = capacity;
  }

  push(item: T): void {
    if (this.#items.length < this.#capacity) this.#items.push(item);
    else {
      this.#items[this.#head] = item;
      this.#head = (this.#head + 1) % this.#capacity;
    }
  }

  /** Items with `seq > since`, oldest first. */
  since(since: number): T[] {
    const out: T[] = [];
    const items = this.#items;
    for (let n = 0; n < items.length; n++) {
      const item = items[(this.#head + n) % items.length];
      if (item.seq > since) out.push(item);
    }
    return out;
  }
}

/**
 * The ownership and interaction logs of one space, for audits: off (nothing recorded, nothing
 * allocated) unless `capacity` > 0, then the last `capacity` events of each kind in a ring.
 */
export class SpaceLog {
  readonly #ownership?: Ring<OwnershipEvent>;
  readonly #interactions?: Ring<InteractionEvent>;
  #seq = 0;

  constructor(capacity = 0) {
    if (capacity > 0) {
      this.#ownership = new Ring(capacity);
      this.#interactions = new Ring(capacity);
    }
  }

  /** True when events are recorded. */
  get enabled(): boolean {
    return this.#ownership !== undefined;
  }

  /** Records a change of ownership. */
  record(kind: OwnershipEvent["kind"], entity: number, peer: string, tick: number): void {
    this.#ownership?.push({ seq: ++this.#seq, kind, tick, entity, peer });
  }

  /** Records what happened to an interaction. */
  note(kind: InteractionEvent["kind"], tick: number, i: Interaction, remote: boolean): void {
    this.#interactions?.push({ seq: ++this.#seq, kind, tick, id: i.id, target: i.target, remote });
  }

  /** Ownership events after `since` (a seq cursor), oldest first; AuditOffError when off. */
  ownershipSince(since: number): OwnershipEvent[] {
    if (!this.#ownership) throw new AuditOffError();
    return this.#ownership.since(since);
  }

  /** Interaction events after `since`, oldest first; AuditOffError when off. */
  interactionsSince(since: number): InteractionEvent[] {
    if (!this.#interactions) throw new AuditOffError();
    return this.#interactions.since(since);
  }
}
