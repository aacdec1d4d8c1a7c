import assert from "node:assert/strict";
import { type DiffTarget, InterestDiff } from "../../src/sync/interest_diff.ts";
import { type Entity, makeEntity } from "../../src/world/entity.ts";

/** One pass: `interest` maps entity id → peers; returns each peer's ops (ids) and updates. */
function pass(diff: InterestDiff, entities: Entity[], interest: Record<number, string[]>) {
  const targets = new Map<string, DiffTarget>();
  const updates: string[] = [];
  diff.collect(
    entities,
    (e, out) => {
      const peers = interest[e.id] ?? [];
      peers.forEach((peer, i) => out[i] = peer);
      return peers.length;
    },
    (peer) => {
      if (!targets.has(peer)) targets.set(peer, { creates: [], updates: [], deletes: [] });
      return targets.get(peer)!;
    },
    (e, peer) => updates.push(`${peer}:${e.id}`),
  );
  const ops: Record<string, { creates: number[]; deletes: number[] }> = {};
  for (const [peer, t] of targets) {
    ops[peer] = { creates: t.creates.map((s) => s.id), deletes: t.deletes };
  }
  return { ops, updates };
}

const a = makeEntity(1, "npc", { x: 0, y: 0 });
const b = makeEntity(2, "npc", { x: 0, y: 0 });

Deno.test("a copy is created once, updated while of interest and deleted once it is not, per peer", () => {
  const diff = new InterestDiff();
  assert.deepEqual(pass(diff, [a, b], { 1: ["p"], 2: ["p", "q"] }), {
    ops: { p: { creates: [1, 2], deletes: [] }, q: { creates: [2], deletes: [] } },
    updates: [],
  });
  assert.deepEqual(pass(diff, [a, b], { 1: ["p"], 2: ["q"] }), {
    ops: { p: { creates: [], deletes: [2] } },
    updates: ["p:1", "q:2"],
  });
  assert.deepEqual([...diff.heldBy("p").keys()], [1]);
  assert.deepEqual([...diff.heldBy("q").keys()], [2]);
  assert.deepEqual(pass(diff, [a, b], {}), {
    ops: { p: { creates: [], deletes: [1] }, q: { creates: [], deletes: [2] } },
    updates: [],
  });
  assert.deepEqual([...diff.peers()], [], "no peer holds anything");
  assert.deepEqual(pass(diff, [a, b], {}), { ops: {}, updates: [] }, "nothing more to say");
});

Deno.test("a copy assumed held is updated, not created, and deleted when the next pass finds no interest", () => {
  const diff = new InterestDiff();
  diff.assumeHeld(1, "p");
  diff.assumeHeld(2, "p");
  assert.deepEqual(pass(diff, [a, b], { 1: ["p"] }), {
    ops: { p: { creates: [], deletes: [2] } },
    updates: ["p:1"],
  });
});

Deno.test("a forgotten copy or peer gets no delete", () => {
  const diff = new InterestDiff();
  pass(diff, [a, b], { 1: ["p"], 2: ["p", "q"] });
  diff.forgetEntity(1, "p");
  diff.forgetPeer("q");
  assert.deepEqual(pass(diff, [a, b], {}), {
    ops: { p: { creates: [], deletes: [2] } },
    updates: [],
  });
  assert.equal(diff.heldBy("q").size, 0);
});
