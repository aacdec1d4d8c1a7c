// The Instances RPC's logic without sockets: modes and options checked against the game,
// placement on the least-loaded worker of the newest version, quick-join opening instances,
// refusals as coded answers, and a dead worker's instances leaving the directory.
import assert from "node:assert/strict";
import { InstanceDirectory } from "../../src/cluster/instance_directory.ts";
import { InstanceService } from "../../src/cluster/instance_service.ts";
import { placeInstance } from "../../src/cluster/instance_placement.ts";
import { defineGame } from "../../src/sim/game.ts";
import { decode, encode } from "../../src/protocol/msgpack.ts";
import { Logger } from "../../src/observe/log.ts";

function setup(workers = [{ id: "w1", version: "1.0.0", entities: 0 }]) {
  const directory = new InstanceDirectory({ emptyGraceMs: 1000 });
  const destroyed: string[] = [];
  const game = defineGame({
    name: "t",
    version: "3",
    entityTypes: { player: {} },
    instanceModes: {
      duel: { maxPlayers: 2 },
      arena: {
        maxPlayers: 8,
        size: [200, 100],
        parseOptions: ({ rounds = 1 }) => {
          if (typeof rounds !== "number" || rounds > 5) throw new RangeError("rounds: 1..5");
          return { rounds };
        },
      },
    },
  });
  const service = new InstanceService({
    directory,
    config: { emptyGraceMs: 1000, maxPlayers: 6 },
    game: { definition: game, version: "3" },
    world: { dims: 2, cellSize: 50 },
    workers: () => workers,
    onDestroyed: (records) => destroyed.push(...records.map((r) => r.id)),
    log: new Logger({ role: "coordinator", level: "error", sink: () => {} }),
  });
  const ask = (request: Record<string, unknown>) =>
    decode(service.handle(encode({ v: 1, gateway: "g1", ...request }))) as Record<
      string,
      // deno-lint-ignore no-explicit-any
      any
    >;
  return { directory, service, ask, destroyed };
}

Deno.test("create checks the mode, the options and the seats against the game", () => {
  const { ask } = setup();
  assert.equal(ask({ op: "create", user: "a", mode: "nope" }).error.code, "UNKNOWN_MODE");
  assert.equal(
    ask({ op: "create", user: "a", mode: "arena", options: { rounds: 9 } }).error.code,
    "BAD_OPTIONS",
  );
  assert.equal(
    ask({ op: "create", user: "a", mode: "duel", options: { x: 1 } }).error.code,
    "BAD_OPTIONS",
    "a mode without parseOptions takes none",
  );
  assert.equal(
    ask({ op: "create", user: "a", mode: "arena", maxPlayers: 7 }).error.code,
    "BAD_OPTIONS",
    "the server cap (6) is below the mode's 8",
  );
  assert.equal(
    ask({ op: "create", user: "a", mode: "duel", version: "2" }).error.code,
    "WRONG_VERSION",
  );
  const made = ask({ op: "create", user: "a", mode: "arena", options: { rounds: 2 } }).instance;
  assert.deepEqual(decode(made.placement.options), { rounds: 2 });
  assert.equal(made.row.maxPlayers, 6);
  assert.equal(made.row.players, 1, "the creator holds a seat");
  assert.deepEqual(made.size, [200, 100]);
  assert.deepEqual(ask({ op: "create", user: "b", mode: "duel" }).instance.size, [50, 50]);
  assert.equal(ask({ op: "bogus" }).error.code, "BAD_REQUEST");
  const { service } = setup();
  const garbage = decode(service.handle(new Uint8Array([0xc1]))) as { error: { code: string } };
  assert.equal(garbage.error.code, "BAD_BATCH", "not msgpack: a coded refusal, not a throw");
});

Deno.test("quick-join fills the open instance, then opens another; leave needs a seat", () => {
  const { ask } = setup();
  const first = ask({ op: "quick", user: "a", mode: "duel" }).instance.row.id;
  assert.equal(ask({ op: "quick", user: "b", mode: "duel" }).instance.row.id, first);
  const third = ask({ op: "quick", user: "c", mode: "duel" }).instance.row.id;
  assert.notEqual(third, first);
  assert.equal(ask({ op: "join", user: "d", instance: first }).error.code, "INSTANCE_FULL");
  assert.equal(ask({ op: "leave", user: "d" }).error.code, "NOT_ALLOWED");
  assert.deepEqual(ask({ op: "leave", user: "a", world: { x: 1, y: 2, z: 0 } }), {});
  assert.equal(ask({ op: "destroy", user: "c", instance: first }).error.code, "NOT_ALLOWED");
});

Deno.test("a dead worker's instances leave the directory and the workers are told", () => {
  const { ask, service, directory, destroyed } = setup([
    { id: "w1", version: "1.0.0", entities: 0 },
    { id: "w2", version: "1.0.0", entities: 100 },
  ]);
  const on = ask({ op: "create", user: "a", mode: "duel" }).instance.placement.worker;
  assert.equal(on, "w1", "the least-loaded worker");
  assert.equal(service.workerGone("w2"), 0);
  assert.equal(service.workerGone("w1"), 1);
  assert.equal(directory.size, 0);
  assert.equal(destroyed.length, 1);
  assert.equal(directory.user("a")?.instance, "");
});

Deno.test("placement prefers the newest version, then the least load", () => {
  const workers = [
    { id: "old", version: "0.9.0", entities: 0 },
    { id: "busy", version: "0.10.0", entities: 50 },
    { id: "idle", version: "0.10.0", entities: 10 },
  ];
  assert.equal(placeInstance(workers, () => 0, () => 0), "idle");
  assert.equal(placeInstance(workers, (w) => (w === "idle" ? 100 : 0), () => 0), "busy");
  assert.equal(placeInstance([], () => 0, () => 0), undefined);
});
