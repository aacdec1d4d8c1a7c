import assert from "node:assert/strict";
import fc from "fast-check";
import {
  type DiffMessage,
  encodeServerFrame,
  type EnterRecord,
  Op,
} from "../../src/protocol/client_protocol.ts";
import { decodeServerFrame } from "../../src/client/client_codec.ts";
import { ClientView } from "../../src/session/client_view.ts";
import { SendQueue, type SendQueueOptions } from "../../src/session/send_queue.ts";

function queue(overrides: Partial<SendQueueOptions<string>> = {}) {
  const built: string[] = [];
  let latest = "nothing";
  const q = new SendQueue<string>({
    maxStateFrames: 3,
    maxReliableFrames: 4,
    maxReliableBytes: 100,
    maxBehindTicks: 10,
    snapshot: () => {
      built.push(latest);
      return `snapshot@${latest}`;
    },
    ...overrides,
  });
  return { q, built, setLatest: (value: string) => latest = value };
}

function drain(q: SendQueue<string>): string[] {
  const out: string[] = [];
  for (let frame = q.shift(); frame !== undefined; frame = q.shift()) out.push(frame);
  return out;
}

Deno.test("a reader that keeps up gets every diff in order and never a snapshot", () => {
  const { q, built } = queue();
  const received: string[] = [];
  for (let tick = 1; tick <= 1000; tick++) {
    assert.equal(q.pushState(tick, `diff ${tick}`), true);
    received.push(...drain(q));
    assert.equal(q.behindTicks(tick), 0);
  }
  assert.equal(received.length, 1000);
  assert.equal(received[999], "diff 1000");
  assert.equal(built.length, 0);
  assert.equal(q.collapsed, 0);
});

Deno.test("reliable frames go first and keep their order", () => {
  const { q } = queue();
  q.pushState(1, "diff 1");
  q.pushReliable("welcome");
  q.pushReliable("chat a");
  q.pushState(2, "diff 2");
  q.pushReliable("chat b");
  assert.equal(q.length, 5);
  assert.deepEqual(drain(q), ["welcome", "chat a", "chat b", "diff 1", "diff 2"]);
  assert.equal(q.length, 0);
});

Deno.test("a slow reader's diffs collapse into one snapshot built when it is sent", () => {
  const { q, built, setLatest } = queue();
  for (let tick = 1; tick <= 3; tick++) q.pushState(tick, `diff ${tick}`);
  assert.equal(q.wantsDiff(), true);
  q.pushState(4, "diff 4"); // the fourth waiting diff: all give way to a snapshot
  assert.equal(q.snapshotDue, true);
  assert.equal(q.wantsDiff(), false, "the gateway can skip encoding diffs now");
  assert.equal(q.length, 0);
  q.pushState(5, "diff 5"); // discarded: the snapshot will cover it
  setLatest("tick 6");
  assert.deepEqual(drain(q), ["snapshot@tick 6"]);
  assert.deepEqual(built, ["tick 6"], "one snapshot, of the state at send time");
  assert.equal(q.collapsed, 1);
  // Caught up: diffs flow again.
  q.pushState(7, "diff 7");
  assert.deepEqual(drain(q), ["diff 7"]);
});

Deno.test("a client behind for more than maxBehindTicks is reported slow", () => {
  const { q } = queue({ maxBehindTicks: 10 });
  for (let tick = 100; tick <= 110; tick++) {
    assert.equal(q.pushState(tick, `diff ${tick}`), true, `tick ${tick}`);
  }
  assert.equal(q.behindTicks(110), 10);
  assert.equal(q.pushState(111, "diff 111"), false);
  // Reading even one frame moves the mark; reading everything clears it.
  drain(q);
  assert.equal(q.behindTicks(111), 0);
  assert.equal(q.pushState(112, "diff 112"), true);
});

