// The benchmark world: cluster config for a given entity count, sized so the density stays the
// same at every count (so a larger count means a larger world, not a more crowded one).

/** Cluster secret of benchmark clusters (loopback only). */
export const BENCH_SECRET = "zonescaler-benchmark-secret";
/** Operator token of benchmark clusters: scenarios move cells through the control API. */
export const BENCH_OPERATOR_TOKEN = "zonescaler-benchmark-operator";

/**
 * Entities per square unit: 20 per 100×100 cell, about 16 within an AOI radius of 50 and one
 * within the demo game's bump radius of 4 — a busy open world, not a packed arena.
 */
export const DENSITY = 0.002;
/** Edge of a grid cell, the unit of ownership and migration. */
export const CELL_SIZE = 100;
/** Simulation rate of every scenario (the SPEC targets are stated at 20 Hz). */
export const TICK_HZ = 20;
/** AOI radius and ghost margin of every scenario (the defaults). */
export const AOI_RADIUS = 50;
export const GHOST_MARGIN = 60;

/** A square 2D world holding `entities` at {@linkcode DENSITY}, whole cells per side. */
export function worldFor(entities: number): { dims: 2; size: number[]; cellSize: number } {
  const side = Math.sqrt(entities / DENSITY);
  const cells = Math.max(2, Math.ceil(side / CELL_SIZE));
  return { dims: 2, size: [cells * CELL_SIZE, cells * CELL_SIZE], cellSize: CELL_SIZE };
}

/** Options of {@linkcode benchConfig}. */
export interface BenchConfigOptions {
  workers: number;
  npcs: number;
  world?: { dims: 2; size: number[]; cellSize: number };
  hotspot?: { at: number[]; radius: number; fraction: number };
  /** faultTolerance.mode (default: the product's, replica: each worker mirrors to a backup). */
  faultTolerance?: "replica" | "pool" | "none";
}

/**
 * The config file shared by the coordinator and workers of one benchmark cluster: the demo
 * game, no rebalancing (scenarios decide every move), lenient failure detection so an
 * overloaded worker is measured rather than declared dead.
 */
export function benchConfig(options: BenchConfigOptions): Record<string, unknown> {
  return {
    secret: BENCH_SECRET,
    operatorToken: BENCH_OPERATOR_TOKEN,
    host: "127.0.0.1",
    advertiseHost: "127.0.0.1",
    logLevel: "info",
    minWorkers: options.workers,
    world: options.world ?? worldFor(options.npcs),
    tickHz: TICK_HZ,
    aoiRadius: AOI_RADIUS,
    ghostMargin: GHOST_MARGIN,
    heartbeatMs: 1000,
    workerTimeoutMs: 20_000,
    rebalance: { enabled: false },
    ...(options.faultTolerance ? { faultTolerance: { mode: options.faultTolerance } } : {}),
    coordinatorState: ":memory:",
    game: {
      npcs: options.npcs,
      speed: 40,
      bumpRadius: 4,
      bumpCooldownTicks: 20,
      seed: 1,
      ...(options.hotspot ? { hotspot: options.hotspot } : {}),
    },
  };
}
