// The browser client's entity model (static/play/world.js) applies DIFFs as docs/protocol.md says.
import assert from "node:assert/strict";
import { labelOf, World } from "../static/play/world.js";

Deno.test("the play page's world applies full, leave, enter and update in that order", () => {
  const world = new World();
  world.apply({
    op: 6,
    tick: 5,
    ack: 0,
    full: true,
    enter: [[1, "player", 10, 10, 0, { name: "Ann" }], [2, "npc", 5, 5, 0]],
    update: [],
    leave: [],
  });
  // Leave before enter: an id may leave and enter again in one DIFF.
  world.apply({
    op: 6,
    tick: 6,
    ack: 3,
    enter: [[2, "npc", 7, 7, 0]],
    update: [[1, 11, 10, 0], [2, 8, 7, 0, { mood: "calm" }]],
    leave: [2],
  });
  assert.equal(world.tick, 6);
  assert.equal(world.ack, 3);
  assert.deepEqual(world.entities.get(1), {
    id: 1,
    type: "player",
    x: 11,
    y: 10,
    z: 0,
    data: { name: "Ann" },
  });
  assert.deepEqual(world.entities.get(2)?.data, { mood: "calm" });
  assert.equal(world.contradictions, 0);
  world.apply({
    op: 6,
    tick: 7,
    ack: 3,
    full: true,
    enter: [[3, "npc", 0, 0, 0]],
    update: [],
    leave: [],
  });
  assert.deepEqual([...world.entities.keys()], [3], "a full DIFF forgets everything else");
  world.apply({ op: 6, tick: 8, ack: 3, enter: [], update: [[9, 0, 0, 0]], leave: [8] });
  assert.equal(world.contradictions, 2);
});

Deno.test("players are labelled by name, or by id without one", () => {
  assert.equal(labelOf({ id: 4, data: { name: "Bo" } }), "Bo");
  assert.equal(labelOf({ id: 4, data: undefined }), "#4");
});
