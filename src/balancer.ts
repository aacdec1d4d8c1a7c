// The coordinator's balancing policy over time: when an imbalance or a high/low load has lasted
// long enough, ask the pure planners (src/rebalancer.ts) for a move and apply it through the
// registry; cooldowns and one migration per worker at a time keep it from thrashing.
import type { AutoscaleConfig, RebalanceConfig } from "./config.ts";
import type { Grid } from "./grid.ts";
import { workerLoads } from "./load.ts";
import { isImbalanced, type Move, planClaim, planRebalance } from "./rebalancer.ts";
import type { Registry } from "./registry.ts";

/** Options of {@linkcode Balancer}. */
export interface BalancerOptions {
  grid: Grid;
  registry: Registry;
  rebalance: RebalanceConfig;
  autoscale: AutoscaleConfig;
  /** Workers never released below this many active ones. */
  minWorkers: number;
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
  #imbalancedSince?: number;
  #highSince?: number;
  #lowSince?: number;
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
      if (isImbalanced(input)) {
        this.#imbalancedSince ??= now;
        if (now - this.#imbalancedSince >= rebalance.sustainMs) {
          const move = planRebalance(input);
          if (move) {
            registry.moveCells([move], "rebalance");
            this.#imbalancedSince = now;
            return { kind: "rebalance", move };
          }
        }
      } else {
        this.#imbalancedSince = undefined;
      }
    }

    const { highWater, lowWater, sustainMs } = this.autoscale;
    const spare = [...registry.workers.values()].find((w) => w.state === "spare");
    if (highWater > 0 && spare && loads.length > 0 && loads.every((l) => l > highWater)) {
      this.#highSince ??= now;
      if (now - this.#highSince >= sustainMs) {
        const hottest = [...workerLoads(owners, cellLoads, active)]
          .filter(([id]) => !busy.has(id))
          .sort((p, q) => q[1] - p[1])[0]?.[0];
        const move = hottest && planClaim(grid, owners, cellLoads, hottest, spare.id);
        if (move) {
          registry.moveCells([move], "autoscale");
          this.#highSince = undefined;
          return { kind: "claim", move };
        }
      }
    } else {
      this.#highSince = undefined;
    }

    const canRelease = lowWater > 0 && active.length > this.#options.minWorkers &&
      registry.migrations.size === 0 && loads.every((l) => l < lowWater);
    if (canRelease) {
      this.#lowSince ??= now;
      if (now - this.#lowSince >= sustainMs) {
        const least = [...workerLoads(owners, cellLoads, active)].sort((p, q) => p[1] - q[1])[0][0];
        const moves = registry.drain(least, "release");
        this.#lowSince = undefined;
        return { kind: "release", worker: least, moves };
      }
    } else {
      this.#lowSince = undefined;
    }
    return undefined;
  }
}
