// The instances (rooms) a worker hosts beside its share of the world: each a small Space of its
// own extent on the same tick, created at its first join or when the coordinator's list places
// it here, disposed of (players sent back to their gateways) once that list drops it. Its cells
// are owned by its host in a map of the world's epoch, so a move is a live migration of all of
// them (src/sim/cell_transfers.ts), mirrored to a backup that promotes it when the host dies
// (src/sim/takeover.ts). Its batches carry its id (Batch.space) on the worker's peer links.
import type { Batch } from "../sync/batch_codec.ts";
import type { GameDefinition, InstanceInfo, InstanceMode } from "./game.ts";
import type { Logger } from "../observe/log.ts";
import { Grid } from "../world/grid.ts";
import { PartitionMap } from "../world/partition.ts";
import type {
  GatewayCommand,
  InstancePlacement,
  WorkerReport,
} from "../session/session_messages.ts";
import { Space, type SpaceOptions } from "./space.ts";
import { snapshotEvery, type WorldSpec } from "../world/world_spec.ts";

/** Options of {@linkcode InstanceSpaces}. */
export interface InstanceSpacesOptions {
  /** The worker's id: instance spaces own their entities and send reports under it. */
  worker: string;
  world: WorldSpec;
  game: GameDefinition<unknown>;
  gameOptions: unknown;
  /** The worker's id counters, shared with its world space: entity ids stay unique. */
  ids: { entity: number; interaction: number };
  /** Space options shared with the world space (grace, index, timings, clock). */
  space?: Pick<
    SpaceOptions,
    | "resumeGraceMs"
    | "playerSaveMs"
    | "timings"
    | "spatialIndex"
    | "now"
    | "seed"
    | "replicationTicks"
    | "auditEvents"
  >;
  log?: Logger;
  /** A game hook of an instance mode threw (counted like any game error). */
  onGameError?: (hook: string, error: unknown) => void;
}

/** What an instance's map takes from the world's: its epoch, backups and down workers. */
export interface InstanceRoles {
  epoch: number;
  backups: ReadonlyMap<string, string>;
  down: ReadonlySet<string>;
}

/**
 * Ticks a worker keeps an instance it no longer runs nor mirrors before it may forget it: a
 * backup of the old host must first see the handoffs of its handover in the mirror (they come
 * a tick or two after the move), to pass them on should the old host die before the new one
 * acknowledges them.
 */
export const RELEASE_GRACE_TICKS = 40;

/** Batches of instances that arrived before their space did, at most (oldest go first). */
export const MAX_EARLY_BATCHES = 256;

interface Hosted {
  space: Space;
  /** The coordinator's latest placement of it (its host may be another worker now). */
  placement: InstancePlacement;
  info: InstanceInfo;
  mode: InstanceMode;
  /**
   * True while it runs here or is mirrored here; false once it moved away: kept until its
   * handover is acknowledged, then dropped.
   */
  kept: boolean;
  /** The tick from which a mirror no longer kept may go (-1 while kept; -Infinity: now). */
  releasedAt: number;
}

/** The instance spaces of one worker. */
export class InstanceSpaces {
  readonly #hosted = new Map<string, Hosted>();
  /** Which instance owns an entity, as last found (checked on use, so never stale for long). */
  readonly #byEntity = new Map<number, Hosted>();
  readonly #o: InstanceSpacesOptions;
  /** Reports of disposals between ticks; they leave with the next tick's reports. */
  #pending: Array<Map<string, WorkerReport>> = [];
  #tick = -1;
  #roles: InstanceRoles = { epoch: 1, backups: new Map(), down: new Set() };
  /** The coordinator's latest placement of each live instance. */
  #latest = new Map<string, InstancePlacement>();
  /** Peer batches of the last step, each tagged with its instance. */
  #batches: Array<[string, Batch]> = [];
  /** Batches for an instance not hosted yet (a transfer can race the map), by instance. */
  #early = new Map<string, Batch[]>();
  #earlyCount = 0;

