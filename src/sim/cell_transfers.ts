// Live migration of whole cells: the sender freezes a lost cell and sends it as a transfer
// (count and checksum of the handoffs that carry its entities), resent until acknowledged; the
// receiver verifies, accepts once and records the migration.
import {
  type Batch,
  checksumOf,
  type Handoff,
  type Transfer,
  type TransferAck,
} from "../sync/batch_codec.ts";
import type { MigrationRecord } from "./space_records.ts";
import type { SpaceParts } from "./space_parts.ts";

interface Outgoing {
  to: string;
  transfer: Transfer;
  handoffs: Handoff[];
  tick: number;
  sentAt: number;
}

/** One space's cell transfers, sent and accepted. */
export class CellTransfers {
  /** Cells this worker lost in the latest map and must hand over at its next tick. */
  readonly lostCells = new Set<number>();
  #space: SpaceParts;
  /** Transfers sent and not yet acknowledged, by "cell:epoch". */
  #outgoing = new Map<string, Outgoing>();
  /** Transfers taken over, by "from:cell:epoch", so a resend is acknowledged, not re-applied. */
  #accepted = new Map<string, number>();
  #migrations: MigrationRecord[] = [];

  constructor(space: SpaceParts) {
    this.#space = space;
  }

  /** Transfers sent and not yet acknowledged. */
  get pending(): number {
    return this.#outgoing.size;
  }

  /** Live migrations accepted here, oldest first (bounded). */
  get migrations(): readonly MigrationRecord[] {
    return this.#migrations;
  }

  /** True when a lost cell waits to be sent or a sent one to be acknowledged. */
  get busy(): boolean {
    return this.lostCells.size > 0 || this.#outgoing.size > 0;
  }

  /** Forgets the transfers sent to dead workers: their entities are held handoffs too. */
  dropTo(dead: ReadonlySet<string>): void {
    for (const [key, outgoing] of this.#outgoing) {
      // Its entities are held handoffs too: they go to the cell's new owner one by one.
      if (dead.has(outgoing.to)) this.#outgoing.delete(key);
    }
  }

  /** Forgets accepted transfers last seen before `before`. */
  expire(before: number): void {
    for (const [key, at] of this.#accepted) {
      if (at < before) this.#accepted.delete(key);
    }
  }

  /**
   * Verifies each cell transfer in the batch against the handoffs that carry its entities and
   * acknowledges it. Returns the ids of handoffs not to adopt: those of refused transfers
   * (count or checksum mismatch: the sender keeps the cell and resends) and of resends of
   * transfers already taken.
   */
  accept(batch: Batch, tick: number): { refused: Set<number>; known: Set<number> } {
    const space = this.#space;
    const refused = new Set<number>();
    const known = new Set<number>();
    for (const t of batch.transfers) {
      // Its members: the sender's own (hop 0) handoffs into that cell; passed-on ones are not.
      const handoffs = batch.handoffs.filter((h) =>
        h.hops === 0 && space.grid.cellOf(h.entity.x, h.entity.y, h.entity.z) === t.cell
      );
      const key = `${batch.from}:${t.cell}:${t.epoch}`;
      const ack: TransferAck = { cell: t.cell, epoch: t.epoch, ok: true };
      if (this.#accepted.has(key)) {
        for (const h of handoffs) known.add(h.entity.id);
      } else if (
        handoffs.length !== t.count || checksumOf(handoffs.map((h) => h.entity)) !== t.checksum
      ) {
        ack.ok = false;
        for (const h of handoffs) refused.add(h.entity.id);
        space.counters.transfersRefused++;
        space.options.log?.error("migration.refused", {
          cell: t.cell,
          from: batch.from,
          expected: t.count,
          got: handoffs.length,
        });
      } else {
        this.#accepted.set(key, tick);
        space.counters.migrationsIn++;
        const record: MigrationRecord = {
          cell: t.cell,
          epoch: t.epoch,
          from: batch.from,
          entities: t.count,
          pauseMs: Math.max(0, Date.now() - t.frozenAtMs),
          ticksMissed: Math.max(0, tick - t.tick - 1),
          tick,
        };
        this.#migrations.push(record);
        if (this.#migrations.length > 100) this.#migrations.shift();
        const instance = space.options.instance?.id;
        space.options.log?.info("migration.accepted", { ...record, ...(instance && { instance }) });
      }
      space.batchFor(batch.from).acks.push(ack);
    }
    return { refused, known };
  }

  /** The receiver's answer to a transfer: done, or (refused) resend at the next tick. */
  acknowledged(ack: TransferAck, from: string): void {
    const key = `${ack.cell}:${ack.epoch}`;
    const outgoing = this.#outgoing.get(key);
    if (!outgoing || outgoing.to !== from) return;
    if (ack.ok) {
      this.#outgoing.delete(key);
      this.#space.counters.migrationsOut++;
      this.#space.options.log?.info("migration.acknowledged", {
        cell: ack.cell,
        epoch: ack.epoch,
        to: from,
      });
    } else {
      outgoing.sentAt = -Infinity; // resend at the next tick
      this.#space.options.log?.warn("migration.resend", {
        cell: ack.cell,
        epoch: ack.epoch,
        to: from,
      });
    }
  }

  /** Freezes the cells lost in the latest map: their handoffs are already in the batches. */
  send(tick: number, leavingByCell: Map<number, Handoff[]>): void {
    const space = this.#space;
    for (const cell of this.lostCells) {
      const to = space.map.ownerOf(cell);
      if (!to || to === space.id) continue;
      const handoffs = leavingByCell.get(cell) ?? [];
      const transfer: Transfer = {
        cell,
        epoch: space.map.epoch,
        tick,
        count: handoffs.length,
        checksum: checksumOf(handoffs.map((h) => h.entity)),
        frozenAtMs: Date.now(),
      };
      this.#outgoing.set(`${cell}:${transfer.epoch}`, {
        to,
        transfer,
        handoffs,
        tick,
        sentAt: tick,
      });
      space.batchFor(to).transfers.push(transfer);
    }
    this.lostCells.clear();
    // Resend what was refused or not acknowledged in time, exactly as first sent.
    for (const outgoing of this.#outgoing.values()) {
      if (tick - outgoing.sentAt < space.ticks.transferResend) continue;
      outgoing.sentAt = tick;
      const batch = space.batchFor(outgoing.to);
      batch.transfers.push(outgoing.transfer);
      for (const handoff of outgoing.handoffs) batch.handoffs.push(handoff);
    }
  }
}
