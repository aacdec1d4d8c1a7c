// A client's check of the DIFF stream of one session (docs/protocol.md, "DIFF"): applies each
// DIFF to the set of visible ids, counts every contradiction of the protocol, the largest tick
// gap, unexpected full snapshots, and the own entity's moves from one grid cell to another.
import type { DiffMessage, WelcomeMessage } from "../protocol/client_protocol.ts";
import { Grid } from "../world/grid.ts";

/**
 * Ways a DIFF stream can break the protocol, as counted by {@linkcode DiffStreamCheck}.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * assert.equal(StreamProblem.ENTER_KNOWN, "ENTER_KNOWN");
 * ```
 */
export const StreamProblem = {
  /** The first DIFF after a WELCOME was not `full`. */
  FIRST_NOT_FULL: "FIRST_NOT_FULL",
  /** An `enter` of an entity already visible. */
  ENTER_KNOWN: "ENTER_KNOWN",
  /** An `update` of an entity not visible. */
  UPDATE_UNKNOWN: "UPDATE_UNKNOWN",
  /** A `leave` of an entity not visible. */
  LEAVE_UNKNOWN: "LEAVE_UNKNOWN",
  /** A tick lower than the one before (or equal, for a DIFF that is not `full`). */
  TICK_BACKWARDS: "TICK_BACKWARDS",
  /** A DIFF after which the player's own entity is not visible. */
  OWN_ENTITY_MISSING: "OWN_ENTITY_MISSING",
  /** A DIFF before any WELCOME, or a WELCOME whose world the grid refuses. */
  OUT_OF_ORDER: "OUT_OF_ORDER",
} as const;
/** One of the problems in {@linkcode StreamProblem}. */
export type StreamProblem = typeof StreamProblem[keyof typeof StreamProblem];

/** Totals over every stream checked with the same counts object. */
export interface StreamCounts {
  /** DIFFs received. */
  diffs: number;
  /** `full` DIFFs other than the first after a WELCOME: the server dropped DIFFs for us. */
  extraFullDiffs: number;
  /** Times the own entity was seen in a different grid cell than in the DIFF before. */
  cellCrossings: number;
  /** Largest difference between the ticks of two consecutive DIFFs of one connection. */
  maxTickGap: number;
  /** Protocol contradictions by kind. */
  problems: Partial<Record<StreamProblem, number>>;
}

/** Fresh, zeroed {@linkcode StreamCounts}. */
export function emptyStreamCounts(): StreamCounts {
  return { diffs: 0, extraFullDiffs: 0, cellCrossings: 0, maxTickGap: 0, problems: {} };
}

/**
 * Checks the DIFFs of one session against the protocol, adding to a shared
 * {@linkcode StreamCounts}. Call {@linkcode DiffStreamCheck.welcome} for every WELCOME (a new
 * connection, resumed or not) and {@linkcode DiffStreamCheck.diff} for every DIFF.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { Op, type WelcomeMessage } from "../protocol/client_protocol.ts";
 * const counts = emptyStreamCounts();
 * const check = new DiffStreamCheck(counts);
 * check.welcome({ entity: 1, world: { dims: 2, size: [100, 100], cellSize: 10 } } as WelcomeMessage);
 * check.diff({ op: Op.DIFF, tick: 5, ack: 0, full: true, enter: [[1, "player", 9, 0, 0]], update: [], leave: [] });
 * check.diff({ op: Op.DIFF, tick: 7, ack: 0, enter: [], update: [[1, 11, 0, 0]], leave: [] });
 * assert.deepEqual([counts.cellCrossings, counts.maxTickGap, counts.problems], [1, 2, {}]);
 * ```
 */
export class DiffStreamCheck {
  readonly counts: StreamCounts;
  #visible = new Set<number>();
  #entity = -1;
  #grid: Grid | undefined;
  #tick = -1;
  #cell = -1;
  #first = false;
  #position: number[] | undefined;

  constructor(counts: StreamCounts) {
    this.counts = counts;
  }

  /** Ids visible after the last DIFF. */
  get visible(): ReadonlySet<number> {
    return this.#visible;
  }

  /** Where the own entity was last seen ([x, y, z]); undefined before it was. */
  get position(): readonly number[] | undefined {
    return this.#position;
  }

  /** A WELCOME started a connection: the next DIFF must be full; ticks restart. */
  welcome(message: Pick<WelcomeMessage, "entity" | "world">): void {
    this.#entity = message.entity;
    try {
      this.#grid = new Grid(message.world);
    } catch {
      this.#grid = undefined;
      this.#problem(StreamProblem.OUT_OF_ORDER);
    }
    this.#visible.clear();
    this.#tick = -1;
    this.#cell = -1;
    this.#first = true;
  }

  /** A TRAVEL: a new own entity in a new space; the next DIFF must be full, ticks go on. */
  travel(message: { entity: number; size: readonly number[] }): void {
    this.#entity = message.entity;
    const cellSize = this.#grid?.cellSize ?? Math.min(...message.size);
    try {
      this.#grid = new Grid({
        dims: message.size.length as 2 | 3,
        size: [...message.size],
        cellSize,
      });
    } catch {
      this.#grid = undefined;
      this.#problem(StreamProblem.OUT_OF_ORDER);
    }
    this.#cell = -1;
    this.#first = true;
  }

  /** Applies one DIFF in the protocol's order (full, leave, enter, update) and counts. */
  diff(message: DiffMessage): void {
    const counts = this.counts;
    counts.diffs++;
    if (this.#entity < 0) return this.#problem(StreamProblem.OUT_OF_ORDER);
    const full = message.full === true;
    if (this.#first && !full) this.#problem(StreamProblem.FIRST_NOT_FULL);
    if (!this.#first && full) counts.extraFullDiffs++;
    this.#first = false;
    if (this.#tick >= 0) {
      const gap = message.tick - this.#tick;
      if (gap < 0 || (gap === 0 && !full)) this.#problem(StreamProblem.TICK_BACKWARDS);
      if (gap > counts.maxTickGap) counts.maxTickGap = gap;
    }
    this.#tick = message.tick;
    const visible = this.#visible;
    if (full) visible.clear();
    for (const id of message.leave) {
      if (!visible.delete(id)) this.#problem(StreamProblem.LEAVE_UNKNOWN);
    }
    let moved = false, x = 0, y = 0, z = 0;
    for (const record of message.enter) {
      if (visible.has(record[0])) this.#problem(StreamProblem.ENTER_KNOWN);
      visible.add(record[0]);
      if (record[0] === this.#entity) (moved = true, x = record[2], y = record[3], z = record[4]);
    }
    for (const record of message.update) {
      if (!visible.has(record[0])) this.#problem(StreamProblem.UPDATE_UNKNOWN);
      if (record[0] === this.#entity) (moved = true, x = record[1], y = record[2], z = record[3]);
    }
    if (!visible.has(this.#entity)) this.#problem(StreamProblem.OWN_ENTITY_MISSING);
    if (moved) {
      const p = this.#position ??= [0, 0, 0];
      (p[0] = x, p[1] = y, p[2] = z);
    }
    if (moved && this.#grid) {
      const cell = this.#grid.cellOf(x, y, z);
      if (this.#cell >= 0 && cell !== this.#cell) counts.cellCrossings++;
      this.#cell = cell;
    }
  }

  #problem(kind: StreamProblem): void {
    const problems = this.counts.problems;
    problems[kind] = (problems[kind] ?? 0) + 1;
  }
}
