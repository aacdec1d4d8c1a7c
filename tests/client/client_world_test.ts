import assert from "node:assert/strict";
import fc from "fast-check";
import { ClientWorld, type StreamProblem } from "../../src/client/client_world.ts";
import { type DiffMessage, Op } from "../../src/protocol/client_protocol.ts";

function diff(tick: number, parts: Partial<DiffMessage> = {}): DiffMessage {
  return { op: Op.DIFF, tick, ack: 0, enter: [], update: [], leave: [], ...parts };
}

function started(): { world: ClientWorld; problems: [StreamProblem, number][] } {
  const problems: [StreamProblem, number][] = [];
  const world = new ClientWorld((problem, id) => problems.push([problem, id]));
  world.expectFull(1);
  world.apply(diff(5, {
    full: true,
    enter: [[1, "player", 10, 10, 0, { name: "Ann" }], [2, "npc", 5, 5, 0]],
  }));
  return { world, problems };
}

Deno.test("a DIFF is applied full, leave, enter, update in that order, data replaced whole", () => {
  const { world, problems } = started();
  // Leave before enter: an id may leave and enter again in one DIFF; data replaces, not patches.
  world.apply(diff(6, {
    ack: 3,
    enter: [[2, "npc", 7, 7, 0]],
    update: [[1, 11, 10, 0], [2, 8, 7, 0, { mood: "calm" }]],
    leave: [2],
  }));
  assert.deepEqual([world.tick, world.ack], [6, 3]);
  assert.deepEqual(world.own, { id: 1, type: "player", x: 11, y: 10, z: 0, data: { name: "Ann" } });
  assert.deepEqual(world.entities.get(2), {
    id: 2,
    type: "npc",
    x: 8,
    y: 7,
    z: 0,
    data: { mood: "calm" },
  });
  world.apply(diff(7, { update: [[1, 12, 10, 0, { score: 1 }]] }));
  assert.deepEqual(world.own?.data, { score: 1 }, "the whole data, replacing the name");
  // A full DIFF forgets everything else, and may repeat the tick before it.
  world.apply(diff(7, { full: true, enter: [[1, "player", 0, 0, 0]] }));
  assert.deepEqual([...world.entities.keys()], [1]);
  assert.equal(world.own?.data, undefined);
  assert.deepEqual(problems, []);
});

Deno.test("every contradiction of the stream is reported with the entity, and the rest applied", () => {
  const { world, problems } = started();
  world.apply(diff(6, { enter: [[2, "npc", 0, 0, 0]], update: [[99, 0, 0, 0]], leave: [98] }));
  world.apply(diff(6));
  world.apply(diff(5, { update: [[2, 3, 3, 0]] }));
  world.apply(diff(8, { leave: [1] }));
  assert.deepEqual(problems, [
    ["LEAVE_UNKNOWN", 98],
    ["ENTER_KNOWN", 2],
    ["UPDATE_UNKNOWN", 99],
    ["TICK_BACKWARDS", -1],
    ["TICK_BACKWARDS", -1],
    ["OWN_ENTITY_MISSING", 1],
  ]);
  assert.deepEqual(world.entities.get(2), {
    id: 2,
    type: "npc",
    x: 3,
    y: 3,
    z: 0,
    data: undefined,
  });
});

Deno.test("the first DIFF after a WELCOME or TRAVEL must be full, and a DIFF needs a WELCOME", () => {
  const problems: StreamProblem[] = [];
  const world = new ClientWorld((problem) => problems.push(problem));
  world.apply(diff(1, { full: true, enter: [[1, "player", 0, 0, 0]] }));
  assert.equal(world.entities.size, 0, "nothing applied before a WELCOME");
  world.expectFull(1);
  world.apply(diff(2, { enter: [[1, "player", 0, 0, 0]] }));
  // A TRAVEL: a new own entity, ticks go on, the next DIFF replaces everything.
  world.expectFull(7);
  world.apply(diff(3, { full: true, enter: [[7, "player", 1, 1, 0]] }));
  assert.deepEqual([...world.entities.keys()], [7]);
  assert.deepEqual(problems, ["OUT_OF_ORDER", "FIRST_NOT_FULL"]);
  world.clear();
  assert.deepEqual([world.entities.size, world.tick, world.ownId], [0, -1, -1]);
});

Deno.test("a stream that follows the protocol ends with exactly the entities a replay holds", () => {
  // Random streams built to follow the rules: the world matches a naive replay, no problems.
  const step = fc.record({
    leave: fc.array(fc.nat(3)),
    enter: fc.array(fc.tuple(fc.integer({ min: 2, max: 9 }), fc.double({ noNaN: true }))),
    move: fc.array(fc.tuple(fc.nat(9), fc.double({ noNaN: true, noDefaultInfinity: true }))),
  });
  fc.assert(fc.property(fc.array(step, { maxLength: 20 }), (steps) => {
    const problems: string[] = [];
    const world = new ClientWorld((p) => problems.push(p));
    world.expectFull(1);
    const model = new Map<number, number>([[1, 0]]);
    world.apply(diff(0, { full: true, enter: [[1, "player", 0, 0, 0]] }));
    steps.forEach((s, tick) => {
      const known = [...model.keys()].filter((id) => id !== 1);
      const leave = [...new Set(s.leave.map((n) => known[n]).filter((id) => id !== undefined))];
      for (const id of leave) model.delete(id);
      const enter = [...new Map(s.enter.filter(([id]) => !model.has(id))).entries()];
      for (const [id, x] of enter) model.set(id, x);
      const ids = [...model.keys()];
      const update = [...new Map(s.move.map(([n, x]) => [ids[n % ids.length], x])).entries()];
      for (const [id, x] of update) model.set(id, x);
      world.apply(diff(tick + 1, {
        leave,
        enter: enter.map(([id, x]) => [id, "npc", x, 0, 0]),
        update: update.map(([id, x]) => [id, x, 0, 0]),
      }));
    });
    assert.deepEqual(problems, []);
    assert.deepEqual(
      new Map([...world.entities.values()].map((e) => [e.id, e.x])),
      model,
    );
  }));
});
