// Takeover of a dead owner's share: on a map that declares workers down, re-aim what was bound
// for them and, at the next tick, promote the mirror this worker holds of them (or respawn the
// world-start entities of cells nobody mirrored); claims keep a stale mirror from being promoted.
import { recordOf } from "../world/entity.ts";
import type { Handoff } from "../sync/batch_codec.ts";
import type { Mirror } from "../sync/replica.ts";
import type { PartitionMap } from "../world/partition.ts";
import type { GameContext } from "./game.ts";
import type { CellTransfers } from "./cell_transfers.ts";
import type { SpaceParts } from "./space_parts.ts";

/** A claim: an entity of `owner` lives elsewhere since `tick`. */
export interface Claim {
  owner: string;
  entity: number;
  tick: number;
}

/** One space's takeovers of dead owners. */
export class Takeovers {
  #space: SpaceParts;
  #transfers: CellTransfers;
  #ctx: GameContext;
  /** Entities promoted from a mirror: owner and the tick of their mirrored state (a while). */
  #promotedFrom = new Map<number, { owner: string; taken: number; at: number }>();
  /** Dead owners whose mirror (or, lacking one, whose world-start entities) to take over. */
  #takeovers: Array<{ owner: string; cells: number[]; mirror: boolean }> = [];

  constructor(space: SpaceParts, transfers: CellTransfers, ctx: GameContext) {
    this.#space = space;
    this.#transfers = transfers;
    this.#ctx = ctx;
  }

  /** True when a takeover waits for the next tick. */
  get due(): boolean {
    return this.#takeovers.length > 0;
  }

  /** Forgets promotions older than `before`. */
  expire(before: number): void {
    for (const [id, p] of this.#promotedFrom) {
      if (p.at < before) this.#promotedFrom.delete(id);
    }
  }