Deno.test("a reader that lags a few ticks but catches up is never reported slow", () => {
  const { q } = queue({ maxStateFrames: 3, maxBehindTicks: 6 });
  for (let tick = 1; tick <= 500; tick++) {
    assert.equal(q.pushState(tick, `diff ${tick}`), true, `tick ${tick}`);
    if (tick % 5 === 0) drain(q); // reads every fifth tick
  }
  assert.ok(q.collapsed > 0, "it did fall behind the diff bound");
});

Deno.test("partial reads move the behind mark to the oldest state still waiting", () => {
  const { q } = queue({ maxStateFrames: 5 });
  q.pushState(10, "a");
  q.pushState(11, "b");
  q.pushState(12, "c");
  assert.equal(q.shift(), "a");
  assert.equal(q.behindTicks(15), 4);
});

Deno.test("reliable frames are bounded by count and by size", () => {
  const { q } = queue({ maxReliableFrames: 3, maxReliableBytes: 10 });
  assert.equal(q.pushReliable("aaaa"), true);
  assert.equal(q.pushReliable("bbbb"), true);
  assert.equal(q.pushReliable("ccc"), false, "11 units would exceed 10");
  assert.equal(q.pushReliable("cc"), true);
  assert.equal(q.pushReliable("d"), false, "a fourth frame would exceed 3");
  assert.equal(q.reliableBytes, 10);
  assert.equal(q.shift(), "aaaa");
  assert.equal(q.pushReliable("d"), true);
  assert.deepEqual(drain(q), ["bbbb", "cc", "d"]);
  assert.equal(q.reliableBytes, 0);
  const bytes = new SendQueue<Uint8Array>({
    maxStateFrames: 1,
    maxReliableFrames: 10,
    maxReliableBytes: 8,
    maxBehindTicks: 1,
    snapshot: () => new Uint8Array(0),
  });
  assert.equal(bytes.pushReliable(new Uint8Array(8)), true);
  assert.equal(bytes.pushReliable(new Uint8Array(1)), false);
});

Deno.test("a requested snapshot comes after WELCOME and replaces earlier diffs", () => {
  const { q, setLatest } = queue();
  q.pushState(1, "diff 1");
  q.requestSnapshot(1);
  q.pushReliable("welcome");
  q.pushState(2, "diff 2");
  setLatest("tick 2");
  assert.deepEqual(drain(q), ["welcome", "snapshot@tick 2"]);
});

Deno.test("invalid queue settings are refused with a RangeError", () => {
  assert.throws(() => queue({ maxStateFrames: 0 }), /maxStateFrames must be an integer >= 1/);
  assert.throws(() => queue({ maxBehindTicks: 1.5 }), RangeError);
  assert.throws(() => queue({ maxReliableBytes: 0 }), RangeError);
});

// ---- the whole path: worker diffs → view → queue → a client with its own state --------------

interface Known {
  type: string;
  x: number;
  y: number;
  z: number;
  data?: Record<string, unknown>;
}

/** A client as docs/protocol.md describes it, asserting the stream never contradicts itself. */
class ReferenceClient {
  known = new Map<number, Known>();
  tick = -1;

  receive(frame: string): void {
    const message = decodeServerFrame(frame);
    assert.equal(message.op, Op.DIFF);
    const diff = message as DiffMessage;
    // Ticks increase; a full snapshot may repeat the tick of the diff before it.
    assert.ok(
      diff.full ? diff.tick >= this.tick : diff.tick > this.tick,
      `tick ${diff.tick} after ${this.tick}`,
    );
    this.tick = diff.tick;
    if (diff.full) this.known.clear();
    for (const id of diff.leave) assert.ok(this.known.delete(id), `leave of unknown ${id}`);
    for (const [id, type, x, y, z, data] of diff.enter) {
      assert.ok(!this.known.has(id), `second enter of ${id}`);
      this.known.set(id, data === undefined ? { type, x, y, z } : { type, x, y, z, data });
    }
    for (const [id, x, y, z, data] of diff.update) {
      const entity = this.known.get(id);
      assert.ok(entity, `update of unknown ${id}`);
      Object.assign(entity, { x, y, z }, data === undefined ? {} : { data });
    }
  }
}

