import assert from "node:assert/strict";
import { Grid } from "../../src/world/grid.ts";
import { Registry } from "../../src/cluster/registry.ts";
import { GatewayDirectory } from "../../src/cluster/gateway_directory.ts";
import { clusterState } from "../../src/cluster/state_api.ts";
import { DEFAULTS } from "../../src/config/config.ts";
import { InstanceDirectory } from "../../src/cluster/instance_directory.ts";

const grid = new Grid({ dims: 2, size: [400, 400], cellSize: 100 });
const worker = (nodeId: string) => ({
  nodeId,
  grpcAddress: `127.0.0.1:1${nodeId.slice(1)}`,
  httpAddress: "",
  version: "test",
  pool: false,
});
const load = (cell: number, entities: number, players = 0) => ({
  tick: 1,
  cells: [{ cell, entities, players, interactions: 0 }],
  ghosts: 4,
  tickP50Ms: 1,
  tickP99Ms: 2,
});

type Row = {
  id: string;
  state: string;
  entities: number;
  players: number;
  ghosts: number;
  backup: string;
  promoting: boolean;
};

Deno.test("/api/state shows backups and promotion, and never a down worker's counts as live", () => {
  let now = 1_000;
  const registry = new Registry({ grid, minWorkers: 3, workerTimeoutMs: 1_000, now: () => now });
  for (const id of ["w1", "w2", "w3"]) registry.register(worker(id));
  const gateways = new GatewayDirectory({ timeoutMs: 1_000 });
  registry.heartbeat("w1", load(registry.map.cellsOf("w1")[0], 7, 2));
  registry.heartbeat("w2", load(registry.map.cellsOf("w2")[0], 5));
  registry.heartbeat("w3", load(registry.map.cellsOf("w3")[0], 3));
  let state = clusterState(registry, gateways, DEFAULTS) as {
    workers: Row[];
    backups: Record<string, string>;
    entitiesPerCell: number[];
  };
  assert.equal(Object.keys(state.backups).length, 3);
  const w1 = state.workers.find((w) => w.id === "w1")!;
  assert.equal(w1.players, 2, "players per cell from the heartbeats");
  assert.equal(w1.backup, state.backups.w1);
  const heir = state.backups.w1;

  now += 600;
  for (const id of ["w2", "w3"]) registry.heartbeat(id, load(registry.map.cellsOf(id)[0], 5));
  now += 600;
  registry.sweep();
  state = clusterState(registry, gateways, DEFAULTS) as typeof state;
  const down = state.workers.find((w) => w.id === "w1")!;
  assert.equal(down.state, "down");
  assert.deepEqual([down.entities, down.players, down.ghosts], [0, 0, 0]);
  assert.equal(state.entitiesPerCell.reduce((a, b) => a + b, 0), 10, "only live reports count");
  assert.ok(!("w1" in state.backups), "a down worker mirrors nobody and has no backup");
  assert.equal(state.workers.find((w) => w.id === heir)!.promoting, true);
});

Deno.test("/api/state counts the rooms' instances (private ones too) and users", () => {
  const registry = new Registry({ grid, minWorkers: 1, workerTimeoutMs: 500 });
  const rooms = new InstanceDirectory({ emptyGraceMs: 1_000 });
  const spec = { mode: "duel", options: {}, maxPlayers: 2, tags: [], version: "1", worker: "w1" };
  rooms.reserve(rooms.create({ ...spec, private: false, owner: "ann" }).id, "ann", "g1");
  rooms.create({ ...spec, private: true, owner: "bob" });
  rooms.online("cat", "g1");
  const gateways = new GatewayDirectory({ timeoutMs: 500 });
  const state = clusterState(registry, gateways, DEFAULTS, rooms) as { rooms: unknown };
  assert.deepEqual(state.rooms, { instances: 2, users: 2 });
  const none = clusterState(registry, gateways, DEFAULTS) as { rooms: unknown };
  assert.deepEqual(none.rooms, { instances: 0, users: 0 });
});
