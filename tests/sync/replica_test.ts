import assert from "node:assert/strict";
import {
  FULL_REFRESHES,
  REFRESH_TICKS,
  ReplicaSender,
  ReplicaTable,
} from "../../src/sync/replica.ts";
import { emptyReplica, type ReplicaOps } from "../../src/sync/batch_codec.ts";
import { makeEntity, stateOf } from "../../src/world/entity.ts";
import { OwnedEntities } from "../../src/sim/owned_entities.ts";
import { DataVersions } from "../../src/sim/data_versions.ts";

/** Replication every 2 ticks (the default): even ticks are update ticks. */
const EVERY = 2;

/** One tick of `sender` into fresh ops, as the space's outbox calls it. */
function collector(sender: ReplicaSender, owned: OwnedEntities) {
  const versions = new DataVersions();
  return (n: number): ReplicaOps => {
    const ops = emptyReplica();
    sender.collect(owned, new Map(), "bk", {
      tick: n,
      every: EVERY,
      versionOf: (e) => versions.of(e, n + 0.5),
      ops: () => ops,
    });
    owned.clearChanges();
    return ops;
  };
}

/** The ops as the batch codec sends them: entities as plain state (a record's id and position are accessors). */
function asSent(ops: ReplicaOps): ReplicaOps {
  const plain = (e: ReplicaOps["creates"][number]) => ({
    ...stateOf(e),
    ...(e.session ? { session: e.session } : {}),
  });
  return { ...ops, creates: ops.creates.map(plain), updates: ops.updates.map(plain) };
}

/** Ids of the entities an update tick sent, in full or as moves. */
function sent(ops: ReplicaOps): number[] {
  const ids = ops.updates.map((e) => e.id);
  for (let i = 0; i < ops.moves.length; i += 7) ids.push(ops.moves[i]);
  return ids.sort((a, b) => a - b);
}

Deno.test("the mirror gets creates at once, updates when motion changes, deletes when gone", () => {
  const sender = new ReplicaSender();
  const table = new ReplicaTable();
  const a = makeEntity(1, "npc", { x: 1, y: 1 });
  const b = makeEntity(2, "npc", { x: 2, y: 2 });
  const owned = new OwnedEntities();
  owned.set(1, a).set(2, b);
  const collect = collector(sender, owned);
  const tick = (n: number): ReplicaOps => {
    const ops = collect(n);
    // As a backup gets them: copies, never the owner's own records.
    table.apply("owner", n, structuredClone(asSent(ops)));
    return ops;
  };
  assert.deepEqual(tick(1).creates.map((e) => e.id), [1, 2]);
  const first = tick(2);
  assert.deepEqual(
    first.updates.map((e) => e.id),
    [1, 2],
    "the first update after a create is full",
  );
  a.x = 5; // moved, same velocity: the backup extrapolates
  assert.deepEqual(sent(tick(4)), []);
  b.x = 7;
  b.vx = 3; // motion changed, data did not: a move
  const moved = tick(6);
  assert.deepEqual([moved.updates.length, sent(moved)], [0, [2]]);
  const mirror = table.mirrors.get("owner")!;
  const copy = mirror.entities.get(2)!;
  assert.notEqual(copy, b);
  assert.deepEqual([copy.x, copy.vx], [7, 3], "the backup applied the move to its copy");
  const unknown = emptyReplica();
  unknown.moves.push(99, 1, 2, 3, 4, 5, 6);
  table.apply("owner", 6, unknown);
  assert.ok(!mirror.entities.has(99), "a move of an entity never created is ignored");
  owned.delete(1);
  assert.deepEqual(tick(7).deletes, [1]);
  assert.deepEqual([...mirror.entities.keys()], [2]);
  assert.equal(mirror.taken.get(2), 6);
});

