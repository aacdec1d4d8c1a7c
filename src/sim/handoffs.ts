// Handoffs out and in: entities that left for a cell owned elsewhere, adoption (or passing on to a newer owner),
// acknowledgements deferred until the backup mirrors what they confirm, and held handoffs sent
// again when their receiver died or stayed silent.
import { type Handoff, type HandoffAck, stateOf } from "../sync/batch_codec.ts";
import { type Entity, recordOf } from "../world/entity.ts";
import type { GhostSender } from "../sync/ghosts.ts";
import { DeferredAcks } from "../sync/held_handoffs.ts";
import { MAX_HOPS, type SpaceParts } from "./space_parts.ts";
import type { CellTransfers } from "./cell_transfers.ts";
import type { PlayerHost } from "./player_sessions.ts";

/** One space's handoffs in and held. */
export class Handoffs {
  /** Handoff acknowledgements waiting until the backup holds what they confirm. */
  readonly deferredAcks = new DeferredAcks();
  /** Entities handed off during the last tick (in flight to their new owners). */
  readonly leaving: Entity[] = [];
  #space: SpaceParts;
  #sender: GhostSender;
  #transfers: CellTransfers;
  #host: PlayerHost;

  constructor(space: SpaceParts, sender: GhostSender, transfers: CellTransfers, host: PlayerHost) {
    this.#space = space;
    this.#sender = sender;
    this.#transfers = transfers;
    this.#host = host;
  }

  /** After game logic: re-file moved entities and hand off those now in a cell owned elsewhere. */
  settle(tick: number): void {
    const space = this.#space;
    const { grid, map } = space;
    const leaving = this.leaving;
    leaving.length = 0;
    for (const e of space.owned.values()) {
      e.cell = grid.settle(e);
      const owner = map.ownerOf(e.cell);
      if (owner !== space.id && owner !== "") leaving.push(e);
      else space.index.upsert(e);
    }
    const leavingByCell = new Map<number, Handoff[]>();
    for (const e of leaving) {
      const owner = map.ownerOf(e.cell);
      space.owned.delete(e.id);
      const handoff: Handoff = { entity: stateOf(e), tick, hops: 0 };
      if (e.session) {
        space.players.leaving(e); // the new owner shows it from this tick on
        handoff.session = e.session;
        e.session = undefined; // the ghost left behind is not the player
      }
      space.batchFor(owner).handoffs.push(handoff);
      space.held.hold(handoff, owner, tick);
      if (this.#transfers.lostCells.has(e.cell)) {
        let group = leavingByCell.get(e.cell);
        if (!group) leavingByCell.set(e.cell, group = []);
        group.push(handoff);
      }
      space.ghosts.keepAsGhost(e, owner, tick);
      this.#sender.handedOff(e.id, owner);
      space.forward.set(e.id, { owner, until: tick + space.ticks.forward });
      space.counters.handoffsOut++;
      space.log.record("release", e.id, owner, tick);
    }
    if (this.#transfers.busy) {
      this.#transfers.send(tick, leavingByCell);
    }
  }