Deno.test("whatever a client reads, diffs and collapsed snapshots leave it with the true view", () => {
  // Per tick: entities the worker sees enter, move or leave; sometimes it sends its full set
  // (a new worker after a handoff); the client reads 0..3 frames per tick.
  const step = fc.record({
    enter: fc.array(fc.integer({ min: 0, max: 30 }), { maxLength: 4 }),
    move: fc.array(fc.integer({ min: 0, max: 30 }), { maxLength: 8 }),
    leave: fc.array(fc.integer({ min: 0, max: 30 }), { maxLength: 3 }),
    full: fc.integer({ min: 0, max: 4 }).map((n) => n === 0),
    // About one read per tick on average, in bursts: queues fill up and drain.
    reads: fc.oneof(fc.constant(0), fc.integer({ min: 1, max: 3 })),
  });
  let collapsed = 0;
  fc.assert(
    fc.property(fc.array(step, { minLength: 1, maxLength: 80 }), (steps) => {
      const truth = new Map<number, Known>();
      const view = new ClientView();
      const client = new ReferenceClient();
      const q = new SendQueue<string>({
        maxStateFrames: 3,
        maxReliableFrames: 8,
        maxReliableBytes: 4096,
        maxBehindTicks: 1000,
        snapshot: () => encodeServerFrame(view.snapshot(), "json"),
      });
      q.requestSnapshot(0);
      steps.forEach((s, index) => {
        const tick = index + 1;
        const worker: DiffMessage = {
          op: Op.DIFF,
          tick,
          ack: tick,
          enter: [],
          update: [],
          leave: [],
        };
        for (const id of new Set(s.leave)) {
          if (truth.delete(id)) worker.leave.push(id);
        }
        for (const id of new Set(s.enter)) {
          if (truth.has(id)) continue;
          const entity: Known = { type: id % 2 ? "npc" : "player", x: tick, y: id, z: 0 };
          if (id % 3 === 0) entity.data = { id };
          truth.set(id, entity);
          worker.enter.push(record(id, entity));
        }
        for (const id of new Set(s.move)) {
          const entity = truth.get(id);
          if (!entity || worker.enter.some((r) => r[0] === id)) continue;
          entity.x += 1;
          worker.update.push([id, entity.x, entity.y, entity.z]);
        }
        const sent = s.full
          ? {
            ...worker,
            full: true,
            enter: [...truth].map(([id, e]) => record(id, e)),
            update: [],
            leave: [],
          }
          : worker;
        const out = view.apply(sent);
        if (q.wantsDiff()) assert.equal(q.pushState(tick, encodeServerFrame(out, "json")), true);
        for (let n = 0; n < s.reads; n++) {
          const frame = q.shift();
          if (frame !== undefined) client.receive(frame as string);
        }
      });
      for (let frame = q.shift(); frame !== undefined; frame = q.shift()) client.receive(frame);
      assert.deepEqual(client.known, truth);
      collapsed += q.collapsed;
      assert.deepEqual(view.repairs, { reentered: 0, unknownUpdates: 0, unknownLeaves: 0 });
    }),
    { numRuns: 300 },
  );
  assert.ok(collapsed > 20, `the runs exercised collapsing (${collapsed} times)`);
});

function record(id: number, e: Known): EnterRecord {
  return e.data === undefined ? [id, e.type, e.x, e.y, e.z] : [id, e.type, e.x, e.y, e.z, e.data];
}

Deno.test("own replaces every waiting frame, reliable and state, and nothing already sent", () => {
  const { q } = queue();
  q.pushReliable("r1");
  q.pushReliable("r2");
  q.pushState(1, "s1");
  q.pushState(2, "s2");
  assert.equal(q.shift(), "r1");
  q.own((frame) => `${frame}'`);
  assert.deepEqual([q.shift(), q.shift(), q.shift(), q.shift()], ["r2'", "s1'", "s2'", undefined]);
});