  /**
   * Reacts to the workers the new map declares down: ghosts of theirs go, handoffs and
   * transfers held for them wait for the cells' new owners, and the mirrors this worker holds
   * of them (or, with no replica anywhere, the world-start entities of the cells it takes) are
   * taken over at the next tick.
   */
  noteDeaths(previous: PartitionMap, map: PartitionMap): void {
    const space = this.#space;
    const dead = new Set<string>();
    for (const id of map.down) if (!previous.down.has(id)) dead.add(id);
    for (const id of dead) {
      // Interactions aimed at its entities go to its backup, which takes them over (or passes
      // them on to the spare it transfers them to).
      const heir = previous.backupOf(id);
      const until = space.tick + space.ticks.forward;
      for (const [entity, f] of space.forward) {
        if (f.owner !== id) continue;
        if (heir && !map.down.has(heir)) f.owner = heir;
        else space.forward.delete(entity);
      }
      if (heir && !map.down.has(heir)) {
        for (const ghost of space.ghosts.ghosts.values()) {
          if (ghost.owner === id) space.forward.set(ghost.id, { owner: heir, until });
        }
      }
      space.peerGone(id);
      const cells = previous.cellsOf(id);
      if (previous.backupOf(id) === space.id) {
        this.#takeovers.push({ owner: id, cells, mirror: true });
        continue;
      }
      const backup = previous.backupOf(id);
      const mine = cells.filter((c) => map.owners[c] === space.id);
      if (mine.length > 0 && (!backup || map.down.has(backup))) {
        this.#takeovers.push({ owner: id, cells: mine, mirror: false });
      }
    }
    if (dead.size > 0) {
      space.held.orphan(dead, (id) => {
        const heir = previous.backupOf(id);
        return heir && !map.down.has(heir) ? heir : "";
      });
      this.#transfers.dropTo(dead);
    }
    const backed = new Set(map.mirroredBy(space.id));
    for (const t of this.#takeovers) if (t.mirror) backed.add(t.owner);
    space.mirrors.keepOnly(backed);
  }

  /** Promotes the mirrors of dead owners (or respawns their cells' world-start entities). */
  takeOver(tick: number): void {
    const space = this.#space;
    const takeovers = this.#takeovers;
    this.#takeovers = [];
    for (const { owner, cells, mirror } of takeovers) {
      const taken = mirror ? space.mirrors.take(owner) : undefined;
      if (taken) this.#promote(owner, taken, tick);
      else this.#respawn(owner, cells);
      // Cells of the dead owner that went to another worker (a spare): send them as transfers.
      for (const cell of cells) {
        const to = space.map.ownerOf(cell);
        if (to && to !== space.id) this.#transfers.lostCells.add(cell);
      }
    }
  }

  /**
   * Tells the backup of a handoff's sender that the entity lives here now, so a mirror that
   * missed the sender's last update is never promoted beside it.
   */
  claim(from: string, handoff: Handoff): void {
    const space = this.#space;
    const heir = space.map.backupOf(from);
    if (!heir || space.map.down.has(heir)) return;
    const claim = { owner: from, entity: handoff.entity.id, tick: handoff.tick };
    if (heir === space.id) this.claimed(claim);
    else space.batchFor(heir).claims.push(claim);
  }

  /** An entity of `owner` lives elsewhere since `tick`: drop an older mirror (or promotion). */
  claimed(claim: Claim): void {
    const space = this.#space;
    if (space.mirrors.claim(claim.owner, claim.entity, claim.tick)) return;
    // Promoted already (the claim was late): this copy is the stale one.
    const promoted = this.#promotedFrom.get(claim.entity);
    const entity = space.owned.get(claim.entity);
    if (!promoted || !entity || promoted.owner !== claim.owner || promoted.taken > claim.tick) {
      return;
    }
    this.#promotedFrom.delete(claim.entity);
    space.owned.delete(entity.id);
    space.index.remove(entity.id);
    space.players.forget(entity.id);
    space.log.record("release", entity.id, "", space.tick);
    space.counters.duplicatesDropped++;
    space.options.log?.warn("promoted.duplicate_dropped", {
      entity: entity.id,
      owner: claim.owner,
    });
  }

  #promote(owner: string, mirror: Mirror, tick: number): void {
    const space = this.#space;
    let promoted = 0;
    const grid = space.grid;
    const dt = 1 / space.options.tickHz;
    for (const state of mirror.entities.values()) {
      if (space.owned.has(state.id)) continue;
      // Updates go when motion changes: carry it on over the ticks since it was mirrored.
      const steps = Math.max(0, tick - 1 - (mirror.taken.get(state.id) ?? tick - 1));
      // Built by makeEntity, like every other record, so all owned entities share one shape.
      const entity = recordOf(state, space.id);
      entity.session = state.session;
      if (steps > 0) {
        entity.x = grid.clampAxis(0, entity.x + entity.vx * dt * steps);
        entity.y = grid.clampAxis(1, entity.y + entity.vy * dt * steps);
        if (grid.dims === 3) entity.z = grid.clampAxis(2, entity.z + entity.vz * dt * steps);
      }
      entity.cell = grid.cellOf(entity.x, entity.y, entity.z);
      space.ghosts.remove(entity.id);
      space.owned.set(entity.id, entity);
      space.index.upsert(entity);
      if (entity.session) space.players.adopted(entity);
      space.log.record("acquire", entity.id, owner, tick);
      const taken = mirror.taken.get(entity.id) ?? 0;
      this.#promotedFrom.set(entity.id, { owner, taken, at: tick });
      // A handoff of it older than the mirror (a dead receiver's sender resending what it
      // held) is stale: the mirror proves the dead owner had adopted it.
      space.processed.note(entity.id, taken, tick);
      promoted++;
    }
    // What the dead owner still held goes on to the cells' owners (or is adopted here).
    for (const handoff of mirror.held.values()) space.adopt(handoff, owner, tick);
    space.counters.promoted += promoted;
    space.options.log?.info("mirror.promoted", {
      owner,
      entities: promoted,
      held: mirror.held.size,
      mirrorTick: mirror.tick,
      tick,
    });
  }

  /** No replica survived: the game's world-start entities of those cells, under new ids. */
  #respawn(owner: string, cells: readonly number[]): void {
    const space = this.#space;
    const start = space.options.game.onWorldStart;
    // An instance has no world start: with no mirror left it is lost (the coordinator drops it).
    if (!start || cells.length === 0 || space.options.instance) return;
    const set = new Set(cells);
    const before = space.owned.size;
    const base = this.#ctx;
    // Fresh ids: a world-start entity that wandered off may still live on another worker.
    const ctx: GameContext = Object.create(base);
    ctx.spawn = (type, position, data) => base.spawn(type, position, data);
    start(ctx, (x, y, z) => set.has(space.grid.cellOf(x, y, z ?? 0)), space.options.gameOptions);
    space.counters.respawned += space.owned.size - before;
    space.options.log?.warn("cells.respawned", {
      owner,
      cells: cells.length,
      entities: space.owned.size - before,
    });
  }
}
