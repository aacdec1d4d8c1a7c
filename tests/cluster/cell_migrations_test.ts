// Moves of instances (rooms) by the registry, without sockets: an operator's move, a drain and
// a failover name the new host in the directory in a new map epoch (a real Registry and the
// real InstanceService's view of its directory); bad moves are refused with their codes.
import assert from "node:assert/strict";
import { Grid } from "../../src/world/grid.ts";
import { Registry } from "../../src/cluster/registry.ts";
import { InstanceDirectory } from "../../src/cluster/instance_directory.ts";
import { InstanceService } from "../../src/cluster/instance_service.ts";
import { CodedError } from "../../src/errors.ts";
import { defineGame } from "../../src/sim/game.ts";
import { decode, encode } from "../../src/protocol/msgpack.ts";
import { Logger } from "../../src/observe/log.ts";

const grid = new Grid({ dims: 2, size: [400, 400], cellSize: 100 });
const report = { tick: 1, cells: [], ghosts: 0, tickP50Ms: 1, tickP99Ms: 2 };

function setup(workers: string[]) {
  let now = 1_000;
  const destroyed: string[] = [];
  const directory = new InstanceDirectory({ emptyGraceMs: 60_000 });
  const service = new InstanceService({
    directory,
    config: { emptyGraceMs: 60_000, maxPlayers: 8 },
    game: {
      definition: defineGame({
        name: "t",
        entityTypes: { player: {} },
        instanceModes: { duel: { maxPlayers: 2 } },
      }),
      version: "1",
    },
    world: { dims: 2, cellSize: 100 },
    workers: () =>
      [...registry.workers.values()].filter((w) => w.state === "active")
        .map((w) => ({ id: w.id, version: "1", entities: 0 })),
    onDestroyed: (records) => destroyed.push(...records.map((r) => r.id)),
    log: new Logger({ role: "coordinator", level: "error", sink: () => {} }),
  });
  const registry: Registry = new Registry({
    grid,
    minWorkers: workers.length,
    workerTimeoutMs: 3_000,
    now: () => now,
    instances: service.hosts,
  });
  for (const nodeId of workers) {
    registry.register({
      nodeId,
      grpcAddress: `127.0.0.1:1${nodeId}`,
      httpAddress: "",
      version: "1",
      pool: false,
    });
  }
  /** A room created by `user` over the Instances RPC; its id and host. */
  const create = (user: string) => {
    const answer = decode(
      service.handle(encode({ v: 1, op: "create", gateway: "g1", user, mode: "duel" })),
    ) as { instance: { placement: { id: string; worker: string } } };
    return answer.instance.placement;
  };
  return { registry, directory, destroyed, create, advance: (ms: number) => (now += ms) };
}

function codeOf(f: () => unknown): string {
  try {
    f();
  } catch (error) {
    if (error instanceof CodedError) return error.code;
    throw error;
  }
  return "none";
}

const kinds = (registry: Registry, since: number) => registry.eventsSince(since).map((e) => e.kind);

Deno.test("an instance moves to another worker in a new epoch, its seats with it; bad moves are refused", () => {
  const { registry, directory, create } = setup(["w1", "w2"]);
  const room = create("ann");
  const to = room.worker === "w1" ? "w2" : "w1";
  const epoch = registry.map.epoch;
  const since = registry.eventsSince(0).at(-1)!.seq;
  assert.deepEqual(registry.moveInstance(room.id, to), { from: room.worker, to, epoch: epoch + 1 });
  assert.equal(registry.map.epoch, epoch + 1);
  assert.deepEqual(kinds(registry, since), ["instance.migrating"]);
  const record = directory.get(room.id)!;
  assert.deepEqual([record.worker, record.moves], [to, 1]);
  assert.deepEqual([directory.seatsOn(to), directory.seatsOn(room.worker)], [1, 0]);
  assert.deepEqual([directory.countOn(to), directory.countOn(room.worker)], [1, 0]);
  assert.deepEqual(directory.search({ worker: to }, "all").instances.map((r) => r.id), [room.id]);
  assert.deepEqual(directory.search({ worker: room.worker }, "all").instances, []);
  assert.ok(directory.changes.instances.has(room.id), "the move is made durable");

  assert.equal(codeOf(() => registry.moveInstance("i404", to)), "INSTANCE_NOT_FOUND");
  assert.equal(codeOf(() => registry.moveInstance(room.id, "w9")), "NOT_FOUND");
  assert.equal(codeOf(() => registry.moveInstance(room.id, to)), "CONFLICT");
  assert.equal(registry.map.epoch, epoch + 1, "a refused move changes nothing");
});

Deno.test("a drain moves the worker's instances too; it is drained once its handovers are done", () => {
  const { registry, directory, create } = setup(["w1", "w2", "w3"]);
  const rooms = [create("a"), create("b"), create("c"), create("d")];
  const onW1 = rooms.filter((r) => r.worker === "w1").map((r) => r.id);
  assert.ok(onW1.length > 0);
  registry.drain("w1");
  assert.equal(directory.countOn("w1"), 0);
  for (const id of onW1) assert.notEqual(directory.get(id)!.worker, "w1");
  assert.equal(registry.workers.get("w1")!.state, "draining");
  // Its handovers still pending: not drained yet.
  registry.heartbeat("w1", { ...report, epoch: registry.map.epoch, pendingTransfers: 1 });
  assert.equal(registry.workers.get("w1")!.state, "draining");
  registry.heartbeat("w1", { ...report, epoch: registry.map.epoch, pendingTransfers: 0 });
  assert.equal(registry.workers.get("w1")!.state, "drained");
  assert.equal(codeOf(() => registry.leave("w2")), "CONFLICT", "w2 still hosts cells and rooms");
});

Deno.test("a dead worker's instances go to its backup; with no live backup they are destroyed", () => {
  const { registry, directory, destroyed, create, advance } = setup(["w1", "w2"]);
  const room = create("ann");
  const host = room.worker, backup = registry.map.backupOf(host);
  assert.ok(backup && backup !== host);
  const since = registry.eventsSince(0).at(-1)!.seq;
  advance(2_000);
  registry.heartbeat(backup, report);
  advance(2_000);
  assert.deepEqual(registry.sweep(), [host]);
  assert.deepEqual([directory.get(room.id)!.worker, directory.get(room.id)!.moves], [backup, 1]);
  assert.ok(kinds(registry, since).includes("instances.reassigned"));
  assert.deepEqual(destroyed, []);
  assert.equal(directory.get(room.id)!.players.size, 1, "its seats stay taken");
  // Now its host dies too, and nobody is left to have mirrored it: the room is gone.
  advance(4_000);
  assert.deepEqual(registry.sweep(), [backup]);
  assert.deepEqual(destroyed, [room.id]);
  assert.equal(directory.size, 0);
});
