// Where a worker's tick goes: the seconds spent in each phase of its ticks, summed since the
// node started (exported as the counter `zs_tick_phase_seconds_total{phase}`, docs/operations.md).
// A tick laps the clock at each phase's end, so the phases of a tick add up to its duration
// (`zs_tick_duration_seconds`) and cost one `performance.now()` each.

/** The phases of a worker's tick, in the order they run. */
export const TICK_PHASES = [
  /** Peers' batches: handoffs adopted, ghosts written, mirrors kept, takeovers, resends. */
  "peers",
  /** Players: views caught up, commands and inputs applied, sessions expired, AOI diffs. */
  "players",
  /** Interactions applied (the game's `onInteract`). */
  "interactions",
  /** The game's `onTick`. */
  "game",
  /** Moved entities re-filed; those in a cell owned elsewhere handed off. */
  "settle",
  /** Ghost sync's and the replica's ops for the peers' batches. */
  "sync",
  /** The instances' (rooms') ticks. */
  "rooms",
  /** Batches and the players' reports encoded and written. */
  "send",
] as const;

/** One phase of {@linkcode TICK_PHASES}. */
export type TickPhase = typeof TICK_PHASES[number];

/** Index of each phase in {@linkcode TickPhases.seconds}. */
export const PHASE: { readonly [P in TickPhase]: number } = Object.fromEntries(
  TICK_PHASES.map((phase, i) => [phase, i]),
) as { [P in TickPhase]: number };

/**
 * Seconds per phase, summed over ticks.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * const phases = new TickPhases();
 * phases.start();
 * phases.lap(PHASE.game);
 * phases.lap(PHASE.send);
 * assert.equal(phases.seconds.length, TICK_PHASES.length);
 * assert.equal(phases.seconds[PHASE.rooms], 0); // not lapped
 * ```
 */
export class TickPhases {
  /** Seconds spent in each phase (by {@linkcode PHASE} index) since this was made. */
  readonly seconds = new Float64Array(TICK_PHASES.length);
  #at = 0;

  /** A tick starts: the next lap measures from now. */
  start(): void {
    this.#at = performance.now();
  }

  /** Phase `phase` (a {@linkcode PHASE} index) ended now: adds its time since the last lap. */
  lap(phase: number): void {
    const now = performance.now();
    this.seconds[phase] += (now - this.#at) / 1000;
    this.#at = now;
  }
}