Deno.test("an update goes in full only for players, data changes and a heal; else as a move", () => {
  const sender = new ReplicaSender();
  const owned = new OwnedEntities();
  const npc = makeEntity(1, "npc", { x: 1, y: 1 }, { hp: 3 });
  const player = makeEntity(2, "player", { x: 2, y: 2 });
  player.session = {
    id: "s",
    gateway: "g",
    name: "p",
    lastSeq: 0,
    resumeJti: "j",
    detachedAt: 0,
    account: "",
  };
  owned.set(1, npc).set(2, player);
  const tick = collector(sender, owned);
  tick(1);
  tick(2); // the first updates after the creates, in full
  npc.vx = 1;
  const moved = tick(4);
  assert.deepEqual(moved.updates.map((e) => e.id), [2], "a player always goes in full");
  assert.deepEqual(moved.moves.slice(0, 1), [1], "the NPC's new velocity is a move");
  npc.vx = 2;
  npc.data.hp = 2;
  assert.deepEqual(tick(6).updates.map((e) => e.id), [1, 2], "changed data goes in full");
  npc.vx = 3;
  npc.type = "boss";
  assert.deepEqual(tick(8).updates.map((e) => e.id), [1, 2], "a changed type goes in full");
});

Deno.test("every entity is refreshed once per REFRESH_TICKS, and in full once per FULL_REFRESHES", () => {
  const sender = new ReplicaSender();
  const owned = new OwnedEntities();
  const ids = [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11];
  for (const id of ids) owned.set(id, makeEntity(id, "npc", { x: id, y: id }));
  const tick = collector(sender, owned);
  tick(1);
  tick(2); // the first update after the creates: everyone
  const refreshed = new Map<number, number>(), full = new Map<number, number>();
  const ticks = REFRESH_TICKS * FULL_REFRESHES;
  for (let n = 4; n < 4 + ticks; n += EVERY) {
    const ops = tick(n);
    for (const id of sent(ops)) refreshed.set(id, (refreshed.get(id) ?? 0) + 1);
    for (const e of ops.updates) full.set(e.id, (full.get(e.id) ?? 0) + 1);
  }
  // Motion and data never changed: only refreshes went, odd and even ids alike.
  for (const id of ids) {
    assert.equal(refreshed.get(id), FULL_REFRESHES, `refreshes of ${id}`);
    assert.equal(full.get(id), 1, `full refreshes of ${id}`);
  }
});

Deno.test("creates and deletes between update ticks come from the owned entities' changes", () => {
  const sender = new ReplicaSender();
  const owned = new OwnedEntities();
  const a = makeEntity(1, "npc", { x: 1, y: 1 });
  owned.set(1, a);
  const tick = collector(sender, owned);
  assert.deepEqual(tick(1).creates.map((e) => e.id), [1]);
  assert.deepEqual(sent(tick(2)), [1], "the first update after a create");
  assert.deepEqual(tick(3), emptyReplica(), "nothing joined or left: nothing to send");
  owned.set(2, makeEntity(2, "npc", { x: 2, y: 2 }));
  assert.deepEqual(tick(5).creates.map((e) => e.id), [2], "a newcomer goes at once");
  // Handed off and back within a tick, as another object: no create, but its next update goes.
  owned.delete(1);
  const back = makeEntity(1, "npc", { x: 9, y: 9 });
  owned.set(1, back);
  const between = tick(7);
  assert.deepEqual([between.creates.length, between.deletes.length], [0, 0]);
  const after = tick(8);
  assert.deepEqual(
    after.updates.map((e) => e.id).sort(),
    [1, 2],
    "the one that came back and the newcomer go in full",
  );
  assert.deepEqual(sent(after), [1, 2]);
  owned.delete(2);
  assert.deepEqual(tick(9).deletes, [2]);
  owned.clear();
  assert.deepEqual(tick(11).deletes, [1], "clear() counts as every entity leaving");
  assert.deepEqual(tick(12), emptyReplica());
});

