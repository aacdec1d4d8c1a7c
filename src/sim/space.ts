// A worker's share of the world ("space"): owned entities, ghosts, the spatial index and one
// tick step — inbound batches, interactions, game logic, handoffs, ghost sync. Pure: it takes
// batches in and hands batches out; the worker role moves them over gRPC.
import {
  type Batch,
  emptyBatch,
  type Handoff,
  type HandoffAck,
  type Interaction,
  isEmptyBatch,
  isEmptyReplica,
  stateOf,
} from "../sync/batch_codec.ts";
import type { Entity, EntityData } from "../world/entity.ts";
import { type GameContext, type GameDefinition, WORLD_ID_LIMIT } from "./game.ts";
import type { Grid } from "../world/grid.ts";
import { PartitionMap } from "../world/partition.ts";
import { type PlayerHost, PlayerSessions } from "./player_sessions.ts";
import type { GatewayCommand, WorkerReport } from "../session/session_wire.ts";
import { GridIndex } from "../world/grid_index.ts";
import { type EntityIndex, SpatialIndex } from "../world/spatial_index.ts";
import { GhostSender, GhostTable } from "../sync/ghosts.ts";
import { fnv1a, mulberry32 } from "./random.ts";
import {
  gridBucketSize,
  rbushSlack,
  type SpaceTicks,
  spaceTicks,
  type SpaceTimings,
} from "./space_tuning.ts";
import { ReplicaSender, ReplicaTable } from "../sync/replica.ts";
import { DeferredAcks, HeldHandoffs, ProcessedHandoffs } from "../sync/held_handoffs.ts";
import type { Logger } from "../observe/log.ts";
import {
  type InteractionEvent,
  type MigrationRecord,
  newSpaceCounters,
  type OwnershipEvent,
  type SpaceCounters,
  SpaceLog,
} from "./space_records.ts";
import type { SpaceParts } from "./space_parts.ts";
import { makeGameContext } from "./space_context.ts";
import { CellTransfers } from "./cell_transfers.ts";
import { Takeovers } from "./takeover.ts";

export type {
  InteractionEvent,
  MigrationRecord,
  OwnershipEvent,
  SpaceCounters,
} from "./space_records.ts";

/** Options of {@linkcode Space}. */
export interface SpaceOptions {
  id: string;
  /** Small unique number of this worker; minted entity ids start at index * 2^32. */
  index: number;
  grid: Grid;
  tickHz: number;
  ghostMargin: number;
  game: GameDefinition<unknown>;
  gameOptions: unknown;
  seed?: number;
  log?: Logger;
  /** How many ownership and interaction events to keep (at least; up to 25 % more). */
  logSize?: number;
  /** Radius of players' areas of interest (default: ghostMargin). */
  aoiRadius?: number;
  /** Spatial index of owned entities and ghosts (default "grid"). */
  spatialIndex?: "grid" | "rbush";
  /** How long a disconnected player's entity waits for a resume (default 15 s). */
  resumeGraceMs?: number;
  /** Lifetimes of the space's waits and memories, in ms (defaults: SPACE_TIMINGS). */
  timings?: Partial<SpaceTimings>;
  /** Bucket edge of the grid index (default: gridBucketSize(cellSize)). */
  gridBucketSize?: number;
  /** Fat-box slack of the rbush index (default: rbushSlack(cellSize)). */
  rbushSlack?: number;
  /** Wall clock of the players' grace periods (default Date.now; tests inject one). */
  now?: () => number;
  /**
   * Replica mode: full mirror updates to the backup every this many ticks (creates, deletes
   * and held handoffs go every tick). 0 (default) replicates nothing.
   */
  replicationTicks?: number;
}

/** Times a handoff or interaction is passed on to a newer owner before it is dropped. */
const MAX_HOPS = 8;

/** One worker's simulation of the cells it owns. */
export class Space {
  readonly id: string;
  readonly grid: Grid;
  readonly owned = new Map<number, Entity>();
  readonly index: EntityIndex;
  readonly ghosts: GhostTable;
  readonly counters: SpaceCounters = newSpaceCounters();
  /** Mirrors of the owners this worker backs up (never visible to game logic). */
  readonly mirrors = new ReplicaTable();
  /** True once the map declared this worker down: it must drop everything and rejoin. */
  fenced = false;
  map: PartitionMap;
  /** Last tick stepped (-1 before the first). */
  tick = -1;

