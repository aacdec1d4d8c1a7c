// An in-process cluster of spaces on the real batch codec: every batch a space hands out is
// encoded and decoded before its peer receives it, as the worker role does over gRPC. The one
// "deliver batches between spaces" loop for tests and bench.
import { type Batch, decodeBatch, encodeBatch } from "../src/sync/batch_codec.ts";
import { Space, type SpaceOptions } from "../src/sim/space.ts";
import type { PartitionMap } from "../src/world/partition.ts";

/** Rewrites a decoded batch on its way to `to` (to tamper with it in a test). */
export type BatchTransform = (batch: Batch, to: string) => Batch;

/** Options shared by every space of a {@linkcode LocalCluster}, except its id and index. */
export type LocalSpaceOptions = Omit<SpaceOptions, "id" | "index">;

/**
 * Spaces in one process exchanging encoded batches.
 *
 * @example
 * ```ts
 * import { LocalCluster } from "./local_cluster.ts";
 * import { demoGame } from "../src/games/demo.ts";
 * import { Grid } from "../src/world/grid.ts";
 * import { PartitionMap } from "../src/world/partition.ts";
 *
 * const cluster = LocalCluster.of(["a", "b"], {
 *   grid: new Grid({ dims: 2, size: [200, 100], cellSize: 100 }),
 *   tickHz: 20,
 *   ghostMargin: 30,
 *   game: demoGame,
 *   gameOptions: { npcs: 10, speed: 40, bumpRadius: 4, bumpCooldownTicks: 20, seed: 1 },
 * });
 * cluster.setMap(new PartitionMap(1, ["a", "b"]));
 * cluster.run(1, 20);
 * if (cluster.owned() + cluster.inFlight !== 10) throw new Error("an entity was lost");
 * ```
 */
export class LocalCluster {
  readonly spaces: readonly Space[];
  /** Handoffs sent at the last delivery, not yet adopted (their receiver adopts at its next tick). */
  inFlight = 0;
  #byId: Map<string, Space>;

  constructor(spaces: readonly Space[]) {
    this.spaces = spaces;
    this.#byId = new Map(spaces.map((s) => [s.id, s]));
  }

  /** A cluster of one space per id (index = position in `ids`) with the same options. */
  static of(ids: readonly string[], options: LocalSpaceOptions): LocalCluster {
    return new LocalCluster(ids.map((id, index) => new Space({ ...options, id, index })));
  }

  /** The space with this id (throws on an unknown id). */
  get(id: string): Space {
    const space = this.#byId.get(id);
    if (!space) throw new RangeError(`No space ${JSON.stringify(id)} in the local cluster`);
    return space;
  }

  /** Installs the same map on every space. */
  setMap(map: PartitionMap): void {
    for (const space of this.spaces) space.setMap(map);
  }

  /**
   * Steps every space at `tick`, then delivers all their batches through the codec, as workers
   * on one global clock do. Returns the handoffs now in flight.
   */
  step(tick: number, transform?: BatchTransform): number {
    const outs = this.spaces.map((s) => new Map(s.step(tick)));
    this.inFlight = 0;
    for (const out of outs) this.inFlight += this.deliver(out, transform);
    return this.inFlight;
  }

  /** Steps ticks `from` to `to` (inclusive); `after` runs after each tick's delivery. */
  run(from: number, to: number, after?: (tick: number) => void): void {
    for (let tick = from; tick <= to; tick++) {
      this.step(tick);
      after?.(tick);
    }
  }

  /**
   * Steps one space and delivers its batches at once, so a space stepped later in the same
   * tick has them in its inbox. Returns the handoffs sent.
   */
  stepOne(id: string, tick: number, transform?: BatchTransform): number {
    return this.deliver(new Map(this.get(id).step(tick)), transform);
  }

  /** Delivers batches (by receiver id) through the codec. Returns the handoffs they carry. */
  deliver(out: ReadonlyMap<string, Batch>, transform?: BatchTransform): number {
    let handoffs = 0;
    for (const [peer, batch] of out) {
      let copy = decodeBatch(encodeBatch(batch));
      if (transform) copy = transform(copy, peer);
      handoffs += copy.handoffs.length;
      this.get(peer).receive(copy);
    }
    return handoffs;
  }

  /** Entities owned across all spaces (handoffs in flight not counted). */
  owned(): number {
    return this.spaces.reduce((n, s) => n + s.owned.size, 0);
  }
}
