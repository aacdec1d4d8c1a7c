// A worker's share of the world ("space"): owned entities, ghosts, the spatial index and one
// tick step — inbound batches, interactions, game logic, handoffs, ghost sync. Pure: it takes
// batches in and hands batches out; the worker role moves them over gRPC.
import {
  type Batch,
  emptyBatch,
  type Handoff,
  type Interaction,
  isEmptyBatch,
  stateOf,
} from "./codec.ts";
import type { Entity, EntityData } from "./entity.ts";
import { type GameContext, type GameDefinition, WORLD_ID_LIMIT } from "./game.ts";
import type { Grid } from "./grid.ts";
import { PartitionMap } from "./partition.ts";
import { SpatialIndex } from "./spatial_index.ts";
import { GhostSender, GhostTable } from "./sync.ts";
import { mulberry32 } from "./demo_game.ts";
import type { Logger } from "./log.ts";

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
  /** How many ownership and interaction events to keep. */
  logSize?: number;
}

const MAX_HOPS = 8;
const FORWARD_TICKS = 200;

/** One worker's simulation of the cells it owns. */
export class Space {
  readonly id: string;
  readonly grid: Grid;
  readonly owned = new Map<number, Entity>();
  readonly index: SpatialIndex;
  readonly ghosts: GhostTable;
  readonly counters: SpaceCounters = {
    handoffsOut: 0,
    handoffsIn: 0,
    interactionsApplied: 0,
    interactionsForwarded: 0,
    interactionsDropped: 0,
    batchesApplied: 0,
  };
  map: PartitionMap;
  /** Last tick stepped (-1 before the first). */
  tick = -1;

  #options: SpaceOptions;
  #sender = new GhostSender();
  #inbox: Batch[] = [];
  #pending: Interaction[] = [];
  #applied = new Map<string, number>();
  #forward = new Map<number, { owner: string; until: number }>();
  #out = new Map<string, Batch>();
  #nextId: number;
  #nextInteraction = 0;
  #ownership: OwnershipEvent[] = [];
  #interactions: InteractionEvent[] = [];
  #seq = 0;
  #started = false;
  #leaving: Entity[] = [];
  #ctx: GameContext;
  #interactionsPerCell = new Map<number, number>();

  constructor(options: SpaceOptions) {
    this.#options = options;
    this.id = options.id;
    this.grid = options.grid;
    this.index = new SpatialIndex(Math.max(1, options.grid.cellSize / 20));
    this.ghosts = new GhostTable(this.index);
    this.map = PartitionMap.empty(options.grid.cellCount);
    this.#nextId = (options.index + 1) * WORLD_ID_LIMIT;
    this.#ctx = this.#makeContext(mulberry32((options.seed ?? 1) ^ hash(options.id)));
  }

  /** True when this space owns the cell at the point under its current map. */
  ownsPoint(x: number, y: number, z = 0): boolean {
    return this.map.ownerOf(this.grid.cellOf(x, y, z)) === this.id;
  }

