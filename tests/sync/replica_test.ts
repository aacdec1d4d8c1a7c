import assert from "node:assert/strict";
import { ReplicaSender, ReplicaTable } from "../../src/sync/replica.ts";
import { emptyReplica, type ReplicaOps } from "../../src/sync/batch_codec.ts";
import { makeEntity } from "../../src/world/entity.ts";
import { OwnedEntities } from "../../src/sim/owned_entities.ts";

Deno.test("the mirror gets creates at once, updates when motion changes, deletes when gone", () => {
  const sender = new ReplicaSender();
  const table = new ReplicaTable();
  const a = makeEntity(1, "npc", { x: 1, y: 1 });
  const b = makeEntity(2, "npc", { x: 2, y: 2 });
  const owned = new OwnedEntities();
  owned.set(1, a).set(2, b);
  const tick = (n: number, updates: boolean): ReplicaOps => {
    const ops = emptyReplica();
    sender.collect(owned, new Map(), "bk", { tick: n, updates, ops: () => ops });
    owned.clearChanges();
    table.apply("owner", n, ops);
    return ops;
  };
  assert.deepEqual(tick(1, false).creates.map((e) => e.id), [1, 2]);
  assert.equal(tick(2, true).updates.length, 2, "the first update after a create goes");
  a.x = 5; // moved, same velocity: the backup extrapolates
  assert.equal(tick(4, true).updates.length, 0);
  b.vx = 3; // motion changed
  assert.deepEqual(tick(6, true).updates.map((e) => e.id), [2]);
  owned.delete(1);
  assert.deepEqual(tick(7, false).deletes, [1]);
  const mirror = table.mirrors.get("owner")!;
  assert.deepEqual([...mirror.entities.keys()], [2]);
  assert.equal(mirror.taken.get(2), 6);
});

Deno.test("creates and deletes between update ticks come from the owned entities' changes", () => {
  const sender = new ReplicaSender();
  const owned = new OwnedEntities();
  const a = makeEntity(1, "npc", { x: 1, y: 1 });
  owned.set(1, a);
  const tick = (n: number, updates: boolean): ReplicaOps => {
    const ops = emptyReplica();
    sender.collect(owned, new Map(), "bk", { tick: n, updates, ops: () => ops });
    owned.clearChanges();
    return ops;
  };
  assert.deepEqual(tick(1, false).creates.map((e) => e.id), [1]);
  assert.equal(tick(2, true).updates.length, 1, "the first update after a create");
  assert.deepEqual(tick(3, false), emptyReplica(), "nothing joined or left: nothing to send");
  owned.set(2, makeEntity(2, "npc", { x: 2, y: 2 }));
  assert.deepEqual(tick(5, false).creates.map((e) => e.id), [2], "a newcomer goes at once");
  // Handed off and back within a tick, as another object: no create, but its next update goes.
  owned.delete(1);
  const back = makeEntity(1, "npc", { x: 9, y: 9 });
  owned.set(1, back);
  const between = tick(7, false);
  assert.deepEqual([between.creates.length, between.deletes.length], [0, 0]);
  assert.deepEqual(tick(8, true).updates.map((e) => e.id).sort(), [1, 2]);
  owned.delete(2);
  assert.deepEqual(tick(9, false).deletes, [2]);
  owned.clear();
  assert.deepEqual(tick(11, false).deletes, [1], "clear() counts as every entity leaving");
  assert.deepEqual(tick(12, true), emptyReplica());
});

Deno.test("a claim removes a mirrored entity only when the mirror is not newer", () => {
  const table = new ReplicaTable();
  const ops = emptyReplica();
  ops.creates.push({ ...makeEntity(9, "npc", { x: 0, y: 0 }) });
  table.apply("o", 50, ops);
  assert.equal(table.claim("o", 9, 40), true);
  assert.ok(table.mirrors.get("o")!.entities.has(9), "mirrored at 50, claimed for 40: kept");
  table.claim("o", 9, 50);
  assert.ok(!table.mirrors.get("o")!.entities.has(9));
  assert.equal(table.claim("nobody", 9, 50), false);
});
