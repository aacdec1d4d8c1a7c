// The coordinator's deploys: on top of the version records (version_records.ts: one per version
// its workers and gateways registered with, staged, rolling out, live, draining or retired), the
// deploy run that moves the open world
// from the live version to a new one at a bounded rate of live cell migrations, drains the old
// workers once they own no cell and host no room (rooms started on a version finish there), and
// marks the old gateways draining so they hand their sessions over. New rooms go to the live
// version. Rollback is the same run in reverse. The records and the latest runs are part of the
// coordinator's durable state (coordinator_state.ts): a restart or a takeover carries on the run.
import { CodedError, ErrorCode } from "../errors.ts";
import type { Grid } from "../world/grid.ts";
import { compareVersions } from "./gateway_directory.ts";
import { planDeployMoves } from "./deploy_plan.ts";
import type { DurableDeploys } from "./durable_state.ts";
import { VersionRecords, type VersionRecordsOptions } from "./version_records.ts";
import type { WorkerRecord } from "./worker_record.ts";

/** Where a deploy run is: moving, held, moving back, or over (and how). */
export type RunState = "running" | "paused" | "rolling_back" | "done" | "aborted" | "rolled_back";

/** One deploy: the world moving from `from` to `version` (back to `from` in a rollback). */
export interface DeployRun {
  id: number;
  version: string;
  from: string;
  state: RunState;
  startedAt: number;
  endedAt?: number;
  /** Cell moves this run ordered (both directions). */
  moves: number;
}

/** Options of {@linkcode Deploys}. */
export interface DeploysOptions extends VersionRecordsOptions {
  grid: Grid;
  /** Cells migrated per second at most. */
  cellsPerSecond: number;
  /** Instances (rooms) a worker hosts: a draining worker leaves only once it hosts none. */
  instancesOn: (worker: string) => number;
}

const ACTIVE: readonly RunState[] = ["running", "paused", "rolling_back"];
/** Runs kept (and stored): the latest ones; older ones are dropped. */
export const KEPT_RUNS = 20;
const LIVE_WORKER = new Set(["active", "spare"]);

/** Version records and the current deploy run; {@linkcode Deploys.step} runs on a timer. */
export class Deploys extends VersionRecords {
  /** The latest {@linkcode KEPT_RUNS} runs, oldest first. */
  readonly runs: DeployRun[] = [];
  #o: DeploysOptions;
  #now: () => number;
  #budget = 0;
  #lastStep: number;

  constructor(options: DeploysOptions) {
    super(options);
    this.#o = options;
    this.#now = options.now ?? Date.now;
    this.#lastStep = this.#now();
  }

  /** The run in progress (running, paused or rolling back), if any. */
  get current(): DeployRun | undefined {
    const last = this.runs.at(-1);
    return last && ACTIVE.includes(last.state) ? last : undefined;
  }

  /** True while a run is in progress: the balancer holds still so it does not undo moves. */
  get holding(): boolean {
    return this.current !== undefined;
  }

  /**
   * Starts moving the world to `version`. NOT_FOUND when no live worker of it registered,
   * CONFLICT while another run is in progress or when it is already live everywhere.
   */
  start(version: string): DeployRun {
    const running = this.current;
    if (running) {
      throw new CodedError(
        ErrorCode.CONFLICT,
        `Cannot deploy ${version}: the deploy of ${running.version} is ${running.state}; ` +
          "pause, abort or roll it back first",
      );
    }
    const record = this.versions.get(version);
    if (!record || this.#workersOf(version).length === 0) {
      throw new CodedError(
        ErrorCode.NOT_FOUND,
        `Cannot deploy ${version}: no live worker of that version has registered`,
      );
    }
    const from = this.live;
    if (record.state === "live" && this.#cellsOff(version) === 0) {
      throw new CodedError(
        ErrorCode.CONFLICT,
        `Cannot deploy ${version}: it is already live and holds every cell`,
      );
    }
    const run: DeployRun = {
      id: (this.runs.at(-1)?.id ?? 0) + 1,
      version,
      from: from === version ? "" : from,
      state: "running",
      startedAt: this.#now(),
      moves: 0,
    };
    this.runs.push(run);
    if (this.runs.length > KEPT_RUNS) this.runs.splice(0, this.runs.length - KEPT_RUNS);
    if (record.state !== "live") this.setState(record, "rolling_out");
    this.#budget = 0;
    this.#o.registry.event("deploy.started", { run: run.id, version, from: run.from });
    return run;
  }