  /** Installs a new partition map. The first map that gives this worker cells at epoch 1 starts the world. */
  setMap(map: PartitionMap): void {
    if (map.epoch < this.map.epoch) return;
    this.map = map;
    if (!this.#started && map.epoch === 1 && map.owners.includes(this.id)) {
      this.#started = true;
      const start = this.#options.game.onWorldStart;
      start?.(this.#ctx, (x, y, z) => this.ownsPoint(x, y, z), this.#options.gameOptions);
    }
  }

  /** Queues a decoded batch from a peer; it is applied at the first tick after its own. */
  receive(batch: Batch): void {
    this.#inbox.push(batch);
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
    this.#interactionsPerCell.clear();
    this.#applyInbox(tick);
    this.#applyInteractions(tick);
    this.#options.game.onTick?.(this.#ctx, this.#options.gameOptions);
    this.#settle(tick);
    const { grid, map } = this;
    this.#sender.collect(
      this.owned.values(),
      grid,
      map.owners,
      this.id,
      this.#options.ghostMargin,
      (peer) => this.#batchFor(peer),
    );
    for (const [peer, batch] of this.#out) if (isEmptyBatch(batch)) this.#out.delete(peer);
    if (tick % FORWARD_TICKS === 0) this.#expire(tick);
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

  /** Interactions applied per cell during the last tick. */
  interactionsPerCell(): ReadonlyMap<number, number> {
    return this.#interactionsPerCell;
  }

  #batchFor(peer: string): Batch {
    let batch = this.#out.get(peer);
    if (!batch) this.#out.set(peer, batch = emptyBatch(this.id, this.map.epoch, this.tick));
    return batch;
  }

  #applyInbox(tick: number): void {
    if (this.#inbox.length === 0) return;
    const later: Batch[] = [];
    for (const batch of this.#inbox) {
      if (batch.tick >= tick) {
        later.push(batch);
        continue;
      }
      this.counters.batchesApplied++;
      for (const handoff of batch.handoffs) this.#adopt(handoff, batch.from, tick);
      this.ghosts.apply(batch, (id) => this.owned.has(id), this.grid);
      for (const interaction of batch.interactions) this.#pending.push(interaction);
    }
    this.#inbox = later;
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
      this.#forward.set(state.id, { owner, until: tick + FORWARD_TICKS });
      this.#options.log?.debug("handoff.forwarded", { entity: state.id, from, to: owner });
      return;
    }
    this.ghosts.remove(state.id);
    const entity: Entity = { ...state, data: state.data as EntityData, cell, owner: this.id };
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
        onInteract?.(this.#ctx, target, interaction);
        this.counters.interactionsApplied++;
        this.#interactionsPerCell.set(
          target.cell,
          (this.#interactionsPerCell.get(target.cell) ?? 0) + 1,
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
    for (const e of leaving) {
      const owner = map.ownerOf(e.cell);
      this.owned.delete(e.id);
      this.#batchFor(owner).handoffs.push({ entity: stateOf(e), tick, hops: 0 });
      this.ghosts.keepAsGhost(e, owner, tick);
      this.#sender.handedOff(e.id, owner);
      this.#forward.set(e.id, { owner, until: tick + FORWARD_TICKS });
      this.counters.handoffsOut++;
      this.#record("release", e.id, owner, tick);
    }
  }

  #expire(tick: number): void {
    for (const [id, f] of this.#forward) if (f.until < tick) this.#forward.delete(id);
    for (const [id, at] of this.#applied) {
      if (at + FORWARD_TICKS * 2 < tick) this.#applied.delete(id);
    }
  }

  #record(kind: OwnershipEvent["kind"], entity: number, peer: string, tick: number): void {
    const logSize = this.#options.logSize ?? 200_000;
    this.#ownership.push({ seq: ++this.#seq, kind, tick, entity, peer });
    if (this.#ownership.length > logSize) {
      this.#ownership.splice(0, this.#ownership.length - logSize);
    }
  }

  #note(kind: InteractionEvent["kind"], tick: number, i: Interaction, remote: boolean): void {
    const logSize = this.#options.logSize ?? 200_000;
    this.#interactions.push({ seq: ++this.#seq, kind, tick, id: i.id, target: i.target, remote });
    if (this.#interactions.length > logSize) {
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
      near: (x, y, z, radius, out) => space.index.query(x, y, z, radius, out),
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
        const entity: Entity = {
          id: id ?? space.#nextId++,
          type,
          x: grid.clampAxis(0, position.x),
          y: grid.clampAxis(1, position.y),
          z: grid.dims === 3 ? grid.clampAxis(2, position.z ?? 0) : 0,
          vx: 0,
          vy: 0,
          vz: 0,
          data,
          cell: -1,
          owner: space.id,
        };
        entity.cell = grid.cellOf(entity.x, entity.y, entity.z);
        space.owned.set(entity.id, entity);
        space.index.upsert(entity);
        space.#record("acquire", entity.id, "", Math.max(space.tick, 0));
        return entity;
      },
      remove(entity) {
        if (!space.owned.delete(entity.id)) return;
        space.index.remove(entity.id);
        space.#record("release", entity.id, "", space.tick);
      },
    };
  }
}

function hash(text: string): number {
  let h = 2166136261;
  for (let i = 0; i < text.length; i++) h = Math.imul(h ^ text.charCodeAt(i), 16777619);
  return h >>> 0;
}
