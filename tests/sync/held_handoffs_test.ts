import assert from "node:assert/strict";
import { DeferredAcks, HeldHandoffs, ProcessedHandoffs } from "../../src/sync/held_handoffs.ts";
import type { Handoff } from "../../src/sync/batch_codec.ts";

const handoff = (id: number, tick: number): Handoff => ({
  entity: { id, type: "npc", x: 0, y: 0, z: 0, vx: 0, vy: 0, vz: 0, data: {} },
  tick,
  hops: 0,
});

Deno.test("a held handoff goes only on its own acknowledgement; a dead receiver's wait for its heir", () => {
  const held = new HeldHandoffs();
  held.hold(handoff(1, 10), "b", 10);
  held.hold(handoff(2, 10), "c", 10);
  assert.equal(held.acknowledged({ entity: 1, tick: 9 }), false, "an older handoff's ack");
  assert.equal(held.acknowledged({ entity: 1, tick: 10 }), true);
  assert.equal(held.size, 1);
  assert.equal(held.orphan(new Set(["c"]), () => "h"), 1);
  const due = [...held.due(0)];
  assert.deepEqual(due.map((d) => [d.handoff.entity.id, d.to, d.heir]), [[2, "", "h"]]);
  held.hold(handoff(3, 11), "b", 11);
  assert.deepEqual([...held.due(12)].map((d) => d.handoff.entity.id).sort(), [2, 3], "stale too");
});

Deno.test("a replayed handoff is recognised until it is forgotten", () => {
  const processed = new ProcessedHandoffs();
  processed.note(7, 20, 100);
  assert.equal(processed.seen(7, 20), true);
  assert.equal(processed.seen(7, 19), true, "an older handoff of the same entity");
  assert.equal(processed.seen(7, 21), false, "a newer handoff is new");
  processed.expire(101);
  assert.equal(processed.seen(7, 20), false);
});

Deno.test("deferred acknowledgements leave once the backup mirrored their tick", () => {
  const acks = new DeferredAcks();
  const sent: Array<[string, number]> = [];
  const send = (to: string, ack: { entity: number }) => sent.push([to, ack.entity]);
  acks.defer("a", { entity: 1, tick: 4 }, 10);
  acks.defer("b", { entity: 2, tick: 5 }, 12);
  acks.release(false, send);
  assert.deepEqual(sent, [], "nothing mirrored yet");
  acks.mirrored(11);
  acks.release(false, send);
  assert.deepEqual(sent, [["a", 1]]);
  acks.release(true, send);
  assert.deepEqual(sent, [["a", 1], ["b", 2]], "without a backup everything goes");
  assert.equal(acks.size, 0);
});
