// A client's check of the DIFF stream of one session (docs/protocol.md, "DIFF"): counts every
// contradiction of the protocol its ClientWorld reports, the largest tick gap, unexpected full
// snapshots, and the own entity's moves from one grid cell to another (bots, benchmarks).
import type { DiffMessage, WelcomeMessage } from "../protocol/client_protocol.ts";
import { Grid } from "../world/grid.ts";
import { ClientWorld, StreamProblem } from "./client_world.ts";

export { StreamProblem } from "./client_world.ts";

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
 * connection, resumed or not), {@linkcode DiffStreamCheck.travel} for every TRAVEL and
 * {@linkcode DiffStreamCheck.diff} for every DIFF. Without a `world` it keeps its own
 * {@linkcode ClientWorld} and applies each DIFF to it; given the world of a
 * {@linkcode GameClient} (which applies DIFFs itself), it only reads it, and the client's
 * stream problems are passed in with {@linkcode DiffStreamCheck.problem}.
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
  /** The entities the stream shows. */
  readonly world: ClientWorld;
  #applies: boolean;
  #grid: Grid | undefined;
  #tick = -1;
  #cell = -1;
  #first = false;
  #position: number[] | undefined;

  constructor(counts: StreamCounts, world?: ClientWorld) {
    this.counts = counts;
    this.#applies = world === undefined;
    this.world = world ?? new ClientWorld((problem) => this.problem(problem));
  }

  /** Where the own entity was last seen ([x, y, z]); undefined before it was. */
  get position(): readonly number[] | undefined {
    return this.#position;
  }

  /** Counts one contradiction of the protocol. */
  problem(kind: StreamProblem): void {
    const problems = this.counts.problems;
    problems[kind] = (problems[kind] ?? 0) + 1;
  }

  /** A WELCOME started a connection: the next DIFF must be full; ticks restart. */
  welcome(message: Pick<WelcomeMessage, "entity" | "world">): void {
    if (this.#applies) this.world.expectFull(message.entity);
    try {
      this.#grid = new Grid(message.world);
    } catch {
      this.#grid = undefined;
      this.problem(StreamProblem.OUT_OF_ORDER);
    }
    this.#tick = -1;
    this.#cell = -1;
    this.#first = true;
  }

  /** A TRAVEL: a new own entity in a new space; the next DIFF must be full, ticks go on. */
  travel(message: { entity: number; size: readonly number[] }): void {
    if (this.#applies) this.world.expectFull(message.entity);
    const cellSize = this.#grid?.cellSize ?? Math.min(...message.size);
    try {
      this.#grid = new Grid({
        dims: message.size.length as 2 | 3,
        size: [...message.size],
        cellSize,
      });
    } catch {
      this.#grid = undefined;
      this.problem(StreamProblem.OUT_OF_ORDER);
    }
    this.#cell = -1;
    this.#first = true;
  }

  /** Counts one DIFF (applying it first when this check owns its world). */
  diff(message: DiffMessage): void {
    const counts = this.counts;
    counts.diffs++;
    if (this.#applies) this.world.apply(message);
    const full = message.full === true;
    if (!this.#first && full) counts.extraFullDiffs++;
    this.#first = false;
    if (this.#tick >= 0) {
      const gap = message.tick - this.#tick;
      if (gap > counts.maxTickGap) counts.maxTickGap = gap;
    }
    this.#tick = message.tick;
    const own = this.world.own;
    if (!own) return;
    const p = this.#position ??= [0, 0, 0];
    if (p[0] === own.x && p[1] === own.y && p[2] === own.z && this.#cell >= 0) return;
    (p[0] = own.x, p[1] = own.y, p[2] = own.z);
    if (this.#grid) {
      const cell = this.#grid.cellOf(own.x, own.y, own.z);
      if (this.#cell >= 0 && cell !== this.#cell) counts.cellCrossings++;
      this.#cell = cell;
    }
  }
}