  #options: SpaceOptions;
  /** The timings as tick counts at this space's tick rate. */
  #ticks: SpaceTicks;
  #sender = new GhostSender();
  #replica = new ReplicaSender();
  #held = new HeldHandoffs();
  #processed = new ProcessedHandoffs();
  /** Handoff acknowledgements waiting until the backup holds what they confirm. */
  #deferredAcks = new DeferredAcks();
  #inbox: Array<{ batch: Batch; seen: number }> = [];
  #interactionCounts = new Map<number, number>();
  #pending: Interaction[] = [];
  #applied = new Map<string, number>();
  #forward = new Map<number, { owner: string; until: number }>();
  #out = new Map<string, Batch>();
  #ids: { entity: number; interaction: number };
  /** Players owned here: gateway commands in, AOI diffs out. */
  readonly players: PlayerSessions;
  #host: PlayerHost;
  #log: SpaceLog;
  #parts: SpaceParts;
  #transfers: CellTransfers;
  #takeovers: Takeovers;
  #started = false;
  #leaving: Entity[] = [];
  #ctx: GameContext;

  constructor(options: SpaceOptions) {
    this.#options = options;
    this.id = options.id;
    this.grid = options.grid;
    // A uniform grid by default; an rbush of fat boxes on request (bench compares them).
    const { cellSize } = options.grid;
    this.index = options.spatialIndex === "rbush"
      ? new SpatialIndex(options.rbushSlack ?? rbushSlack(cellSize))
      : new GridIndex(options.grid.size, options.gridBucketSize ?? gridBucketSize(cellSize));
    this.#ticks = spaceTicks(options.timings ?? {}, options.tickHz);
    this.ghosts = new GhostTable(this.index);
    this.map = PartitionMap.empty(options.grid.cellCount);
    this.#ids = { entity: (options.index + 1) * WORLD_ID_LIMIT, interaction: 0 };
    this.#log = new SpaceLog(options.logSize);
    this.players = new PlayerSessions({
      aoiRadius: options.aoiRadius ?? options.ghostMargin,
      resumeGraceMs: options.resumeGraceMs ?? 15_000,
      now: options.now,
    });
    // deno-lint-ignore no-this-alias -- the host and parts are long-lived views of this space
    const space = this;
    this.#parts = {
      id: this.id,
      grid: this.grid,
      get map() {
        return space.map;
      },
      get tick() {
        return space.tick;
      },
      options,
      ticks: this.#ticks,
      counters: this.counters,
      owned: this.owned,
      index: this.index,
      ghosts: this.ghosts,
      players: this.players,
      mirrors: this.mirrors,
      held: this.#held,
      processed: this.#processed,
      forward: this.#forward,
      log: this.#log,
      ids: this.#ids,
      batchFor: (peer) => this.#batchFor(peer),
      queueInteraction: (interaction) => this.#pending.push(interaction),
      adopt: (handoff, from, tick) => this.#adopt(handoff, from, tick),
      peerGone: (peer) => this.peerGone(peer),
    };
    this.#ctx = makeGameContext(
      this.#parts,
      mulberry32((options.seed ?? 1) ^ fnv1a(options.id)),
    );
    this.#transfers = new CellTransfers(this.#parts);
    this.#takeovers = new Takeovers(this.#parts, this.#transfers, this.#ctx);
    this.#host = {
      id: this.id,
      get tick() {
        return space.tick;
      },
      owned: this.owned,
      index: this.index,
      ctx: this.#ctx,
      game: this.#options.game,
      gameOptions: this.#options.gameOptions,
      forward(target, kind, data) {
        space.#pending.push({
          id: `${space.id}:s${++space.#ids.interaction}`,
          source: 0,
          target,
          kind,
          data,
          hops: 0,
        });
      },
    };
  }

  /** True when this space owns the cell at the point under its current map. */
  ownsPoint(x: number, y: number, z = 0): boolean {
    return this.map.ownerOf(this.grid.cellOf(x, y, z)) === this.id;
  }

  /**
   * Installs a new partition map. Cells this worker lost are frozen and handed over, with all
   * their entities, at its next tick. The first map that gives this worker cells at epoch 1
   * starts the world.
   */
  setMap(map: PartitionMap): void {
    if (map.epoch < this.map.epoch || this.fenced) return;
    const previous = this.map;
    this.map = map;
    if (map.down.has(this.id) && previous.epoch > 0) {
      // Declared down while alive (paused, cut off): its cells are someone else's now.
      this.fenced = true;
      this.#options.log?.warn("space.fenced", { epoch: map.epoch, owned: this.owned.size });
      return;
    }
    if (map.epoch > previous.epoch) {
      for (let cell = 0; cell < map.owners.length; cell++) {
        if (previous.owners[cell] === this.id && map.owners[cell] !== this.id) {
          this.#transfers.lostCells.add(cell);
        }
      }
      this.#takeovers.noteDeaths(previous, map);
    }
    if (!this.#started && map.epoch === 1 && map.owners.includes(this.id)) {
      this.#started = true;
      const start = this.#options.game.onWorldStart;
      start?.(this.#ctx, (x, y, z) => this.ownsPoint(x, y, z), this.#options.gameOptions);
    }
  }

  /** Queues a gateway's command for the next tick. */
  command(gateway: string, command: GatewayCommand): void {
    this.players.queue(gateway, command);
  }

  /** The players' reports of the last tick, by gateway (taken once). */
  takeReports(): Map<string, WorkerReport> {
    return this.players.takeReports();
  }

  /** Queues a decoded batch from a peer; it is applied at the first tick after its own. */
  receive(batch: Batch): void {
    this.#inbox.push({ batch, seen: this.tick });
  }

  /** Transfers sent and not yet acknowledged. */
  get pendingTransfers(): number {
    return this.#transfers.pending;
  }

  /** Handoffs sent and not yet acknowledged by their receivers. */
  get pendingHandoffs(): number {
    return this.#held.size;
  }

  /**
   * True when this worker owns no cell, no entity, and every transfer and handoff was
   * acknowledged.
   */
  get empty(): boolean {
    return this.owned.size === 0 && this.#transfers.pending === 0 && this.#held.size === 0 &&
      !this.map.owners.includes(this.id);
  }

  /** Players owned here per cell (for load reports). */
  playersPerCell(): Map<number, number> {
    const counts = new Map<number, number>();
    for (const e of this.owned.values()) {
      if (e.session) counts.set(e.cell, (counts.get(e.cell) ?? 0) + 1);
    }
    return counts;
  }

  /** Live migrations accepted here, oldest first (bounded). */
  migrations(): readonly MigrationRecord[] {
    return this.#transfers.migrations;
  }

  /** Interactions applied per cell since the last call (for load reports). */
  takeInteractionCounts(): Map<number, number> {
    const counts = this.#interactionCounts;
    this.#interactionCounts = new Map();
    return counts;
  }

  /** A peer went away: drop its ghosts. */
  peerGone(peer: string): number {
    this.#sender.forgetPeer(peer);
    return this.ghosts.dropOwner(peer);
  }

  /** Runs tick `tick` and returns the non-empty batch for each peer. */
  step(tick: number): Map<string, Batch> {
    this.tick = tick;
    this.#out.clear();
    if (this.fenced) return this.#out;
    // The backup's batch first: its mirror is written to the wire before the handoffs it covers.
    const backup = this.#options.replicationTicks ? this.map.backupOf(this.id) : "";
    if (backup) this.#batchFor(backup);
    // Peers' batches first: their claims keep a mirror of what lives on elsewhere from being
    // promoted; whatever they hand over that the mirror has too is adopted once.
    this.#applyInbox(tick);
    if (this.#takeovers.due) this.#takeovers.takeOver(tick);
    this.#resendHeld(tick);
    this.#releaseAcks();
    this.players.applyCommands(this.#host);
    this.#applyInteractions(tick);
    this.#options.game.onTick?.(this.#ctx, this.#options.gameOptions);
    this.#settle(tick);
    this.players.expire(this.#host, (player) => this.#ctx.remove(player));
    const { grid, map } = this;
    this.#sender.collectGhosts(
      this.owned.values(),
      grid,
      map.owners,
      this.id,
      this.#options.ghostMargin,
      (peer) => this.#batchFor(peer),
    );
    const every = this.#options.replicationTicks ?? 0;
    if (every > 0 || this.#replica.backup) {
      this.#replica.collect(this.owned.values(), this.#held.held, backup, {
        tick,
        updates: every > 0 && tick % every === 0,
        ops: () => this.#batchFor(backup).replica,
      });
    }
    this.players.collect(this.#host);
    for (const [peer, batch] of this.#out) {
      // Nothing goes to a worker declared down: it is fenced, and its link is gone.
      if (isEmptyBatch(batch) || this.map.down.has(peer)) this.#out.delete(peer);
    }
    if (tick % this.#ticks.forward === 0) this.#expire(tick);
    return this.#out;
  }

  /** Ownership events after `since` (a seq cursor), oldest first. */
  ownershipSince(since: number): OwnershipEvent[] {
    return this.#log.ownershipSince(since);
  }

  /** Interaction events after `since`, oldest first. */
  interactionsSince(since: number): InteractionEvent[] {
    return this.#log.interactionsSince(since);
  }

  /**
   * Entities per cell after the last tick, counting those handed off during it (in flight to
   * their new owner, which counts them from the next tick): reports taken by every worker at
   * the same tick add up to the exact total.
   */
  entitiesPerCell(): Map<number, number> {
    const counts = new Map<number, number>();
    for (const e of this.owned.values()) counts.set(e.cell, (counts.get(e.cell) ?? 0) + 1);
    for (const e of this.#leaving) counts.set(e.cell, (counts.get(e.cell) ?? 0) + 1);
    return counts;
  }

  #batchFor(peer: string): Batch {
    let batch = this.#out.get(peer);
    if (!batch) this.#out.set(peer, batch = emptyBatch(this.id, this.map.epoch, this.tick));
    return batch;
  }

  #applyInbox(tick: number): void {
    if (this.#inbox.length === 0) return;
    const later: Array<{ batch: Batch; seen: number }> = [];
    for (const entry of this.#inbox) {
      const batch = entry.batch;
      // Apply after the sender's tick, and only once our map is as new as the sender's (it may
      // hand us cells we have not heard of yet); an overdue map does not hold a batch forever.
      const waitingForMap = batch.epoch > this.map.epoch &&
        tick - entry.seen < this.#ticks.epochWait;
      if (batch.tick >= tick || waitingForMap) {
        later.push(entry);
        continue;
      }
      if (this.map.down.has(batch.from)) {
        // Its sender was declared down: whatever it owned is someone else's now.
        if (this.counters.batchesFenced++ % 100 === 0) {
          this.#options.log?.warn("batch.fenced", { from: batch.from, epoch: batch.epoch });
        }
        continue;
      }
      this.counters.batchesApplied++;
      for (const ack of batch.acks) this.#transfers.acknowledged(ack, batch.from);
      for (const ack of batch.handoffAcks) this.#held.acknowledged(ack);
      const { refused, known } = this.#transfers.accept(batch, tick);
      for (const handoff of batch.handoffs) {
        const id = handoff.entity.id;
        if (refused.has(id)) continue; // the sender keeps it and sends the cell again
        if (!known.has(id) && this.#adopt(handoff, batch.from, tick)) {
          this.#takeovers.claim(batch.from, handoff);
        }
        this.#ackLater(batch.from, { entity: id, tick: handoff.tick }, tick);
      }
      for (const claim of batch.claims) this.#takeovers.claimed(claim);
      if (!isEmptyReplica(batch.replica) && this.map.backupOf(batch.from) === this.id) {
        this.mirrors.apply(batch.from, batch.tick, batch.replica);
        const out = this.#batchFor(batch.from);
        out.replicaAck = Math.max(out.replicaAck, batch.tick);
      }
      if (batch.replicaAck > 0 && batch.from === this.map.backupOf(this.id)) {
        this.#deferredAcks.mirrored(batch.replicaAck);
      }
      this.ghosts.apply(batch, (id) => this.owned.has(id), this.grid);
      for (const interaction of batch.interactions) this.#pending.push(interaction);
    }
    this.#inbox = later;
  }

  /** Adopts (or passes on) a handoff; false when it was known already. */
  #adopt(handoff: Handoff, from: string, tick: number): boolean {
    const state = handoff.entity;
    if (this.owned.has(state.id) || this.#processed.seen(state.id, handoff.tick)) {
      // A replay (a resend, or a dead sender's backup sending what it held): known already.
      this.#options.log?.debug("handoff.duplicate", { entity: state.id, from });
      return false;
    }
    this.#processed.note(state.id, handoff.tick, tick);
    const cell = this.grid.cellOf(state.x, state.y, state.z);
    const owner = this.map.ownerOf(cell);
    if (owner !== this.id && owner !== "" && handoff.hops < MAX_HOPS) {
      // Our map says someone else owns it now: pass it on, and hold it until it is confirmed.
      const passed = { ...handoff, hops: handoff.hops + 1 };
      this.#batchFor(owner).handoffs.push(passed);
      this.#held.hold(passed, owner, tick);
      // It never became ours, so no ownership is recorded here; the receiver records it.
      this.#forward.set(state.id, { owner, until: tick + this.#ticks.forward });
      this.#options.log?.debug("handoff.forwarded", { entity: state.id, from, to: owner });
      return true;
    }
    this.ghosts.remove(state.id);
    const entity: Entity = { ...state, data: state.data as EntityData, cell, owner: this.id };
    if (handoff.session) {
      entity.session = handoff.session;
      this.players.adopted(entity);
    }
    this.owned.set(entity.id, entity);
    this.index.upsert(entity);
    this.#forward.delete(entity.id);
    this.#held.release(entity.id);
    // The sender kept a ghost of it (unless it is this worker or gone): diff against that.
    if (from !== this.id && !this.map.down.has(from)) this.#sender.assumeGhosted(entity.id, from);
    this.counters.handoffsIn++;
    this.#log.record("acquire", entity.id, from, handoff.tick + 1);
    return true;
  }

  /**
   * Confirms a handoff to its sender, at once without a backup, else once the backup confirmed
   * the tick that mirrored it: until then the sender still holds it, so a death of this worker
   * in between loses nothing.
   */
  #ackLater(to: string, ack: HandoffAck, tick: number): void {
    if (this.#hasBackup()) this.#deferredAcks.defer(to, ack, tick);
    else this.#batchFor(to).handoffAcks.push(ack);
  }

  #hasBackup(): boolean {
    return !!this.#options.replicationTicks && this.map.backupOf(this.id) !== "";
  }

  /** Sends the deferred acknowledgements the backup's confirmation now covers. */
  #releaseAcks(): void {
    this.#deferredAcks.release(!this.#hasBackup(), (to, ack) => {
      if (!this.map.down.has(to)) this.#batchFor(to).handoffAcks.push(ack);
    });
  }

  #applyInteractions(tick: number): void {
    if (this.#pending.length === 0) return;
    const pending = this.#pending;
    this.#pending = [];
    const onInteract = this.#options.game.onInteract;
    for (const interaction of pending) {
      if (this.#applied.has(interaction.id)) {
        this.#log.note("duplicate", tick, interaction, false);
        continue;
      }
      const target = this.owned.get(interaction.target);
      if (target) {
        this.#applied.set(interaction.id, tick);
        if (interaction.kind.startsWith("zs.")) {
          this.players.applyForwarded(this.#host, target, interaction.kind, interaction.data);
        } else {
          onInteract?.(this.#ctx, target, interaction);
        }
        this.counters.interactionsApplied++;
        this.#interactionCounts.set(
          target.cell,
          (this.#interactionCounts.get(target.cell) ?? 0) + 1,
        );
        this.#log.note("applied", tick, interaction, false);
        continue;
      }
      const next = this.#forward.get(interaction.target)?.owner ??
        this.ghosts.ghosts.get(interaction.target)?.owner;
      if (next && next !== this.id && interaction.hops < MAX_HOPS) {
        this.#batchFor(next).interactions.push({ ...interaction, hops: interaction.hops + 1 });
        this.counters.interactionsForwarded++;
        this.#log.note("forwarded", tick, interaction, false);
      } else {
        this.counters.interactionsDropped++;
        this.#log.note("dropped", tick, interaction, false);
        this.#options.log?.warn("interaction.dropped", {
          id: interaction.id,
          target: interaction.target,
        });
      }
    }
  }

  /** After game logic: re-file moved entities and hand off those now in a cell owned elsewhere. */
  #settle(tick: number): void {
    const { grid, map } = this;
    const leaving = this.#leaving;
    leaving.length = 0;
    for (const e of this.owned.values()) {
      e.x = grid.clampAxis(0, e.x);
      e.y = grid.clampAxis(1, e.y);
      e.z = grid.dims === 3 ? grid.clampAxis(2, e.z) : 0;
      e.cell = grid.cellOf(e.x, e.y, e.z);
      const owner = map.ownerOf(e.cell);
      if (owner !== this.id && owner !== "") leaving.push(e);
      else this.index.upsert(e);
    }
    const leavingByCell = new Map<number, Handoff[]>();
    for (const e of leaving) {
      const owner = map.ownerOf(e.cell);
      this.owned.delete(e.id);
      const handoff: Handoff = { entity: stateOf(e), tick, hops: 0 };
      if (e.session) {
        this.players.leaving(this.#host, e); // its diff for this tick, before it goes
        handoff.session = e.session;
        e.session = undefined; // the ghost left behind is not the player
      }
      this.#batchFor(owner).handoffs.push(handoff);
      this.#held.hold(handoff, owner, tick);
      if (this.#transfers.lostCells.has(e.cell)) {
        let group = leavingByCell.get(e.cell);
        if (!group) leavingByCell.set(e.cell, group = []);
        group.push(handoff);
      }
      this.ghosts.keepAsGhost(e, owner, tick);
      this.#sender.handedOff(e.id, owner);
      this.#forward.set(e.id, { owner, until: tick + this.#ticks.forward });
      this.counters.handoffsOut++;
      this.#log.record("release", e.id, owner, tick);
    }
    if (this.#transfers.busy) {
      this.#transfers.send(tick, leavingByCell);
    }
  }

  #expire(tick: number): void {
    for (const [id, f] of this.#forward) if (f.until < tick) this.#forward.delete(id);
    for (const [id, at] of this.#applied) {
      if (at + this.#ticks.appliedMemory < tick) this.#applied.delete(id);
    }
    this.#transfers.expire(tick - this.#ticks.acceptedMemory);
    this.#processed.expire(tick - this.#ticks.acceptedMemory);
    this.#takeovers.expire(tick - this.#ticks.forward);
  }

  /**
   * Held handoffs whose receiver died go to its heir (its backup) or the owner of their cell;
   * those unconfirmed for long go again (the receiver drops what it already has).
   */
  #resendHeld(tick: number): void {
    if (this.#held.size === 0) return;
    for (const held of [...this.#held.due(tick - this.#ticks.transferResend)]) {
      const h = held.handoff;
      // A dead receiver's heir holds its mirror: it drops what the dead one had adopted (and
      // it promotes), and passes the rest on. Without an heir, the cell's owner takes it.
      const owner = held.to === "" && held.heir && !this.map.down.has(held.heir)
        ? held.heir
        : this.map.ownerOf(this.grid.cellOf(h.entity.x, h.entity.y, h.entity.z));
      if (!owner || this.map.down.has(owner)) continue; // nobody yet: keep holding
      this.#held.release(h.entity.id);
      this.counters.handoffsResent++;
      if (owner === this.id) {
        this.#processed.note(h.entity.id, -1, tick); // adopt it back as if it were new
        this.#adopt({ ...h, hops: 0 }, this.id, tick);
        continue;
      }
      // Passed on (hops + 1): not a member of any cell transfer in the same batch.
      const passed = { ...h, hops: h.hops + 1 };
      this.#batchFor(owner).handoffs.push(passed);
      this.#held.hold(passed, owner, tick);
    }
  }
}
