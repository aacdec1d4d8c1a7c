// The world spec: grid shape plus the timings and radii every node must agree on. The coordinator
// derives it from its config once; workers and gateways receive it at registration. Its one
// owner: build it, turn it into a grid, and show it.
import { type Dims, Grid, type GridOptions } from "./grid.ts";

/** World parameters the coordinator hands every worker and gateway at registration. */
export interface WorldSpec {
  /** 2 or 3; a plain number because it arrives over gRPC (checked by {@linkcode gridOf}). */
  dims: number;
  size: number[];
  cellSize: number;
  tickHz: number;
  /** Radius within which a player sees entities. */
  aoiRadius: number;
  /** Width of the border band mirrored to neighbouring cells as ghosts. */
  ghostMargin: number;
  /** Wall time of tick 0, so every worker ticks on the same schedule. */
  worldStartMs: number;
  /**
   * Players' DIFFs per second: a divisor of tickHz (DIFFs on every tickHz/snapshotHz-th tick,
   * the same ticks on every worker); 0 or absent (a node of an older build): every tick.
   */
  snapshotHz?: number;
}

/** The config keys a world spec comes from (a subset of the node config). */
export interface WorldSettings {
  world: { dims: Dims; size: readonly number[]; cellSize: number };
  tickHz: number;
  aoiRadius: number;
  ghostMargin: number;
  /** 0: a DIFF every tick. */
  snapshotHz?: number;
}

/**
 * The world spec of a validated config, starting at `worldStartMs`.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * const spec = worldSpecOf({
 *   world: { dims: 2, size: [200, 100], cellSize: 50 },
 *   tickHz: 20,
 *   aoiRadius: 10,
 *   ghostMargin: 20,
 * }, 0);
 * assert.equal(gridOf(spec).cellCount, 8);
 * ```
 */
export function worldSpecOf(settings: WorldSettings, worldStartMs: number): WorldSpec {
  const { world, tickHz, aoiRadius, ghostMargin } = settings;
  return {
    dims: world.dims,
    size: [...world.size],
    cellSize: world.cellSize,
    tickHz,
    aoiRadius,
    ghostMargin,
    worldStartMs,
    snapshotHz: settings.snapshotHz || tickHz,
  };
}

/**
 * Every how many ticks players get a DIFF: 1 at the full tick rate.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * assert.equal(snapshotEvery({ tickHz: 20, snapshotHz: 10 }), 2);
 * assert.equal(snapshotEvery({ tickHz: 20 }), 1); // a spec from an older coordinator
 * ```
 */
export function snapshotEvery(spec: Pick<WorldSpec, "tickHz" | "snapshotHz">): number {
  const hz = spec.snapshotHz;
  return hz && hz > 0 && hz < spec.tickHz ? Math.max(1, Math.round(spec.tickHz / hz)) : 1;
}

/** The grid shape of a spec, as clients see it in WELCOME. */
export function boundsOf(spec: Pick<WorldSpec, "dims" | "size" | "cellSize">): GridOptions & {
  dims: Dims;
  size: number[];
} {
  return { dims: spec.dims as Dims, size: [...spec.size], cellSize: spec.cellSize };
}

/** The grid of a spec; throws RangeError when `dims` is neither 2 nor 3. */
export function gridOf(spec: Pick<WorldSpec, "dims" | "size" | "cellSize">): Grid {
  return new Grid(boundsOf(spec));
}

/** What a space needs of the spec: its grid and the shared timings and radii. */
export function spaceWorldOf(
  spec: WorldSpec,
): { grid: Grid; tickHz: number; aoiRadius: number; ghostMargin: number; snapshotEvery: number } {
  return {
    grid: gridOf(spec),
    tickHz: spec.tickHz,
    aoiRadius: spec.aoiRadius,
    ghostMargin: spec.ghostMargin,
    snapshotEvery: snapshotEvery(spec),
  };
}

/** The spec as the coordinator's /api/state shows it (without the start time). */
export function worldSummary(spec: WorldSpec): Omit<WorldSpec, "worldStartMs"> {
  const { worldStartMs: _, ...summary } = spec;
  return summary;
}
