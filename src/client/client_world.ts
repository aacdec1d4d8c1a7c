// A client's local copy of what its player sees: the entities of the area of interest, kept by
// applying each DIFF in the order docs/protocol.md prescribes (full, leave, enter, update), and
// the stream's invariants (first DIFF full, ticks forward, no contradiction, own entity shown),
// each broken one reported as a StreamProblem instead of thrown.
import type { DiffMessage } from "../protocol/client_protocol.ts";
import type { EntityData } from "../world/entity.ts";

/**
 * Ways a DIFF stream can break the protocol, as reported by {@linkcode ClientWorld}.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * assert.equal(StreamProblem.ENTER_KNOWN, "ENTER_KNOWN");
 * ```
 */
export const StreamProblem = {
  /** The first DIFF after a WELCOME (or TRAVEL) was not `full`. */
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

/** One visible entity, updated in place by each DIFF. */
export interface ClientEntity {
  readonly id: number;
  readonly type: string;
  x: number;
  y: number;
  z: number;
  /** The game's data (the whole map, replaced when it changes); undefined when it has none. */
  data: EntityData | undefined;
}

/** Called for every broken invariant, with the entity id concerned (or -1). */
export type StreamProblemListener = (problem: StreamProblem, id: number) => void;

/**
 * The visible entities of one session. Call {@linkcode ClientWorld.expectFull} on every WELCOME
 * and TRAVEL (with the player's entity id), then {@linkcode ClientWorld.apply} for every DIFF.
 * A record that contradicts what is known is still applied as far as it can be (an `update` of
 * an unknown id is skipped, an `enter` of a known one replaces it), and reported.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * const problems: string[] = [];
 * const world = new ClientWorld((problem) => problems.push(problem));
 * world.expectFull(1);
 * world.apply({ op: 6, tick: 5, ack: 0, full: true, enter: [[1, "player", 9, 0, 0, { hp: 3 }]], update: [], leave: [] });
 * world.apply({ op: 6, tick: 6, ack: 1, enter: [], update: [[1, 11, 0, 0, { hp: 2 }]], leave: [] });
 * assert.deepEqual(world.own, { id: 1, type: "player", x: 11, y: 0, z: 0, data: { hp: 2 } });
 * assert.deepEqual([world.tick, world.ack, problems], [6, 1, []]);
 * ```
 */
export class ClientWorld {
  /** Visible entities by id. */
  readonly entities: Map<number, ClientEntity> = new Map();
  /** Tick of the last DIFF (-1 before the first). */
  tick = -1;
  /** `ack` of the last DIFF: the highest INPUT seq applied. */
  ack = 0;
  /** The player's own entity id (-1 before a WELCOME). */
  ownId = -1;
  #onProblem: StreamProblemListener;
  #first = false;

  constructor(onProblem: StreamProblemListener = () => {}) {
    this.#onProblem = onProblem;
  }

  /** The player's own entity, or undefined while it is not visible. */
  get own(): ClientEntity | undefined {
    return this.entities.get(this.ownId);
  }

  /** A WELCOME or TRAVEL: the player is now `ownId` and the next DIFF must be full. */
  expectFull(ownId: number): void {
    this.ownId = ownId;
    this.#first = true;
  }

  /** Forgets everything (a new session, or a logout). */
  clear(): void {
    this.entities.clear();
    this.tick = -1;
    this.ack = 0;
    this.ownId = -1;
    this.#first = false;
  }

  /** Applies one DIFF in the protocol's order and reports every invariant it breaks. */
  apply(diff: DiffMessage): void {
    if (this.ownId < 0) return this.#onProblem(StreamProblem.OUT_OF_ORDER, -1);
    const full = diff.full === true;
    if (this.#first && !full) this.#onProblem(StreamProblem.FIRST_NOT_FULL, -1);
    const gap = diff.tick - this.tick;
    if (this.tick >= 0 && !this.#first && (gap < 0 || (gap === 0 && !full))) {
      this.#onProblem(StreamProblem.TICK_BACKWARDS, -1);
    }
    this.#first = false;
    const entities = this.entities;
    if (full) entities.clear();
    for (const id of diff.leave) {
      if (!entities.delete(id)) this.#onProblem(StreamProblem.LEAVE_UNKNOWN, id);
    }
    for (const [id, type, x, y, z, data] of diff.enter) {
      if (entities.has(id)) this.#onProblem(StreamProblem.ENTER_KNOWN, id);
      entities.set(id, { id, type, x, y, z, data });
    }
    for (const record of diff.update) {
      const entity = entities.get(record[0]);
      if (!entity) {
        this.#onProblem(StreamProblem.UPDATE_UNKNOWN, record[0]);
        continue;
      }
      entity.x = record[1];
      entity.y = record[2];
      entity.z = record[3];
      if (record.length > 4) entity.data = record[4];
    }
    if (!entities.has(this.ownId)) this.#onProblem(StreamProblem.OWN_ENTITY_MISSING, this.ownId);
    this.tick = diff.tick;
    this.ack = diff.ack;
  }
}