  /** Holds the current run where it is (moves in flight finish). */
  pause(): DeployRun {
    const run = this.#require("pause", ["running"]);
    run.state = "paused";
    this.#o.registry.event("deploy.paused", { run: run.id, version: run.version });
    return run;
  }

  /** Continues a paused run. */
  resume(): DeployRun {
    const run = this.#require("resume", ["paused"]);
    run.state = "running";
    this.#o.registry.event("deploy.resumed", { run: run.id, version: run.version });
    return run;
  }

  /**
   * Ends the current run where it is: no further moves, cells stay where they are (a mixed
   * world is a normal cluster), the new version goes back to staged.
   */
  abort(): DeployRun {
    const run = this.#require("abort", ACTIVE);
    const games = [run.version, run.from].map((v) => this.versions.get(v)?.gameVersion ?? "");
    if (games[0] && games[1] && games[0] !== games[1] && this.#cellsOn(run.version) > 0) {
      throw new CodedError(
        ErrorCode.CONFLICT,
        `Cannot abort the deploy of ${run.version}: it runs game version ${games[0]} and ` +
          `${run.from} runs ${games[1]}, and the world mixes game versions only while a deploy ` +
          "rolls; roll it back or let it finish",
      );
    }
    this.#end(run, "aborted");
    const record = this.versions.get(run.version);
    if (record && record.state === "rolling_out") this.setState(record, "staged");
    return run;
  }

