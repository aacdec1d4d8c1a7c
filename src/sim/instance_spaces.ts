// The instances (rooms) a worker hosts beside its share of the world: each is its own small
// Space (its own extent, every cell owned here, the same tick, game hooks, AOI and sessions),
// created at its first join or when the coordinator's list places it here, and disposed of —
// its players sent back to their gateways — once the coordinator's list no longer has it.
import type { GameDefinition, InstanceInfo, InstanceMode } from "./game.ts";
import type { Logger } from "../observe/log.ts";
import { Grid } from "../world/grid.ts";
import { PartitionMap } from "../world/partition.ts";
import type { GatewayCommand, InstancePlacement, WorkerReport } from "../session/session_wire.ts";
import { Space, type SpaceOptions } from "./space.ts";
import type { WorldSpec } from "../world/world_spec.ts";

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
    "resumeGraceMs" | "playerSaveMs" | "timings" | "spatialIndex" | "now" | "seed" | "auditEvents"
  >;
  log?: Logger;
  /** A game hook of an instance mode threw (counted like any game error). */
  onGameError?: (hook: string, error: unknown) => void;
}

interface Hosted {
  space: Space;
  placement: InstancePlacement;
  info: InstanceInfo;
  mode: InstanceMode;
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

  /**
   * Takes a gateway command meant for an instance here: a join into one (created now if it is
   * new), or a command for an entity one of them owns. False when it is the world's.
   */
  route(gateway: string, command: GatewayCommand): boolean {
    if (command.op === "join") {
      if (!command.instance) return false;
      const hosted = this.#ensure(command.instance);
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
   * The coordinator's list of live instances (`seq`: its newest creation when it was made):
   * creates those placed here that are missing, disposes of those it no longer lists — but
   * not of one created after the list was made (a join may come before the list shows it).
   */
  sync(placements: readonly InstancePlacement[], seq: number): void {
    const listed = new Set<string>();
    for (const placement of placements) {
      if (placement.worker !== this.#o.worker) continue;
      listed.add(placement.id);
      this.#ensure(placement);
    }
    for (const [id, hosted] of this.#hosted) {
      if (!listed.has(id) && hosted.placement.seq <= seq) this.#dispose(id, hosted);
    }
  }

  /** Steps every instance through tick `tick`; returns their reports merged per gateway. */
  step(tick: number): Map<string, WorkerReport> {
    this.#tick = tick;
    const out = new Map<string, WorkerReport>();
    for (const pending of this.#pending) mergeReports(out, pending);
    this.#pending = [];
    for (const hosted of this.#hosted.values()) {
      // Every cell is owned here: there is no peer to send anything to.
      hosted.space.step(tick);
      const reports = hosted.space.takeReports();
      for (const report of reports.values()) {
        for (const j of report.joined) this.#byEntity.set(j.entity, hosted);
        for (const d of report.departed) this.#byEntity.delete(d.entity);
        for (const g of report.gone) this.#byEntity.delete(g.entity);
      }
      mergeReports(out, reports);
    }
    return out;
  }

  /** Disposes of every instance (the worker stops or drops its state). */
  close(): void {
    for (const [id, hosted] of this.#hosted) this.#dispose(id, hosted);
    this.#pending = [];
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
      ghostMargin: world.ghostMargin,
      game: o.game,
      gameOptions: o.gameOptions,
      log: o.log,
      instance: info,
    });
    space.setMap(new PartitionMap(1, new Array(grid.cellCount).fill(o.worker)));
    // Its first step is the worker's next tick: its first reports show this tick's state.
    space.tick = this.#tick;
    const hosted = { space, placement, info, mode };
    this.#hosted.set(placement.id, hosted);
    this.#hook(hosted, "onCreate");
    o.log?.info("instance.created", { instance: placement.id, mode: placement.mode });
    return hosted;
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