  /** Adopts (or passes on) a handoff; false when it was known already. */
  adopt(handoff: Handoff, from: string, tick: number): boolean {
    const space = this.#space;
    const state = handoff.entity;
    if (space.owned.has(state.id) || space.processed.seen(state.id, handoff.tick)) {
      // A replay (a resend, or a dead sender's backup sending what it held): known already.
      space.options.log?.debug("handoff.duplicate", { entity: state.id, from });
      return false;
    }
    space.processed.note(state.id, handoff.tick, tick);
    const cell = space.grid.cellOf(state.x, state.y, state.z);
    const owner = space.map.ownerOf(cell);
    if (owner !== space.id && owner !== "" && handoff.hops < MAX_HOPS) {
      // Our map says someone else owns it now: pass it on, and hold it until it is confirmed.
      // What a worker sends is in its own game version: one of another is converted first.
      const passed = { ...handoff, entity: { ...state }, hops: handoff.hops + 1 };
      space.games.convert(passed.entity, from);
      space.batchFor(owner).handoffs.push(passed);
      space.held.hold(passed, owner, tick);
      // It never became ours, so no ownership is recorded here; the receiver records it.
      space.forward.set(state.id, { owner, until: tick + space.ticks.forward });
      space.options.log?.debug("handoff.forwarded", { entity: state.id, from, to: owner });
      return true;
    }
    space.ghosts.remove(state.id);
    // Built by makeEntity, like every other record, so all owned entities share one shape.
    const entity = recordOf(state, space.id);
    entity.cell = cell;
    if (space.games.convert(entity, from)) space.counters.statesMigrated++;
    if (handoff.session) {
      entity.session = handoff.session;
      space.players.adopted(entity);
      // Its batch came after our next tick had begun (a late worker): the player's stream
      // skips the ticks its entity was simulated by no one, as docs/protocol.md allows.
      const missed = tick - handoff.tick - 1;
      if (missed > 0) {
        space.options.log?.info("handoff.late", {
          entity: state.id,
          from,
          tick,
          ticksMissed: missed,
        });
      }
    }
    space.owned.set(entity.id, entity);
    space.index.upsert(entity);
    space.forward.delete(entity.id);
    space.held.release(entity.id);
    // The sender kept a ghost of it (unless it is this worker or gone): diff against that.
    if (from !== space.id && !space.map.down.has(from)) this.#sender.assumeGhosted(entity.id, from);
    space.counters.handoffsIn++;
    space.log.record("acquire", entity.id, from, handoff.tick + 1);
    return true;
  }

  /**
   * Confirms a handoff to its sender, at once without a backup, else once the backup confirmed
   * the tick that mirrored it: until then the sender still holds it, so a death of this worker
   * in between loses nothing.
   */
  ackLater(to: string, ack: HandoffAck, tick: number): void {
    const space = this.#space;
    if (this.#hasBackup()) this.deferredAcks.defer(to, ack, tick);
    else space.batchFor(to).handoffAcks.push(ack);
  }

  #hasBackup(): boolean {
    const space = this.#space;
    return !!space.options.replicationTicks && space.map.backupOf(space.id) !== "";
  }

  /** Sends the deferred acknowledgements the backup's confirmation now covers. */
  releaseAcks(): void {
    const space = this.#space;
    this.deferredAcks.release(!this.#hasBackup(), (to, ack) => {
      if (!space.map.down.has(to)) space.batchFor(to).handoffAcks.push(ack);
    });
  }

  /**
   * Held handoffs whose receiver died go to its heir (its backup) or the owner of their cell;
   * those unconfirmed for long go again (the receiver drops what it already has).
   */
  resendHeld(tick: number): void {
    const space = this.#space;
    if (space.held.size === 0) return;
    for (const held of [...space.held.due(tick - space.ticks.transferResend)]) {
      const h = held.handoff;
      // A dead receiver's heir holds its mirror: it drops what the dead one had adopted (and
      // it promotes), and passes the rest on. Without an heir, the cell's owner takes it.
      const owner = held.to === "" && held.heir && !space.map.down.has(held.heir)
        ? held.heir
        : space.map.ownerOf(space.grid.cellOf(h.entity.x, h.entity.y, h.entity.z));
      if (!owner || space.map.down.has(owner)) continue; // nobody yet: keep holding
      space.held.release(h.entity.id);
      space.counters.handoffsResent++;
      if (owner === space.id) {
        space.processed.note(h.entity.id, -1, tick); // adopt it back as if it were new
        this.adopt({ ...h, hops: 0 }, space.id, tick);
        continue;
      }
      // Passed on (hops + 1): not a member of any cell transfer in the same batch.
      const passed = { ...h, hops: h.hops + 1 };
      space.batchFor(owner).handoffs.push(passed);
      space.held.hold(passed, owner, tick);
    }
  }
}
