// The coordinator's /api/state: the map with its backups, every worker with its state (down,
// fenced and promoting included) and load, gateways, loads per cell (and the entities, players
// and interactions/s it comes from), migrations and recent events, and how many instances and
// users the rooms' directories hold (the instances themselves page through /api/instances).
// Counts of down or fenced workers are stale and never shown as live.
import type { Config } from "../config/config.ts";
import type { Registry } from "./registry.ts";
import type { GatewayDirectory } from "./gateway_directory.ts";
import { workerLoads } from "./load_estimate.ts";
import type { InstanceDirectory } from "./instance_directory.ts";
import { worldSpecOf, worldSummary } from "../world/world_spec.ts";

/** The /api/state document. */
export function clusterState(
  registry: Registry,
  gateways: GatewayDirectory,
  config: Config,
  rooms?: InstanceDirectory,
): Record<string, unknown> {
  const cellLoads = registry.cellLoads();
  const loads = workerLoads(registry.map.owners, cellLoads, registry.workers.keys());
  const now = Date.now();
  const map = registry.map;
  return {
    epoch: map.epoch,
    world: worldSummary(worldSpecOf(config, 0)),
    faultTolerance: config.faultTolerance,
    workers: [...registry.workers.values()].map((w) => {
      const live = w.state !== "down" && w.state !== "fenced";
      return {
        id: w.id,
        grpcAddress: w.grpcAddress,
        httpAddress: w.httpAddress,
        version: w.version,
        region: w.region,
        state: w.state,
        promoting: w.promotingEpoch !== undefined,
        backup: map.backupOf(w.id),
        mirrors: map.mirroredBy(w.id),
        cells: map.cellsOf(w.id).length,
        entities: live ? w.cells.reduce((n, c) => n + c.entities, 0) : 0,
        players: live ? w.cells.reduce((n, c) => n + c.players, 0) : 0,
        mirrored: live ? w.mirrored : 0,
        pendingHandoffs: live ? w.pendingHandoffs : 0,
        load: Math.round((loads.get(w.id) ?? 0) * 10) / 10,
        ghosts: live ? w.ghosts : 0,
        instances: rooms?.countOn(w.id) ?? 0,
        seats: rooms?.seatsOn(w.id) ?? 0,
        tick: w.tick,
        epoch: w.epoch,
        tickP50Ms: w.tickP50Ms,
        tickP99Ms: w.tickP99Ms,
        lastHeartbeatMsAgo: now - w.lastHeartbeat,
      };
    }),
    map: { epoch: map.epoch, owners: map.owners, backups: Object.fromEntries(map.backups) },
    backups: Object.fromEntries(map.backups),
    entitiesPerCell: registry.entitiesPerCell(),
    playersPerCell: registry.perCell("players"),
    interactionsPerCell: registry.perCell("interactions"),
    gateways: gateways.list().map((g) => ({
      id: g.id,
      httpAddress: g.httpAddress,
      version: g.version,
      sessions: g.sessions,
      lastHeartbeatMsAgo: now - g.lastHeartbeat,
    })),
    loadPerCell: Array.from(cellLoads, (l) => Math.round(l * 10) / 10),
    migrations: [...registry.migrations.values()],
    events: registry.eventsSince(0).slice(-50),
    rooms: { instances: rooms?.size ?? 0, users: rooms?.users ?? 0 },
  };
}
