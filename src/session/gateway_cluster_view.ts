// What a gateway knows of the cluster, from the coordinator's map watch: the partition map (who
// owns which cell, for a player's first worker), the live workers it keeps a Sessions stream
// to, and the gateway list (/gateways, deploy hand-overs).
import type { GatewayInfo, MapUpdate, WorkerInfo } from "../net/rpc.ts";
import { PartitionMap } from "../world/partition.ts";

/** Worker states a gateway keeps no stream to: their players are elsewhere now. */
const GONE: ReadonlySet<string> = new Set(["down", "fenced", "drained"]);

/**
 * The gateway's view of the cluster, updated by every map the coordinator sends.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * const view = new GatewayClusterView();
 * const live = view.apply({
 *   epoch: 2,
 *   owners: ["w1", "w2"],
 *   workers: [
 *     { id: "w1", state: "active" },
 *     { id: "w2", state: "down" },
 *   ] as never,
 *   gateways: [],
 *   backups: {},
 * });
 * assert.deepEqual(live.map((w) => w.id), ["w1"]);
 * assert.deepEqual(view.workers, ["w1"]);
 * assert.equal(view.map.ownerOf(1), "w2");
 * ```
 */
export class GatewayClusterView {
  map: PartitionMap = PartitionMap.empty(0);
  /** Ids of the workers whose reports count (src/session/hub.ts). */
  workers: string[] = [];
  gateways: GatewayInfo[] = [];
  #first = Promise.withResolvers<void>();

  /** Takes a map update; returns the live workers (the ones to keep a stream to). */
  apply(update: MapUpdate): WorkerInfo[] {
    if (update.epoch >= this.map.epoch) this.map = new PartitionMap(update.epoch, update.owners);
    const live = update.workers.filter((w) => !GONE.has(w.state));
    this.workers = live.map((w) => w.id);
    this.gateways = update.gateways;
    this.#first.resolve();
    return live;
  }

  /** Resolves once the first map is in, or after `waitMs` (a HELLO before it is refused). */
  async ready(waitMs: number): Promise<void> {
    let timer: ReturnType<typeof setTimeout> | undefined;
    await Promise.race([
      this.#first.promise,
      new Promise((resolve) => (timer = setTimeout(resolve, waitMs))),
    ]);
    clearTimeout(timer);
  }
}
