// A worker's share of the world ("space"): owned entities, ghosts, the spatial index and one
// tick step — inbound batches, interactions, game logic, handoffs, ghost sync. Pure: it takes
// batches in and hands batches out; the worker role moves them over gRPC.
import { GhostViews, viewGhosts } from "./ghost_view.ts";
import {
  type Batch,
  checksumOf,
  emptyBatch,
  type Handoff,
  type Interaction,
  isEmptyBatch,
  stateOf,
  type Transfer,
  type TransferAck,
} from "../sync/batch_codec.ts";
import { type Entity, type EntityData, makeEntity } from "../world/entity.ts";
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
import type { Logger } from "../observe/log.ts";

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

interface Outgoing {
  to: string;
  transfer: Transfer;
  handoffs: Handoff[];
  tick: number;
  sentAt: number;
}

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
  readonly counters: SpaceCounters = {
    handoffsOut: 0,
    handoffsIn: 0,
    interactionsApplied: 0,
    interactionsForwarded: 0,
    interactionsDropped: 0,
    batchesApplied: 0,
    migrationsOut: 0,
    migrationsIn: 0,
    transfersRefused: 0,
  };
  map: PartitionMap;
  /** Last tick stepped (-1 before the first). */
  tick = -1;

  #options: SpaceOptions;
  /** The timings as tick counts at this space's tick rate. */
  #ticks: SpaceTicks;
  #sender = new GhostSender();
  #ghostViews = new GhostViews();
  #inbox: Array<{ batch: Batch; seen: number }> = [];
  /** Cells this worker lost in the latest map and must hand over at its next tick. */
  #lostCells = new Set<number>();
  /** Transfers sent and not yet acknowledged, by "cell:epoch". */
  #outgoing = new Map<string, Outgoing>();
  /** Transfers taken over, by "from:cell:epoch", so a resend is acknowledged, not re-applied. */
  #accepted = new Map<string, number>();
  #migrations: MigrationRecord[] = [];
  #interactionCounts = new Map<number, number>();
  #pending: Interaction[] = [];
  #applied = new Map<string, number>();
  #forward = new Map<number, { owner: string; until: number }>();
  #out = new Map<string, Batch>();
  #nextId: number;
  #nextInteraction = 0;
  /** Players owned here: gateway commands in, AOI diffs out. */
  readonly players: PlayerSessions;
  #host: PlayerHost;
  #ownership: OwnershipEvent[] = [];
  #interactions: InteractionEvent[] = [];
  #seq = 0;
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
    this.#nextId = (options.index + 1) * WORLD_ID_LIMIT;
    this.#ctx = this.#makeContext(mulberry32((options.seed ?? 1) ^ fnv1a(options.id)));
    this.players = new PlayerSessions({
      aoiRadius: options.aoiRadius ?? options.ghostMargin,
      resumeGraceMs: options.resumeGraceMs ?? 15_000,
      now: options.now,
    });
    // deno-lint-ignore no-this-alias -- the host is a long-lived view of this space
    const space = this;
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
          id: `${space.id}:s${++space.#nextInteraction}`,
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
    if (map.epoch < this.map.epoch) return;
    const previous = this.map;
    this.map = map;
    if (map.epoch > previous.epoch) {
      for (let cell = 0; cell < map.owners.length; cell++) {
        if (previous.owners[cell] === this.id && map.owners[cell] !== this.id) {
          this.#lostCells.add(cell);
        }
      }
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
    return this.#outgoing.size;
  }

  /** True when this worker owns no cell, no entity, and every transfer was acknowledged. */
  get empty(): boolean {
    return this.owned.size === 0 && this.#outgoing.size === 0 && !this.map.owners.includes(this.id);
  }

  /** Live migrations accepted here, oldest first (bounded). */
  migrations(): readonly MigrationRecord[] {
    return this.#migrations;
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
    this.#applyInbox(tick);
    this.players.applyCommands(this.#host);
    this.#applyInteractions(tick);
    this.#options.game.onTick?.(this.#ctx, this.#options.gameOptions);
    this.#settle(tick);
    this.players.expire(this.#host, (player) => this.#ctx.remove(player));
    const { grid, map } = this;
    this.#sender.collect(
      this.owned.values(),
      grid,
      map.owners,
      this.id,
      this.#options.ghostMargin,
      (peer) => this.#batchFor(peer),
    );
    this.players.collect(this.#host);
    for (const [peer, batch] of this.#out) if (isEmptyBatch(batch)) this.#out.delete(peer);
    if (tick % this.#ticks.forward === 0) this.#expire(tick);
    return this.#out;
  }

  /** Ownership events after `since` (a seq cursor), oldest first. */
  ownershipSince(since: number): OwnershipEvent[] {
    return this.#ownership.filter((e) => e.seq > since);
  }

  /** Interaction events after `since`, oldest first. */
  interactionsSince(since: number): InteractionEvent[] {
    return this.#interactions.filter((e) => e.seq > since);
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
      this.counters.batchesApplied++;
      for (const ack of batch.acks) this.#acknowledged(ack, batch.from);
      const skip = this.#acceptTransfers(batch, tick);
      for (const handoff of batch.handoffs) {
        if (!skip.has(handoff.entity.id)) this.#adopt(handoff, batch.from, tick);
      }
      this.ghosts.apply(batch, (id) => this.owned.has(id), this.grid);
      for (const interaction of batch.interactions) this.#pending.push(interaction);
    }
    this.#inbox = later;
  }

  /**
   * Verifies each cell transfer in the batch against the handoffs that carry its entities and
   * acknowledges it. Returns the ids of handoffs not to adopt: those of refused transfers
   * (count or checksum mismatch: the sender keeps the cell and resends) and of resends of
   * transfers already taken.
   */
  #acceptTransfers(batch: Batch, tick: number): Set<number> {
    const skip = new Set<number>();
    for (const t of batch.transfers) {
      // Its members: the sender's own (hop 0) handoffs into that cell; passed-on ones are not.
      const handoffs = batch.handoffs.filter((h) =>
        h.hops === 0 && this.grid.cellOf(h.entity.x, h.entity.y, h.entity.z) === t.cell
      );
      const key = `${batch.from}:${t.cell}:${t.epoch}`;
      const ack: TransferAck = { cell: t.cell, epoch: t.epoch, ok: true };
      if (this.#accepted.has(key)) {
        for (const h of handoffs) skip.add(h.entity.id);
      } else if (
        handoffs.length !== t.count || checksumOf(handoffs.map((h) => h.entity)) !== t.checksum
      ) {
        ack.ok = false;
        for (const h of handoffs) skip.add(h.entity.id);
        this.counters.transfersRefused++;
        this.#options.log?.error("migration.refused", {
          cell: t.cell,
          from: batch.from,
          expected: t.count,
          got: handoffs.length,
        });
      } else {
        this.#accepted.set(key, tick);
        this.counters.migrationsIn++;
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
        this.#options.log?.info("migration.accepted", { ...record });
      }
      this.#batchFor(batch.from).acks.push(ack);
    }
    return skip;
  }

  #acknowledged(ack: TransferAck, from: string): void {
    const key = `${ack.cell}:${ack.epoch}`;
    const outgoing = this.#outgoing.get(key);
    if (!outgoing || outgoing.to !== from) return;
    if (ack.ok) {
      this.#outgoing.delete(key);
      this.counters.migrationsOut++;
      this.#options.log?.info("migration.acknowledged", {
        cell: ack.cell,
        epoch: ack.epoch,
        to: from,
      });
    } else {
      outgoing.sentAt = -Infinity; // resend at the next tick
      this.#options.log?.warn("migration.resend", { cell: ack.cell, epoch: ack.epoch, to: from });
    }
  }

  /** Freezes the cells lost in the latest map: their handoffs are already in the batches. */
  #sendTransfers(tick: number, leavingByCell: Map<number, Handoff[]>): void {
    for (const cell of this.#lostCells) {
      const to = this.map.ownerOf(cell);
      if (!to || to === this.id) continue;
      const handoffs = leavingByCell.get(cell) ?? [];
      const transfer: Transfer = {
        cell,
        epoch: this.map.epoch,
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
      this.#batchFor(to).transfers.push(transfer);
    }
    this.#lostCells.clear();
    // Resend what was refused or not acknowledged in time, exactly as first sent.
    for (const outgoing of this.#outgoing.values()) {
      if (tick - outgoing.sentAt < this.#ticks.transferResend) continue;
      outgoing.sentAt = tick;
      const batch = this.#batchFor(outgoing.to);
      batch.transfers.push(outgoing.transfer);
      for (const handoff of outgoing.handoffs) batch.handoffs.push(handoff);
    }
  }

  #adopt(handoff: Handoff, from: string, tick: number): void {
    const state = handoff.entity;
    if (this.owned.has(state.id)) {
      this.#options.log?.error("handoff.duplicate", { entity: state.id, from });
      return;
    }
    const cell = this.grid.cellOf(state.x, state.y, state.z);
    const owner = this.map.ownerOf(cell);
    if (owner !== this.id && owner !== "" && handoff.hops < MAX_HOPS) {
      // Our map says someone else owns it now: pass it on rather than hold it.
      this.#batchFor(owner).handoffs.push({ ...handoff, hops: handoff.hops + 1 });
      // It never became ours, so no ownership is recorded here; the receiver records it.
      this.#forward.set(state.id, { owner, until: tick + this.#ticks.forward });
      this.#options.log?.debug("handoff.forwarded", { entity: state.id, from, to: owner });
      return;
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
    this.#sender.assumeGhosted(entity.id, from);
    this.counters.handoffsIn++;
    this.#record("acquire", entity.id, from, handoff.tick + 1);
  }

  #applyInteractions(tick: number): void {
    if (this.#pending.length === 0) return;
    const pending = this.#pending;
    this.#pending = [];
    const onInteract = this.#options.game.onInteract;
    for (const interaction of pending) {
      if (this.#applied.has(interaction.id)) {
        this.#note("duplicate", tick, interaction, false);
        continue;
      }
      const target = this.owned.get(interaction.target);
      if (target) {
        this.#applied.set(interaction.id, tick);
        if (interaction.kind.startsWith("zs.")) {
          this.players.applyForwarded(this.#host, target, interaction.kind, interaction.data);
        } else {
          const source = this.owned.get(interaction.source) ??
            this.ghosts.ghosts.get(interaction.source);
          const seen = source && source.owner !== this.id ? this.#ghostViews.of(source) : source;
          onInteract?.(this.#ctx, target, interaction, seen);
        }
        this.counters.interactionsApplied++;
        this.#interactionCounts.set(
          target.cell,
          (this.#interactionCounts.get(target.cell) ?? 0) + 1,
        );
        this.#note("applied", tick, interaction, false);
        continue;
      }
      const next = this.#forward.get(interaction.target)?.owner ??
        this.ghosts.ghosts.get(interaction.target)?.owner;
      if (next && next !== this.id && interaction.hops < MAX_HOPS) {
        this.#batchFor(next).interactions.push({ ...interaction, hops: interaction.hops + 1 });
        this.counters.interactionsForwarded++;
        this.#note("forwarded", tick, interaction, false);
      } else {
        this.counters.interactionsDropped++;
        this.#note("dropped", tick, interaction, false);
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
      if (this.#lostCells.has(e.cell)) {
        let group = leavingByCell.get(e.cell);
        if (!group) leavingByCell.set(e.cell, group = []);
        group.push(handoff);
      }
      this.ghosts.keepAsGhost(e, owner, tick);
      this.#sender.handedOff(e.id, owner);
      this.#forward.set(e.id, { owner, until: tick + this.#ticks.forward });
      this.counters.handoffsOut++;
      this.#record("release", e.id, owner, tick);
    }
    if (this.#lostCells.size > 0 || this.#outgoing.size > 0) {
      this.#sendTransfers(tick, leavingByCell);
    }
  }

  #expire(tick: number): void {
    for (const [id, f] of this.#forward) if (f.until < tick) this.#forward.delete(id);
    for (const [id, at] of this.#applied) {
      if (at + this.#ticks.appliedMemory < tick) this.#applied.delete(id);
    }
    for (const [key, at] of this.#accepted) {
      if (at + this.#ticks.acceptedMemory < tick) this.#accepted.delete(key);
    }
  }

  #record(kind: OwnershipEvent["kind"], entity: number, peer: string, tick: number): void {
    const logSize = this.#options.logSize ?? 200_000;
    this.#ownership.push({ seq: ++this.#seq, kind, tick, entity, peer });
    // Trim in bulk (a quarter at a time): one shift per event would move the whole log.
    if (this.#ownership.length > logSize * 1.25) {
      this.#ownership.splice(0, this.#ownership.length - logSize);
    }
  }

  #note(kind: InteractionEvent["kind"], tick: number, i: Interaction, remote: boolean): void {
    const logSize = this.#options.logSize ?? 200_000;
    this.#interactions.push({ seq: ++this.#seq, kind, tick, id: i.id, target: i.target, remote });
    if (this.#interactions.length > logSize * 1.25) {
      this.#interactions.splice(0, this.#interactions.length - logSize);
    }
  }

  #makeContext(random: () => number): GameContext {
    // deno-lint-ignore no-this-alias -- the context is a long-lived view of this space
    const space = this;
    const grid = this.grid;
    const dt = 1 / this.#options.tickHz;
    return {
      get tick() {
        return space.tick;
      },
      dt,
      get worker() {
        return space.id;
      },
      size: grid.size,
      dims: grid.dims,
      random,
      owned: () => space.owned.values(),
      near: (x, y, z, radius, out) =>
        viewGhosts(space.index.query(x, y, z, radius, out), space.id, space.#ghostViews),
      isGhost: (entity) => entity.owner !== space.id,
      interact(source, target, kind, data) {
        if (source.owner !== space.id || !space.owned.has(source.id)) {
          throw new TypeError(
            `Cannot interact: source entity ${source.id} is not owned by ${space.id}`,
          );
        }
        const interaction: Interaction = {
          id: `${space.id}:${++space.#nextInteraction}`,
          source: source.id,
          target: target.id,
          kind,
          data: data ?? null,
          hops: 0,
        };
        const remote = target.owner !== space.id;
        space.#note("issued", space.tick, interaction, remote);
        if (remote) space.#batchFor(target.owner).interactions.push(interaction);
        else space.#pending.push(interaction);
      },
      spawn(type, position, data = {}, id) {
        if (!(type in space.#options.game.entityTypes)) {
          throw new TypeError(`Cannot spawn: unknown entity type ${JSON.stringify(type)}`);
        }
        if (id !== undefined && (!Number.isSafeInteger(id) || id <= 0 || id >= WORLD_ID_LIMIT)) {
          throw new RangeError(`Cannot spawn: id ${id} is outside 1..${WORLD_ID_LIMIT - 1}`);
        }
        const entity = makeEntity(
          id ?? space.#nextId++,
          type,
          {
            x: grid.clampAxis(0, position.x),
            y: grid.clampAxis(1, position.y),
            z: grid.dims === 3 ? grid.clampAxis(2, position.z ?? 0) : 0,
          },
          data,
          space.id,
        );
        entity.cell = grid.cellOf(entity.x, entity.y, entity.z);
        space.owned.set(entity.id, entity);
        space.index.upsert(entity);
        space.#record("acquire", entity.id, "", Math.max(space.tick, 0));
        return entity;
      },
      remove(entity) {
        if (!space.owned.delete(entity.id)) return;
        space.index.remove(entity.id);
        space.players.forget(entity.id);
        space.#record("release", entity.id, "", space.tick);
      },
    };
  }
}
