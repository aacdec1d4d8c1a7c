// The coordinator's balancing policy over time: when an imbalance or a high/low load has lasted
// long enough, ask the pure planners (src/cluster/balance_plan.ts) for a move and apply it through the
// registry; cooldowns and one migration per worker at a time keep it from thrashing.
import type { AutoscaleConfig, RebalanceConfig } from "../config/config.ts";
import type { Grid } from "../world/grid.ts";
import { workerLoads } from "./load_estimate.ts";
import { isImbalanced, type Move, planClaim, planRebalance } from "./balance_plan.ts";
import type { Registry } from "./registry.ts";

/** Options of {@linkcode Balancer}. */
export interface BalancerOptions {
  grid: Grid;
  registry: Registry;
  rebalance: RebalanceConfig;
  autoscale: AutoscaleConfig;
  /** Workers never released below this many active ones. */
  minWorkers: number;
  /** True while a deploy moves cells: the balancer holds still so it does not undo them. */
  holding?: () => boolean;
  /** Versions whose spares may be claimed (a staged or draining version's may not). */
  placeable?: (version: string) => boolean;
  now?: () => number;
}

/** What one evaluation did. */
export type BalancerAction =
  | { kind: "rebalance"; move: Move }
  | { kind: "claim"; move: Move }
  | { kind: "release"; worker: string; moves: Move[] };

/** Evaluated every `rebalance.intervalMs` by the coordinator. */
export class Balancer {
  #options: BalancerOptions;
  #now: () => number;
  #imbalanced = new Sustained();
  #high = new Sustained();
  #low = new Sustained();
  autoscale: AutoscaleConfig;

  constructor(options: BalancerOptions) {
    this.#options = options;
    this.#now = options.now ?? Date.now;
    this.autoscale = { ...options.autoscale };
  }

  /** Looks at the current loads once and starts at most one change. */
  step(): BalancerAction | undefined {
    const { registry, grid, rebalance } = this.#options;
    registry.expireMigrations();
    if (this.#options.holding?.()) return undefined;
    const now = this.#now();
    const active = [...registry.workers.values()].filter((w) => w.state === "active").map((w) =>
      w.id
    );
    const busy = new Set<string>();
    for (const m of registry.migrations.values()) busy.add(m.from).add(m.to);
    for (const w of registry.workers.values()) {
      if (now - w.lastMigrationAt < rebalance.cooldownMs) busy.add(w.id);
    }
    const owners = registry.map.owners;
    const cellLoads = registry.cellLoads();
    const loads = [...workerLoads(owners, cellLoads, active).values()];

    if (rebalance.enabled) {
      const input = {
        grid,
        owners,
        cellLoads,
        active,
        busy,
        ratio: rebalance.ratio,
        minLoad: rebalance.minLoad,
      };
      if (this.#imbalanced.held(isImbalanced(input), now) >= rebalance.sustainMs) {
        const move = planRebalance(input);
        if (move) {
          registry.moveCells([move], "rebalance");
          this.#imbalanced.restart(now);
          return { kind: "rebalance", move };
        }
      }
    }

    const { highWater, lowWater, sustainMs } = this.autoscale;
    const placeable = this.#options.placeable ?? (() => true);
    const spare = [...registry.workers.values()].find((w) =>
      w.state === "spare" && placeable(w.version)
    );
    const allHigh = highWater > 0 && spare !== undefined && loads.length > 0 &&
      loads.every((l) => l > highWater);
    if (spare && this.#high.held(allHigh, now) >= sustainMs) {
      const hottest = [...workerLoads(owners, cellLoads, active)]
        .filter(([id]) => !busy.has(id))
        .sort((p, q) => q[1] - p[1])[0]?.[0];
      const move = hottest && planClaim(grid, owners, cellLoads, hottest, spare.id);
      if (move) {
        registry.moveCells([move], "autoscale");
        this.#high.reset();
        return { kind: "claim", move };
      }
    }

    const canRelease = lowWater > 0 && active.length > this.#options.minWorkers &&
      registry.migrations.size === 0 && loads.every((l) => l < lowWater);
    if (this.#low.held(canRelease, now) >= sustainMs) {
      const least = [...workerLoads(owners, cellLoads, active)].sort((p, q) => p[1] - q[1])[0][0];
      const moves = registry.drain(least, "release");
      this.#low.reset();
      return { kind: "release", worker: least, moves };
    }
    return undefined;
  }
}

/** How long a condition has held without a break (-Infinity while it does not hold). */
class Sustained {
  #since?: number;

  /** Records whether the condition holds at `now`; returns for how long it has held. */
  held(holds: boolean, now: number): number {
    if (!holds) {
      this.#since = undefined;
      return -Infinity;
    }
    this.#since ??= now;
    return now - this.#since;
  }

  /** Counts again from `now` (after acting on it). */
  restart(now: number): void {
    this.#since = now;
  }

  /** Forgets it held. */
  reset(): void {
    this.#since = undefined;
  }
}