Deno.test("on an update tick a newcomer is created, not also updated, and a re-made record goes in full", () => {
  const sender = new ReplicaSender();
  const owned = new OwnedEntities();
  owned.set(1, makeEntity(1, "npc", { x: 1, y: 1 }));
  const tick = collector(sender, owned);
  tick(1);
  tick(2);
  assert.deepEqual(sent(tick(4)), [], "nothing changed");
  owned.set(2, makeEntity(2, "npc", { x: 2, y: 2 }));
  owned.delete(1);
  owned.set(1, makeEntity(1, "npc", { x: 8, y: 8 })); // handed off and back, as another record
  const both = tick(6);
  assert.deepEqual(both.creates.map((e) => e.id), [2], "the newcomer, once");
  assert.deepEqual(sent(both), [1], "the re-made record in full, the newcomer not yet");
  assert.deepEqual(both.updates.map((e) => e.x), [8]);
  assert.deepEqual(sent(tick(8)), [2], "the first update after the create");
  assert.deepEqual(sent(tick(10)), []);
});

Deno.test("what an update tick writes of an entity sticks when a create in the same walk grows the columns", () => {
  const sender = new ReplicaSender();
  const owned = new OwnedEntities();
  // 64 entities fill the columns' first capacity.
  for (let id = 1; id <= 64; id++) owned.set(id, makeEntity(id, "npc", { x: id, y: id }));
  const tick = collector(sender, owned);
  tick(1);
  tick(2);
  // Newcomers the sender never saw join (their changes were cleared unread), then entity 5,
  // moved behind them in the walk, with a new velocity.
  for (let id = 101; id <= 110; id++) owned.set(id, makeEntity(id, "npc", { x: id, y: id }));
  const five = owned.get(5)!;
  owned.delete(5);
  owned.set(5, five);
  five.vx = 7;
  owned.clearChanges();
  const grown = tick(4);
  assert.deepEqual(grown.creates.map((e) => e.id).sort((a, b) => a - b), ids(101, 110));
  assert.ok(sent(grown).includes(5), "the new velocity goes");
  assert.ok(!sent(tick(6)).includes(5), "and is remembered: nothing changed since");
});

/** The ids from `from` to `to`. */
function ids(from: number, to: number): number[] {
  return Array.from({ length: to - from + 1 }, (_, i) => from + i);
}

Deno.test("a new backup gets every owned entity as a create, once", () => {
  const sender = new ReplicaSender();
  const owned = new OwnedEntities();
  for (const id of [1, 2, 3]) owned.set(id, makeEntity(id, "npc", { x: id, y: id }));
  const tick = collector(sender, owned);
  assert.deepEqual(tick(1).creates.map((e) => e.id), [1, 2, 3]);
  const other = (n: number) => {
    const ops = emptyReplica();
    sender.collect(owned, new Map(), "bk2", {
      tick: n,
      every: EVERY,
      versionOf: () => 1,
      ops: () => ops,
    });
    owned.clearChanges();
    return ops;
  };
  assert.deepEqual(other(3).creates.map((e) => e.id), [1, 2, 3], "from scratch");
  const next = other(4);
  assert.deepEqual([next.creates.length, sent(next)], [0, [1, 2, 3]], "then their first updates");
  owned.delete(3);
  assert.deepEqual(other(5).deletes, [3]);
});

Deno.test("a claim removes a mirrored entity only when the mirror is not newer", () => {
  const table = new ReplicaTable();
  const ops = emptyReplica();
  ops.creates.push(stateOf(makeEntity(9, "npc", { x: 0, y: 0 })));
  table.apply("o", 50, ops);
  assert.equal(table.claim("o", 9, 40), true);
  assert.ok(table.mirrors.get("o")!.entities.has(9), "mirrored at 50, claimed for 40: kept");
  table.claim("o", 9, 50);
  assert.ok(!table.mirrors.get("o")!.entities.has(9));
  assert.equal(table.claim("nobody", 9, 50), false);
});