  /** Moves every cell the run moved back to the version it started from. */
  rollback(): DeployRun {
    const run = this.#require("roll back", ["running", "paused"]);
    if (!run.from || this.#workersOf(run.from).length === 0) {
      throw new CodedError(
        ErrorCode.NO_CAPACITY,
        `Cannot roll back the deploy of ${run.version}: no live worker of ${
          run.from || "an older version"
        } is left`,
      );
    }
    run.state = "rolling_back";
    this.#budget = 0;
    this.#o.registry.event("deploy.rolling_back", {
      run: run.id,
      version: run.version,
      to: run.from,
    });
    return run;
  }

  /** One step: rate-bounded moves, completion, draining old nodes, retiring empty versions. */
  step(): void {
    const now = this.#now();
    const rate = this.#o.cellsPerSecond;
    this.#budget = Math.min(Math.max(1, rate), this.#budget + rate * (now - this.#lastStep) / 1000);
    this.#lastStep = now;
    const run = this.current;
    if (run && run.state !== "paused") this.#advance(run);
    this.#drainOld();
    this.retire();
  }

  /** The records and runs as the state file keeps them (copies). */
  durable(): DurableDeploys {
    return {
      versions: Object.fromEntries([...this.versions].map(([v, r]) => [v, { ...r }])),
      runs: this.runs.map((r) => ({ ...r })),
    };
  }

  /**
   * Replaces the records and runs with stored ones (a restart or a takeover): a run that was
   * running goes on from the cells where the stored map has them, a paused one stays paused.
   */
  restore(stored: DurableDeploys): void {
    this.versions.clear();
    for (const [v, r] of Object.entries(stored.versions)) this.versions.set(v, { ...r });
    this.runs.splice(0, this.runs.length, ...stored.runs.map((r) => ({ ...r })));
    this.#budget = 0;
    this.#lastStep = this.#now();
  }

  /** The /api/deploys document. */
  state(): Record<string, unknown> {
    const registry = this.#o.registry;
    const owners = registry.map.owners;
    const versions = [...this.versions.values()].sort((a, b) =>
      compareVersions(b.version, a.version)
    ).map((v) => {
      const workers = [...registry.workers.values()].filter((w) =>
        w.version === v.version && w.state !== "down" && w.state !== "fenced"
      );
      const ids = new Set(workers.map((w) => w.id));
      const gateways = [...this.#o.gateways.gateways.values()].filter((g) =>
        g.version === v.version
      );
      return {
        ...v,
        workers: workers.length,
        gateways: gateways.length,
        cells: owners.filter((o) => ids.has(o)).length,
        instances: workers.reduce((n, w) => n + this.#o.instancesOn(w.id), 0),
        sessions: gateways.reduce((n, g) => n + g.sessions, 0),
      };
    });
    return {
      live: this.live,
      cellsPerSecond: this.#o.cellsPerSecond,
      cells: owners.length,
      current: this.current ?? null,
      runs: this.runs,
      versions,
    };
  }

  #advance(run: DeployRun): void {
    const registry = this.#o.registry;
    const target = run.state === "rolling_back" ? run.from : run.version;
    const targets = this.#workersOf(target).map((w) => w.id);
    const moving = new Set(registry.migrations.keys());
    if (this.#cellsOff(target) === 0 && moving.size === 0) {
      return this.#complete(run, target);
    }
    const count = Math.floor(this.#budget);
    if (count < 1 || targets.length === 0) return;
    const moves = planDeployMoves({
      grid: this.#o.grid,
      owners: registry.map.owners,
      cellLoads: registry.cellLoads(),
      targets,
      moving,
      count,
    });
    if (moves.length === 0) return;
    registry.moveCells(moves, run.state === "rolling_back" ? "rollback" : "deploy");
    this.#budget -= moves.length;
    run.moves += moves.length;
  }

  #complete(run: DeployRun, target: string): void {
    if (run.state === "rolling_back") {
      this.#end(run, "rolled_back");
      const record = this.versions.get(run.version);
      if (record) this.setState(record, "draining");
      return;
    }
    this.#end(run, "done");
    for (const record of this.versions.values()) {
      if (record.version === target) this.setState(record, "live");
      else if (record.state === "live" || record.state === "staged") {
        this.setState(record, "draining");
      }
    }
  }

  /**
   * Draining versions' workers that own no cell and host no room are drained: they leave and
   * exit 0. One hosting rooms waits until the last of them ended (its players left).
   */
  #drainOld(): void {
    const registry = this.#o.registry;
    for (const record of this.versions.values()) {
      if (record.state !== "draining") continue;
      for (const worker of this.#workersOf(record.version)) {
        if (registry.map.owners.includes(worker.id)) continue;
        if (this.#o.instancesOn(worker.id) > 0) continue;
        registry.drain(worker.id);
      }
    }
  }

  /** Workers of `version` that can own cells (active or spare). */
  #workersOf(version: string): WorkerRecord[] {
    return [...this.#o.registry.workers.values()].filter((w) =>
      w.version === version && LIVE_WORKER.has(w.state)
    );
  }

  /** Cells owned by workers of `version`. */
  #cellsOn(version: string): number {
    return this.#o.registry.map.owners.length - this.#cellsOff(version);
  }

  /** Cells owned by workers of another version than `version`. */
  #cellsOff(version: string): number {
    const ids = new Set(
      [...this.#o.registry.workers.values()].filter((w) => w.version === version).map((w) => w.id),
    );
    return this.#o.registry.map.owners.filter((o) => !ids.has(o)).length;
  }

  #require(action: string, states: readonly RunState[]): DeployRun {
    const run = this.current;
    if (!run) {
      throw new CodedError(ErrorCode.CONFLICT, `Cannot ${action}: no deploy is in progress`);
    }
    if (!states.includes(run.state)) {
      throw new CodedError(
        ErrorCode.CONFLICT,
        `Cannot ${action} the deploy of ${run.version}: it is ${run.state}`,
      );
    }
    return run;
  }

  #end(run: DeployRun, state: RunState): void {
    run.state = state;
    run.endedAt = this.#now();
    this.#o.registry.event(`deploy.${state}`, {
      run: run.id,
      version: run.version,
      moves: run.moves,
    });
  }
}
