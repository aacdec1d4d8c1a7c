// A worker's share of the world ("space"): owned entities, ghosts, the spatial index and one
// tick step — inbound batches (space_inbox.ts), interactions, game logic, handoffs, ghost sync
// and replica ops (space_outbox.ts). Pure: it takes batches in and hands batches out; the
// worker role moves them over gRPC.
import type { Batch } from "../sync/batch_codec.ts";
import { type GameContext, WORLD_ID_LIMIT } from "./game.ts";
import type { Grid } from "../world/grid.ts";
import { PartitionMap } from "../world/partition.ts";
import { type PlayerHost, PlayerSessions } from "./player_sessions.ts";
import type { GatewayCommand, WorkerReport } from "../session/session_messages.ts";
import { GridIndex } from "../world/grid_index.ts";
import { type EntityIndex, SpatialIndex } from "../world/spatial_index.ts";
import { GhostTable } from "../sync/ghosts.ts";
import { fnv1a, mulberry32 } from "./random.ts";
import { gridBucketSize, rbushSlack, type SpaceTicks, spaceTicks } from "./space_tuning.ts";
import { ReplicaTable } from "../sync/replica.ts";
import { OwnedEntities } from "./owned_entities.ts";
import { HeldHandoffs, ProcessedHandoffs } from "../sync/held_handoffs.ts";
import {
  type InteractionEvent,
  type MigrationRecord,
  newSpaceCounters,
  type OwnershipEvent,
  type SpaceCounters,
  SpaceLog,
} from "./space_records.ts";
import type { SpaceParts } from "./space_parts.ts";
import type { SpaceOptions } from "./space_options.ts";
import { PHASE } from "../observe/tick_phases.ts";
import { makeGameContext } from "./space_context.ts";
import { GhostViews } from "./ghost_view.ts";
import { DataVersions } from "./data_versions.ts";
import { CellTransfers } from "./cell_transfers.ts";
import { Takeovers } from "./takeover.ts";
import { Handoffs } from "./handoffs.ts";
import { PeerGameVersions } from "./game_versions.ts";
import { Interactions } from "./interactions.ts";
import { SpaceInbox } from "./space_inbox.ts";
import { SpaceOutbox } from "./space_outbox.ts";

export type {
  InteractionEvent,
  MigrationRecord,
  OwnershipEvent,
  SpaceCounters,
} from "./space_records.ts";
export type { SpaceOptions } from "./space_options.ts";

