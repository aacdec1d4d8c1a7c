// The coordinator's version records and the routing rules that follow from their states: which
// versions may hold cells, host new rooms, take logins or hand their sessions over, and whether a
// worker's game version may join. A deploy run (deploys.ts) moves versions between these states.
import type { GatewayDirectory, GatewayRecord } from "./gateway_directory.ts";
import type { Registry } from "./registry.ts";

/**
 * A version's place in deploys: staged (nodes registered, nothing routed to it), rolling_out
 * (a deploy moves the world to it), live (new logins and the world go to it), draining (a newer
 * version went live: its nodes hand over and exit), retired (no node of it is left).
 */
export type VersionState = "staged" | "rolling_out" | "live" | "draining" | "retired";

/** The record of one version. */
export interface VersionRecord {
  version: string;
  state: VersionState;
  /** The game module version its workers run ("" until a worker of it registered). */
  gameVersion: string;
  firstSeenAt: number;
  changedAt: number;
}

/** Options of {@linkcode VersionRecords}. */
export interface VersionRecordsOptions {
  registry: Registry;
  gateways: GatewayDirectory;
  now?: () => number;
  /** A version changed state: the map's gateway list must be published again. */
  onChange?: () => void;
}

/** One record per version nodes registered with, and what their states allow. */
export class VersionRecords {
  readonly versions = new Map<string, VersionRecord>();
  #o: VersionRecordsOptions;
  #now: () => number;

  constructor(options: VersionRecordsOptions) {
    this.#o = options;
    this.#now = options.now ?? Date.now;
  }

  /** The live version ("" before any node registered). */
  get live(): string {
    return [...this.versions.values()].find((v) => v.state === "live")?.version ?? "";
  }

  /** Notes a registering node's version: the first one seen is live, later ones are staged. */
  seen(version: string, gameVersion = ""): void {
    const now = this.#now();
    const record = this.versions.get(version);
    if (record) {
      if (gameVersion) record.gameVersion = gameVersion;
      if (record.state === "retired") this.setState(record, "staged");
      return;
    }
    this.versions.set(version, {
      version,
      state: this.live === "" ? "live" : "staged",
      gameVersion,
      firstSeenAt: now,
      changedAt: now,
    });
  }

  /**
   * Why a worker of server `version` running game version `gameVersion` of the cluster's game
   * may not join (undefined when it may). Game versions mix only across a deploy: another game
   * version comes with a new server version (staged, then deployed), the same for all of its
   * workers; a worker of the live version must run the live game version.
   */
  gameRefusal(
    worker: { version: string; gameVersion: string },
    game: { name: string; version: string },
  ): string | undefined {
    const record = this.versions.get(worker.version);
    const runs = (v: string) => `${game.name}@${v || "?"}`;
    const live = this.versions.get(this.live);
    const liveGame = live?.gameVersion || game.version;
    if ((!live || worker.version === live.version) && worker.gameVersion !== liveGame) {
      return `GAME_MISMATCH: the worker runs game ${runs(worker.gameVersion)} but the cluster ` +
        `runs ${runs(liveGame)} on version ${worker.version || '""'}; another game version ` +
        "comes with a new version (ZS_VERSION) and a deploy (POST /api/deploys)";
    }
    if (record?.gameVersion && record.gameVersion !== worker.gameVersion) {
      return `GAME_MISMATCH: the worker runs game ${runs(worker.gameVersion)} but the workers ` +
        `of version ${worker.version} run ${runs(record.gameVersion)}; every worker of a ` +
        "version runs the same game";
    }
    return undefined;
  }

  /** True when workers of `version` may be given cells outside a deploy (balancer, autoscale). */
  placeable(version: string): boolean {
    const state = this.versions.get(version)?.state;
    return state === undefined || state === "live" || state === "rolling_out";
  }

  /**
   * Workers of this version may be given new rooms: the live version's (any version while none
   * is live). Rooms already running on other versions keep running where they are.
   */
  hostsNewRooms(version: string): boolean {
    return this.live === "" || this.versions.get(version)?.state === "live";
  }

  /** A gateway of this version is routable: logins and hand-offs go to it. */
  routable(version: string): boolean {
    return this.versions.get(version)?.state === "live";
  }

  /** A gateway of this version hands its sessions to the live version's gateways. */
  handsOver(version: string): boolean {
    const state = this.versions.get(version)?.state;
    if (state !== "draining") return false;
    return [...this.#o.gateways.gateways.values()].some((g) => this.routable(g.version));
  }

  /**
   * The gateways as the map carries them: the live version's (every one when none is live),
   * and after them those handing over, flagged `draining`; staged ones are left out until they go live.
   */
  listGateways(list: readonly GatewayRecord[]): (GatewayRecord & { draining: boolean })[] {
    if (!list.some((g) => this.routable(g.version))) {
      return list.map((g) => ({ ...g, draining: false }));
    }
    return list.flatMap((g): (GatewayRecord & { draining: boolean })[] =>
      this.routable(g.version)
        ? [{ ...g, draining: false }]
        : this.handsOver(g.version)
        ? [{ ...g, draining: true }]
        : []
    ).sort((a, b) => Number(a.draining) - Number(b.draining));
  }

  /** Draining versions with no worker or gateway left are retired. */
  protected retire(): void {
    const registry = this.#o.registry;
    for (const record of this.versions.values()) {
      if (record.state !== "draining") continue;
      const worker = [...registry.workers.values()].some((w) =>
        w.version === record.version && w.state !== "down" && w.state !== "fenced"
      );
      const gateway = [...this.#o.gateways.gateways.values()].some((g) =>
        g.version === record.version
      );
      if (!worker && !gateway) this.setState(record, "retired");
    }
  }

  /** Moves a version to `state`, logging it and republishing the gateway list. */
  protected setState(record: VersionRecord, state: VersionState): void {
    if (record.state === state) return;
    record.state = state;
    record.changedAt = this.#now();
    this.#o.registry.event("version.state", { version: record.version, state });
    this.#o.onChange?.();
  }
}
