import assert from "node:assert/strict";
import { type DiffMessage, Op, type WelcomeMessage } from "../../src/protocol/client_protocol.ts";
import { DiffStreamCheck, emptyStreamCounts } from "../../src/client/diff_stream_check.ts";

const OWN = 7;
const WELCOME = {
  entity: OWN,
  world: { dims: 2, size: [400, 400], cellSize: 100 },
} as WelcomeMessage;

function diff(tick: number, parts: Partial<DiffMessage> = {}): DiffMessage {
  return { op: Op.DIFF, tick, ack: 0, enter: [], update: [], leave: [], ...parts };
}

function started() {
  const counts = emptyStreamCounts();
  const check = new DiffStreamCheck(counts);
  check.welcome(WELCOME);
  check.diff(diff(10, { full: true, enter: [[OWN, "player", 50, 50, 0], [8, "npc", 60, 60, 0]] }));
  return { counts, check };
}

Deno.test("a stream that follows the protocol has no problems", () => {
  const { counts, check } = started();
  check.diff(diff(11, { update: [[8, 61, 60, 0]] }));
  check.diff(diff(12, { leave: [8], enter: [[9, "npc", 1, 1, 0]] }));
  // A full DIFF may repeat the tick before it; it replaces what is visible.
  check.diff(diff(12, { full: true, enter: [[OWN, "player", 51, 50, 0]] }));
  assert.deepEqual(counts.problems, {});
  assert.equal(counts.diffs, 4);
  assert.equal(counts.extraFullDiffs, 1);
  assert.equal(counts.maxTickGap, 1);
  assert.deepEqual([...check.world.entities.keys()], [OWN]);
  assert.deepEqual(check.position, [51, 50, 0]);
});

Deno.test("each contradiction of the protocol is counted by kind", () => {
  const { counts, check } = started();
  check.diff(diff(11, { enter: [[8, "npc", 0, 0, 0]] }));
  check.diff(diff(12, { update: [[99, 0, 0, 0]] }));
  check.diff(diff(13, { leave: [99] }));
  check.diff(diff(13));
  check.diff(diff(12));
  check.diff(diff(14, { leave: [OWN] }));
  assert.deepEqual(counts.problems, {
    ENTER_KNOWN: 1,
    UPDATE_UNKNOWN: 1,
    LEAVE_UNKNOWN: 1,
    TICK_BACKWARDS: 2,
    OWN_ENTITY_MISSING: 1,
  });
});

Deno.test("the first DIFF after WELCOME must be full, and a DIFF needs a WELCOME first", () => {
  const counts = emptyStreamCounts();
  const check = new DiffStreamCheck(counts);
  check.diff(diff(1));
  check.welcome(WELCOME);
  check.diff(diff(2, { enter: [[OWN, "player", 0, 0, 0]] }));
  assert.deepEqual(counts.problems, { OUT_OF_ORDER: 1, FIRST_NOT_FULL: 1 });
});

Deno.test("cell crossings count the own entity's moves into another grid cell only", () => {
  const { counts, check } = started();
  check.diff(diff(11, { update: [[OWN, 99.9, 50, 0], [8, 150, 60, 0]] })); // NPC moves: no
  check.diff(diff(12, { update: [[OWN, 100, 50, 0]] })); // x crosses 100
  check.diff(diff(13, { update: [[OWN, 100, 150, 0]] })); // y crosses 100
  check.diff(diff(14, { update: [[OWN, 120, 160, 0]] })); // same cell
  assert.equal(counts.cellCrossings, 2);
  // A new connection starts over: the jump between sessions is not a crossing.
  check.welcome(WELCOME);
  check.diff(diff(40, { full: true, enter: [[OWN, "player", 350, 350, 0]] }));
  assert.equal(counts.cellCrossings, 2);
  assert.equal(counts.maxTickGap, 1, "tick gaps are measured within one connection");
  assert.deepEqual(counts.problems, {});
});

Deno.test("the largest tick gap between consecutive DIFFs is kept", () => {
  const { counts, check } = started();
  check.diff(diff(13));
  check.diff(diff(14));
  assert.equal(counts.maxTickGap, 3);
});