/** One worker's simulation of the cells it owns. */
export class Space {
  readonly id: string;
  readonly grid: Grid;
  readonly owned = new OwnedEntities();
  readonly index: EntityIndex;
  readonly ghosts: GhostTable;
  readonly counters: SpaceCounters = newSpaceCounters();
  /** The game version each peer runs, from the map (the worker runtime keeps it current). */
  readonly games: PeerGameVersions;
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
  /** The map `#alone` was computed for. */
  #aloneIn: PartitionMap | undefined;
  #alone = false;
  /** Data versions of owned entities, shared by the players' views and ghost sync. */
  #dataVersions = new DataVersions();
  #held = new HeldHandoffs();
  #processed = new ProcessedHandoffs();
  #inbox: SpaceInbox;
  #forward = new Map<number, { owner: string; until: number }>();
  #outbox: SpaceOutbox;
  #ids: { entity: number; interaction: number };
  /** Players owned here: gateway commands in, AOI diffs out. */
  readonly players: PlayerSessions;
  #host: PlayerHost;
  #log: SpaceLog;
  #parts: SpaceParts;
  #transfers: CellTransfers;
  #takeovers: Takeovers;
  #handoffs: Handoffs;
  #interactions: Interactions;
  #started = false;
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
    this.map = PartitionMap.empty(options.grid.cellCount, options.epoch);
    this.#ids = options.ids ?? { entity: (options.index + 1) * WORLD_ID_LIMIT, interaction: 0 };
    this.#log = new SpaceLog(options.auditEvents);
    this.games = new PeerGameVersions(options.game, options.gameOptions);
    this.players = new PlayerSessions({
      dataVersions: this.#dataVersions,
      aoiRadius: options.aoiRadius ?? options.ghostMargin,
      snapshotEvery: options.snapshotEvery,
      resumeGraceMs: options.resumeGraceMs ?? 15_000,
      saveEveryMs: options.playerSaveMs,
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
      ghostViews: new GhostViews(),
      forward: this.#forward,
      log: this.#log,
      games: this.games,
      ids: this.#ids,
      batchFor: (peer) => this.#outbox.batchFor(peer),
      queueInteraction: (interaction, fromPeer) => this.#interactions.queue(interaction, fromPeer),
      adopt: (handoff, from, tick) => this.#handoffs.adopt(handoff, from, tick),
      peerGone: (peer) => this.peerGone(peer),
    };
    this.#outbox = new SpaceOutbox(this.#parts, this.#dataVersions);
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
        space.#interactions.queue({
          id: `${space.id}:s${++space.#ids.interaction}`,
          source: 0,
          target,
          kind,
          data,
          hops: 0,
        }, false);
      },
    };
    this.#interactions = new Interactions(this.#parts, this.#host, this.#ctx);
    const sender = this.#outbox.ghostSender;
    this.#handoffs = new Handoffs(this.#parts, sender, this.#transfers, this.#host);
    this.#inbox = new SpaceInbox(this.#parts, this.#transfers, this.#takeovers, this.#handoffs);
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
    if (
      !this.#started && !this.#options.instance && map.epoch === 1 && map.owners.includes(this.id)
    ) {
      this.#started = true;
      const start = this.#options.game.onWorldStart;
      start?.(this.#ctx, (x, y, z) => this.ownsPoint(x, y, z), this.#options.gameOptions);
    }
  }

  /** The game context (instances call their mode's onCreate and onDispose with it). */
  get ctx(): GameContext {
    return this.#ctx;
  }

  /** The players' host (instances depart their players with it when destroyed). */
  get host(): PlayerHost {
    return this.#host;
  }

  /** Queues a gateway's command for the next tick. */
  command(gateway: string, command: GatewayCommand): void {
    this.players.queue(gateway, command);
  }

  /** Sends the players of `gateway` a full DIFF at the next tick (see PlayerSessions.resync). */
  resync(gateway: string): number {
    return this.players.resync(this.#host, gateway);
  }

  /** The players' reports of the last tick, by gateway (taken once). */
  takeReports(): Map<string, WorkerReport> {
    return this.players.takeReports();
  }

  /** Queues a decoded batch from a peer; it is applied at the first tick after its own. */
  receive(batch: Batch): void {
    this.#inbox.receive(batch, this.tick);
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
   * Ids of the entities of those handoffs: each is owned by its receiver once adopted, and by
   * nobody while its batch is on the way (a census counts them here).
   */
  inFlight(): number[] {
    return [...this.#held.held.keys()];
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
    return this.#interactions.takeCounts();
  }

  /** A peer went away: drop its ghosts. */
  peerGone(peer: string): number {
    this.#outbox.ghostSender.forgetPeer(peer);
    return this.ghosts.dropOwner(peer);
  }

  /** Runs tick `tick` and returns the non-empty batch for each peer. */
  step(tick: number): Map<string, Batch> {
    const shown = this.tick;
    this.tick = tick;
    const outbox = this.#outbox;
    outbox.clear();
    if (this.fenced) {
      this.owned.clearChanges();
      return outbox.finish();
    }
    const phases = this.#options.phases;
    phases?.start();
    const backup = outbox.openBackup();
    // Peers' batches first: their claims keep a mirror of what lives on elsewhere from being
    // promoted; whatever they hand over that the mirror has too is adopted once.
    this.#inbox.apply(tick);
    if (this.#takeovers.due) this.#takeovers.takeOver(tick);
    this.#handoffs.resendHeld(tick);
    this.#handoffs.releaseAcks();
    phases?.lap(PHASE.peers);
    // Players see the state after tick `shown`: owned entities before this tick moves them,
    // ghosts as their owners sent them for that same tick (docs/protocol.md, DIFF).
    if (shown >= 0) this.players.catchUp(this.#host, shown);
    // Owning every cell, no peer's batch can change what players see: their diffs of this
    // tick go out at its end, a tick sooner than waiting for peers' batches at the next start.
    const collectNow = this.#ownsEveryCell();
    this.players.applyCommands(this.#host, collectNow && this.players.snapshots(tick));
    phases?.lap(PHASE.players);
    this.#interactions.apply(tick);
    phases?.lap(PHASE.interactions);
    this.#options.game.onTick?.(this.#ctx, this.#options.gameOptions);
    phases?.lap(PHASE.game);
    this.#handoffs.settle(tick);
    phases?.lap(PHASE.settle);
    this.players.expire(this.#host, (player) => this.#ctx.remove(player));
    phases?.lap(PHASE.players);
    outbox.collect(tick, backup);
    phases?.lap(PHASE.sync);
    if (collectNow) this.players.collect(this.#host, tick);
    phases?.lap(PHASE.players);
    // Every reader of the owned entities' changes has seen them (the replica diff, above).
    this.owned.clearChanges();
    const out = outbox.finish();
    phases?.lap(PHASE.sync);
    if (tick % this.#ticks.forward === 0) this.#expire(tick);
    phases?.lap(PHASE.peers);
    return out;
  }

  /** True when this space owns every cell of its map (checked once per map). */
  #ownsEveryCell(): boolean {
    if (this.#aloneIn !== this.map) {
      this.#aloneIn = this.map;
      this.#alone = this.map.owners.every((owner) => owner === this.id);
    }
    return this.#alone;
  }

  /** True when this space keeps audit logs ({@linkcode SpaceOptions.auditEvents}). */
  get audited(): boolean {
    return this.#log.enabled;
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
    for (const e of this.#handoffs.leaving) counts.set(e.cell, (counts.get(e.cell) ?? 0) + 1);
    return counts;
  }

  #expire(tick: number): void {
    for (const [id, f] of this.#forward) if (f.until < tick) this.#forward.delete(id);
    this.#interactions.expire(tick - this.#ticks.appliedMemory);
    this.#transfers.expire(tick - this.#ticks.acceptedMemory);
    this.#processed.expire(tick - this.#ticks.acceptedMemory);
    this.#takeovers.expire(tick - this.#ticks.forward);
  }
}
