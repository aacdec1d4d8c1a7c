// What a worker reads from the coordinator's map update (Coordinator.WatchMap): the partition
// map of the world's cells, the roles (backups, workers declared down) that instances' maps
// share, and the placements of the live instances. Pure; the worker runtime applies them.
import type { MapUpdate } from "../net/rpc.ts";
import { PartitionMap } from "../world/partition.ts";
import { placementOf } from "../session/session_wire.ts";
import type { InstancePlacement } from "../session/session_messages.ts";
import { decode } from "../protocol/msgpack.ts";
import type { InstanceRoles } from "./instance_spaces.ts";

/** The update's epoch, backups and the workers it declares down (or fenced). */
export function rolesOf(update: MapUpdate): InstanceRoles {
  const down = update.workers.filter((w) => w.state === "down" || w.state === "fenced");
  return {
    epoch: update.epoch,
    backups: new Map(Object.entries(update.backups ?? {})),
    down: new Set(down.map((w) => w.id)),
  };
}

/** The world's partition map the update describes. */
export function partitionMapOf(update: MapUpdate): PartitionMap {
  const { backups, down } = rolesOf(update);
  return new PartitionMap(update.epoch, update.owners, { backups, down });
}

/** The live instances the update lists; a malformed one throws, naming its index and field. */
export function placementsOf(update: MapUpdate): InstancePlacement[] {
  return (update.instances ?? []).map((p, n) =>
    placementOf(
      [
        p.id,
        Number(p.seq),
        p.worker,
        p.mode,
        p.options?.length ? decode(p.options) : null,
        p.maxPlayers,
        p.moves ?? 0,
      ],
      `instances[${n}]`,
    )
  );
}