  constructor(options: InstanceSpacesOptions) {
    this.#o = options;
  }

  get size(): number {
    return this.#hosted.size;
  }

  /** The hosted instances' spaces, by instance id. */
  spaces(): Map<string, Space> {
    return new Map([...this.#hosted].map(([id, h]) => [id, h.space]));
  }

  /** True when no instance runs here and every handover was acknowledged. */
  get empty(): boolean {
    for (const { space } of this.#hosted.values()) if (!space.empty) return false;
    return true;
  }

  /** Transfers of instances sent and not yet acknowledged. */
  get pendingTransfers(): number {
    let n = 0;
    for (const { space } of this.#hosted.values()) n += space.pendingTransfers;
    return n;
  }

  /** Entities mirrored here of instances other workers host. */
  get mirrored(): number {
    let n = 0;
    for (const { space } of this.#hosted.values()) n += space.mirrors.size;
    return n;
  }

  /** A peer's batch of an instance (Batch.space): queued for its space, or until it exists. */
  receive(batch: Batch): void {
    const id = batch.space ?? "";
    const hosted = this.#hosted.get(id);
    if (hosted) return hosted.space.receive(batch);
    let early = this.#early.get(id);
    if (!early) this.#early.set(id, early = []);
    early.push(batch);
    if (++this.#earlyCount > MAX_EARLY_BATCHES) {
      const [oldest, list] = this.#early.entries().next().value!;
      list.shift();
      this.#earlyCount--;
      if (list.length === 0) this.#early.delete(oldest);
    }
  }

  /** The peer batches of the last step, each tagged with its instance (taken once). */
  takeBatches(): Array<[string, Batch]> {
    const batches = this.#batches;
    this.#batches = [];
    return batches;
  }

  /**
   * Takes a gateway command meant for an instance here: a join into one (created now if it is
   * new), or a command for an entity one of them owns. False when it is the world's.
   */
  route(gateway: string, command: GatewayCommand): boolean {
    if (command.op === "join") {
      if (!command.instance) return false;
      // A join sent before the gateway heard of a move: the instance as it is now (no second
      // onCreate); a player joined where it no longer runs is handed off to its host.
      const latest = this.#latest.get(command.instance.id);
      const placement = latest && (latest.moves ?? 0) >= (command.instance.moves ?? 0)
        ? latest
        : command.instance;
      const hosted = this.#ensure(placement);
      // An instance of a mode this game lacks cannot run: the join goes unanswered (the
      // coordinator validated the mode, so only a mismatched deploy gets here).
      if (!hosted) return true;
      // Players arrive at the centre of the instance; the game may place them in onJoin.
      const [x, y, z = 0] = hosted.space.grid.size.map((extent) => extent / 2);
      hosted.space.command(gateway, { ...command, x, y, z });
      return true;
    }
    const cached = this.#byEntity.get(command.entity);
    if (
      cached && this.#hosted.get(cached.info.id) === cached &&
      cached.space.owned.has(command.entity)
    ) {
      cached.space.command(gateway, command);
      return true;
    }
    this.#byEntity.delete(command.entity);
    // Joins record their entity (see step); a scan is for the rare rest (a resume, say).
    for (const hosted of this.#hosted.values()) {
      if (hosted.space.owned.has(command.entity)) {
        this.#byEntity.set(command.entity, hosted);
        hosted.space.command(gateway, command);
        return true;
      }
    }
    return false;
  }

  /**
   * The coordinator's list of live instances (`seq`: its newest creation when it was made) with
   * the world map's `roles`: creates those placed here, or mirrored here (this worker backs up
   * their host), that are missing; gives every hosted one its map (a host that lost one hands
   * it over at its next tick, a backup whose host died promotes its mirror); disposes of those
   * it no longer lists — but not of one created after the list was made (a join may come
   * before the list shows it).
   */
  sync(placements: readonly InstancePlacement[], seq: number, roles?: InstanceRoles): void {
    if (roles) this.#roles = roles;
    const me = this.#o.worker;
    const listed = new Set<string>();
    this.#latest = new Map(placements.map((p) => [p.id, p]));
    for (const placement of placements) {
      listed.add(placement.id);
      const kept = this.#keeps(placement);
      const hosted = kept ? this.#ensure(placement) : this.#hosted.get(placement.id);
      if (!hosted) continue;
      // Its old host needs no grace: what it handed over is mirrored on its backup.
      const wasHost = hosted.placement.worker === me;
      if (hosted.kept && !kept) hosted.releasedAt = wasHost ? -Infinity : this.#tick;
      if (kept) hosted.releasedAt = -1;
      hosted.placement = placement;
      hosted.kept = kept;
      hosted.space.setMap(this.#mapOf(hosted.space, placement.worker));
    }
    for (const [id, hosted] of this.#hosted) {
      if (listed.has(id) || hosted.placement.seq > seq) continue;
      if (hosted.placement.worker === me) this.#dispose(id, hosted);
      else this.#drop(id, hosted);
    }
    for (const id of this.#early.keys()) {
      if (!listed.has(id)) {
        (this.#earlyCount -= this.#early.get(id)!.length, this.#early.delete(id));
      }
    }
  }

  /** Steps every instance through tick `tick`; returns their reports merged per gateway. */
  step(tick: number): Map<string, WorkerReport> {
    this.#tick = tick;
    const out = new Map<string, WorkerReport>();
    for (const pending of this.#pending) mergeReports(out, pending);
    this.#pending = [];
    this.#batches = [];
    for (const [id, hosted] of this.#hosted) {
      for (const [peer, batch] of hosted.space.step(tick)) {
        batch.space = id;
        this.#batches.push([peer, batch]);
      }
      const reports = hosted.space.takeReports();
      for (const report of reports.values()) {
        for (const j of report.joined) this.#byEntity.set(j.entity, hosted);
        for (const d of report.departed) this.#byEntity.delete(d.entity);
        for (const g of report.gone) this.#byEntity.delete(g.entity);
      }
      mergeReports(out, reports);
      // Moved away and acknowledged by its new host: nothing of it is left here.
      if (
        !hosted.kept && hosted.space.empty && !holdsHandoffs(hosted.space) &&
        tick - hosted.releasedAt > RELEASE_GRACE_TICKS
      ) this.#drop(id, hosted);
    }
    return out;
  }

  /** Disposes of every instance (the worker stops or drops its state). */
  close(): void {
    for (const [id, hosted] of this.#hosted) this.#dispose(id, hosted);
    this.#pending = [];
    this.#early.clear();
    this.#earlyCount = 0;
  }

  /** True when the instance runs here, or this worker (alive) is its host's backup. */
  #keeps(placement: InstancePlacement): boolean {
    const me = this.#o.worker, { backups, down } = this.#roles;
    return placement.worker === me || (backups.get(placement.worker) === me && !down.has(me));
  }

  /** The map of an instance hosted by `host`: every cell its, with the world's roles. */
  #mapOf(space: Space, host: string): PartitionMap {
    const { epoch, backups, down } = this.#roles; // shared, never written: one per map update
    return new PartitionMap(epoch, new Array(space.grid.cellCount).fill(host), { backups, down });
  }

  #ensure(placement: InstancePlacement): Hosted | undefined {
    const existing = this.#hosted.get(placement.id);
    if (existing) return existing;
    const o = this.#o;
    const mode = o.game.instanceModes?.[placement.mode];
    if (!mode) {
      o.log?.warn("instance.unknown_mode", { instance: placement.id, mode: placement.mode });
      return undefined;
    }
    const { world } = o;
    const size = instanceSize(mode, world);
    const grid = new Grid({ dims: world.dims as 2 | 3, size, cellSize: world.cellSize });
    const info: InstanceInfo = {
      id: placement.id,
      mode: placement.mode,
      options: placement.options,
      maxPlayers: placement.maxPlayers,
    };
    const space = new Space({
      ...o.space,
      id: o.worker,
      index: 0,
      ids: o.ids,
      grid,
      tickHz: world.tickHz,
      aoiRadius: world.aoiRadius,
      snapshotEvery: snapshotEvery(world),
      ghostMargin: world.ghostMargin,
      game: o.game,
      gameOptions: o.gameOptions,
      log: o.log,
      instance: info,
    });
    space.setMap(this.#mapOf(space, placement.worker));
    // Its first step is the worker's next tick: its first reports show this tick's state.
    space.tick = this.#tick;
    const kept = this.#keeps(placement);
    // One made here while not kept (a late join) mirrors nothing: it may go once empty.
    const hosted = { space, placement, info, mode, kept, releasedAt: kept ? -1 : -Infinity };
    this.#hosted.set(placement.id, hosted);
    // A moved or failed-over instance arrives with its entities (a transfer, a mirror).
    const fresh = placement.worker === o.worker && !placement.moves;
    if (fresh) this.#hook(hosted, "onCreate");
    for (const batch of this.#early.get(placement.id) ?? []) space.receive(batch);
    this.#earlyCount -= this.#early.get(placement.id)?.length ?? 0;
    this.#early.delete(placement.id);
    o.log?.info(fresh ? "instance.created" : "instance.hosted", {
      instance: placement.id,
      mode: placement.mode,
      host: placement.worker,
    });
    return hosted;
  }

  /** Forgets an instance that runs elsewhere (moved away, or mirrored here no more). */
  #drop(id: string, hosted: Hosted): void {
    this.#hosted.delete(id);
    for (const entity of hosted.space.owned.keys()) this.#byEntity.delete(entity);
    this.#o.log?.info("instance.released", { instance: id, host: hosted.placement.worker });
  }

  #dispose(id: string, hosted: Hosted): void {
    this.#hosted.delete(id);
    for (const entity of hosted.space.owned.keys()) this.#byEntity.delete(entity);
    hosted.space.players.departAll(hosted.space.host);
    this.#hook(hosted, "onDispose");
    this.#pending.push(hosted.space.takeReports());
    this.#o.log?.info("instance.disposed", { instance: id, mode: hosted.info.mode });
  }

  #hook(hosted: Hosted, hook: "onCreate" | "onDispose"): void {
    try {
      hosted.mode[hook]?.(hosted.space.ctx, hosted.info);
    } catch (error) {
      this.#o.onGameError?.(hook, error);
      this.#o.log?.error("game.error", { hook, instance: hosted.info.id, error });
    }
  }
}

/**
 * True when a mirror in `space` still holds handoffs of its owner: the handover of a moved
 * instance, which this backup promotes (passing it on to the new host) if the old host dies
 * before the new one acknowledges it.
 */
function holdsHandoffs(space: Space): boolean {
  for (const mirror of space.mirrors.mirrors.values()) if (mirror.held.size > 0) return true;
  return false;
}

/** The extent of an instance of `mode`: its own, or one cell of the world. */
export function instanceSize(
  mode: Pick<InstanceMode, "size">,
  world: { dims: number; cellSize: number },
): number[] {
  return mode.size ? [...mode.size] : new Array(world.dims).fill(world.cellSize);
}

/** Adds `more`'s reports to `into`, one report per gateway (same worker, same tick). */
export function mergeReports(
  into: Map<string, WorkerReport>,
  more: ReadonlyMap<string, WorkerReport>,
): Map<string, WorkerReport> {
  for (const [gateway, report] of more) {
    const have = into.get(gateway);
    if (!have) {
      into.set(gateway, report);
      continue;
    }
    have.tick = Math.max(have.tick, report.tick);
    have.diffs.push(...report.diffs);
    have.joined.push(...report.joined);
    have.resumed.push(...report.resumed);
    have.superseded.push(...report.superseded);
    have.gone.push(...report.gone);
    have.departed.push(...report.departed);
  }
  return into;
}
