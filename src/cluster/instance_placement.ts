// Where a new instance goes: the least-loaded worker of the newest version, in a region when
// asked. Pure, so the coordinator's InstanceService and its tests share one rule.
import { compareVersions } from "./gateway_directory.ts";

/** A worker that may host instances, as placement sees it. */
export interface PlacementCandidate {
  id: string;
  version: string;
  /** Its region ("" or absent = none). */
  region?: string;
  /** Entities it simulates in the world. */
  entities: number;
}

/**
 * The worker to put a new instance on: among the workers of the newest version (in `region`,
 * when given), the one with the least load, counting its world entities, the seats of its
 * instances and the instances.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * const seats = (id: string) => (id === "w1" ? 10 : 0);
 * const workers = [
 *   { id: "w1", version: "0.2.0", region: "eu", entities: 0 },
 *   { id: "w2", version: "0.2.0", region: "us", entities: 5 },
 *   { id: "w3", version: "0.1.0", region: "us", entities: 0 },
 * ];
 * assert.equal(placeInstance(workers, seats, () => 0), "w2");
 * assert.equal(placeInstance(workers, seats, () => 0, "eu"), "w1");
 * assert.equal(placeInstance(workers, seats, () => 0, "asia"), undefined);
 * ```
 */
export function placeInstance(
  workers: readonly PlacementCandidate[],
  seats: (worker: string) => number,
  instances: (worker: string) => number,
  region?: string,
): string | undefined {
  const here = region === undefined ? workers : workers.filter((w) => (w.region ?? "") === region);
  let newest = "";
  for (const w of here) {
    if (!newest || compareVersions(w.version, newest) > 0) newest = w.version;
  }
  let best: string | undefined, bestLoad = Infinity;
  for (const w of here) {
    if (w.version !== newest) continue;
    const load = w.entities + seats(w.id) + instances(w.id);
    if (load < bestLoad) (best = w.id, bestLoad = load);
  }
  return best;
}
