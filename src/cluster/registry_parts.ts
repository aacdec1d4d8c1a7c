// What the registry's parts (failover, cell migrations) see of the registry: its workers, its
// migrations, the current map and the steps they share (events, publishing the map).
import type { PartitionMap } from "../world/partition.ts";
import type { ClusterEvent } from "./cluster_events.ts";
import type { RegistryOptions } from "./registry.ts";
import type { Migration, WorkerRecord } from "./worker_record.ts";

/** A live view of one registry, shared by the modules that make up its state machine. */
export interface RegistryParts {
  readonly workers: Map<string, WorkerRecord>;
  /** Cells being moved, by cell. */
  readonly migrations: Map<number, Migration>;
  /** The current partition map (replaced by each new epoch). */
  map: PartitionMap;
  readonly options: RegistryOptions;
  now(): number;
  /** Appends a cluster event to the ring. */
  event(kind: string, fields?: Record<string, unknown>): ClusterEvent;
  /** Publishes the map, in a new epoch when backups or down workers changed. */
  publish(): void;
  /** Load per cell from the latest reports of live workers. */
  cellLoads(): Float64Array;
}
