// The peers' batches a space received: held until due (after the sender's tick, and once this
// space's map is as new as the sender's, for at most epochWait ticks), then applied in order:
// acknowledgements, cell transfers, handoffs, takeover claims, mirror ops, ghosts and
// interactions. A batch from a worker the map declares down is dropped: what it owned is
// someone else's now.
import { type Batch, isEmptyReplica } from "../sync/batch_codec.ts";
import type { SpaceParts } from "./space_parts.ts";
import type { CellTransfers } from "./cell_transfers.ts";
import type { Takeovers } from "./takeover.ts";
import type { Handoffs } from "./handoffs.ts";

/** One space's received and not yet applied batches. */
export class SpaceInbox {
  #space: SpaceParts;
  #transfers: CellTransfers;
  #takeovers: Takeovers;
  #handoffs: Handoffs;
  #inbox: Array<{ batch: Batch; seen: number }> = [];

  constructor(
    space: SpaceParts,
    transfers: CellTransfers,
    takeovers: Takeovers,
    handoffs: Handoffs,
  ) {
    this.#space = space;
    this.#transfers = transfers;
    this.#takeovers = takeovers;
    this.#handoffs = handoffs;
  }

  /** Queues a decoded batch that arrived after tick `seen`. */
  receive(batch: Batch, seen: number): void {
    this.#inbox.push({ batch, seen });
  }

  /** Applies, at tick `tick`, the batches that are due; the others wait. */
  apply(tick: number): void {
    if (this.#inbox.length === 0) return;
    const space = this.#space;
    const later: Array<{ batch: Batch; seen: number }> = [];
    for (const entry of this.#inbox) {
      const batch = entry.batch;
      // Apply after the sender's tick, and only once our map is as new as the sender's (it may
      // hand us cells we have not heard of yet); an overdue map does not hold a batch forever.
      const waitingForMap = batch.epoch > space.map.epoch &&
        tick - entry.seen < space.ticks.epochWait;
      if (batch.tick >= tick || waitingForMap) {
        later.push(entry);
        continue;
      }
      if (space.map.down.has(batch.from)) {
        // Its sender was declared down: whatever it owned is someone else's now.
        if (space.counters.batchesFenced++ % 100 === 0) {
          space.options.log?.warn("batch.fenced", { from: batch.from, epoch: batch.epoch });
        }
        continue;
      }
      space.counters.batchesApplied++;
      this.#applyOne(batch, tick);
    }
    this.#inbox = later;
  }

  #applyOne(batch: Batch, tick: number): void {
    const space = this.#space;
    for (const ack of batch.acks) this.#transfers.acknowledged(ack, batch.from);
    for (const ack of batch.handoffAcks) space.held.acknowledged(ack);
    const { refused, known } = this.#transfers.accept(batch, tick);
    for (const handoff of batch.handoffs) {
      const id = handoff.entity.id;
      if (refused.has(id)) continue; // the sender keeps it and sends the cell again
      if (!known.has(id) && this.#handoffs.adopt(handoff, batch.from, tick)) {
        this.#takeovers.claim(batch.from, handoff);
      }
      this.#handoffs.ackLater(batch.from, { entity: id, tick: handoff.tick }, tick);
    }
    for (const claim of batch.claims) this.#takeovers.claimed(claim);
    if (!isEmptyReplica(batch.replica) && space.map.backupOf(batch.from) === space.id) {
      space.mirrors.apply(batch.from, batch.tick, batch.replica);
      const out = space.batchFor(batch.from);
      out.replicaAck = Math.max(out.replicaAck, batch.tick);
    }
    if (batch.replicaAck > 0 && batch.from === space.map.backupOf(space.id)) {
      this.#handoffs.deferredAcks.mirrored(batch.replicaAck);
    }
    // Ghosts of a worker of another game version read like this version's entities.
    space.games.convertAll(batch.creates, batch.from);
    space.games.convertAll(batch.updates, batch.from);
    space.ghosts.apply(batch, (id) => space.owned.has(id), space.grid);
    for (const interaction of batch.interactions) space.queueInteraction(interaction, true);
  }
}
