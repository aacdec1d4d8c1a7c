import assert from "node:assert/strict";
import { type DiffMessage, Op } from "../../src/protocol/client_protocol.ts";
import { ClientView } from "../../src/session/client_view.ts";

function diff(tick: number, parts: Partial<DiffMessage>): DiffMessage {
  return { op: Op.DIFF, tick, ack: 0, enter: [], update: [], leave: [], ...parts };
}

Deno.test("consistent worker diffs pass through unchanged", () => {
  const view = new ClientView();
  const first = diff(1, {
    ack: 4,
    enter: [[1, "npc", 0, 0, 0], [2, "player", 5, 5, 0, { hp: 3 }]],
  });
  assert.deepEqual(view.apply(first), first);
  const second = diff(2, { ack: 5, update: [[1, 1, 0, 0]], leave: [2] });
  const out = view.apply(second);
  assert.deepEqual(out, second);
  // The worker's own arrays, not copies: the gateway encodes a list many clients share once.
  assert.equal(out.update, second.update);
  assert.equal(out.leave, second.leave);
  assert.equal(view.size, 1);
  assert.deepEqual([view.tick, view.ack], [2, 5]);
  assert.deepEqual(view.repairs, { reentered: 0, unknownUpdates: 0, unknownLeaves: 0 });
});

Deno.test("a second enter becomes an update and unknown updates and leaves are dropped", () => {
  const view = new ClientView();
  view.apply(diff(1, { enter: [[1, "npc", 0, 0, 0]] }));
  const out = view.apply(diff(2, {
    enter: [[1, "npc", 3, 4, 0, { mood: "calm" }]],
    update: [[9, 1, 1, 1]],
    leave: [8],
  }));
  assert.deepEqual(out, diff(2, { update: [[1, 3, 4, 0, { mood: "calm" }]] }));
  assert.deepEqual(view.repairs, { reentered: 1, unknownUpdates: 1, unknownLeaves: 1 });
  assert.deepEqual(view.snapshot().enter, [[1, "npc", 3, 4, 0, { mood: "calm" }]]);
});

Deno.test("a repaired list is a copy: the worker's list, shared with other clients, is left as it was", () => {
  const view = new ClientView();
  view.apply(diff(1, { enter: [[1, "npc", 0, 0, 0], [2, "npc", 0, 0, 0]] }));
  const update: DiffMessage["update"] = [[1, 1, 0, 0], [9, 1, 1, 1], [2, 0, 0, 0], [1, 2, 0, 0]];
  const enter: DiffMessage["enter"] = [[3, "npc", 5, 5, 0], [2, "npc", 4, 4, 0]];
  const sent = structuredClone({ update, enter });
  const out = view.apply(diff(2, { enter, update }));
  // 9 is unknown: dropped. 2's second enter is a move, sent before the updates.
  assert.deepEqual(out.enter, [[3, "npc", 5, 5, 0]]);
  assert.deepEqual(out.update, [[2, 4, 4, 0], [1, 1, 0, 0], [2, 0, 0, 0], [1, 2, 0, 0]]);
  assert.deepEqual({ update, enter }, sent);
});

Deno.test("leave then enter of one entity in a tick reaches the client in that order", () => {
  const view = new ClientView();
  view.apply(diff(1, { enter: [[1, "npc", 0, 0, 0]] }));
  const out = view.apply(diff(2, { enter: [[1, "npc", 9, 9, 0]], leave: [1] }));
  assert.deepEqual([out.leave, out.enter], [[1], [[1, "npc", 9, 9, 0]]]);
  assert.equal(view.size, 1);
});

Deno.test("a full set from a new worker becomes enters, moves and leaves against the view", () => {
  const view = new ClientView();
  view.apply(diff(1, { enter: [[1, "npc", 0, 0, 0], [2, "npc", 1, 1, 0], [3, "npc", 2, 2, 0]] }));
  const out = view.apply(diff(2, {
    ack: 7,
    full: true,
    enter: [[1, "npc", 0, 0, 0], [2, "npc", 1.5, 1, 0], [4, "player", 3, 3, 0]],
  }));
  assert.deepEqual(out, {
    op: Op.DIFF,
    tick: 2,
    ack: 7,
    enter: [[4, "player", 3, 3, 0]],
    update: [[2, 1.5, 1, 0]],
    leave: [3],
  });
  assert.equal(out.full, undefined, "the client receives an ordinary diff");
  assert.deepEqual([...view.snapshot().enter].map((r) => r[0]).sort(), [1, 2, 4]);
});

Deno.test("a snapshot lists every visible entity with its data at the last tick and ack", () => {
  const view = new ClientView();
  assert.deepEqual(view.snapshot(), diff(0, { full: true }));
  view.apply(diff(5, { ack: 2, enter: [[1, "npc", 0, 0, 0, { a: 1 }], [2, "npc", 1, 1, 1]] }));
  view.apply(diff(6, { ack: 3, update: [[2, 4, 4, 4, { b: 2 }], [1, 7, 7, 7]] }));
  assert.deepEqual(
    view.snapshot(),
    diff(6, {
      ack: 3,
      full: true,
      enter: [[1, "npc", 7, 7, 7, { a: 1 }], [2, "npc", 4, 4, 4, { b: 2 }]],
    }),
  );
  view.clear();
  assert.equal(view.size, 0);
  assert.equal(view.has(1), false);
});

Deno.test("an update never repeats data the client has; one that changes nothing is dropped", () => {
  const view = new ClientView();
  view.apply(
    diff(1, { enter: [[1, "npc", 0, 0, 0, { bumps: 1, tags: ["a"] }], [2, "npc", 5, 5, 0]] }),
  );
  // A worker that sees the entities afresh (a handoff, a new ghost record) sends their data.
  const moved = view.apply(diff(2, {
    update: [[1, 1, 0, 0, { bumps: 1, tags: ["a"] }], [2, 5, 5, 0, {}], [2, 5, 5, 0]],
  }));
  assert.deepEqual(moved.update, [[1, 1, 0, 0], [2, 5, 5, 0, {}]]);
  const same = view.apply(diff(3, { update: [[1, 1, 0, 0, { bumps: 1, tags: ["a"] }]] }));
  assert.deepEqual(same.update, [], "same place, same data: nothing to send");
  const changed = view.apply(diff(4, { update: [[1, 1, 0, 0, { bumps: 1, tags: ["a", "b"] }]] }));
  assert.deepEqual(changed.update, [[1, 1, 0, 0, { bumps: 1, tags: ["a", "b"] }]]);
  // A re-enter and a full set from a new owner follow the same rule.
  const again = view.apply(
    diff(5, { enter: [[1, "npc", 1, 0, 0, { bumps: 1, tags: ["a", "b"] }]] }),
  );
  assert.deepEqual(again.update, []);
  const full = view.apply(diff(6, {
    full: true,
    enter: [[1, "npc", 2, 0, 0, { bumps: 1, tags: ["a", "b"] }], [2, "npc", 5, 5, 0, { hp: 1 }]],
  }));
  assert.deepEqual(full.update, [[1, 2, 0, 0], [2, 5, 5, 0, { hp: 1 }]]);
  assert.deepEqual(view.snapshot().enter, [
    [1, "npc", 2, 0, 0, { bumps: 1, tags: ["a", "b"] }],
    [2, "npc", 5, 5, 0, { hp: 1 }],
  ]);
});
