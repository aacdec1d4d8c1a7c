import assert from "node:assert/strict";
import { decodeServerFrame, encodeClientFrame } from "../../src/client/client_codec.ts";
import { FrameError, Op, type WelcomeMessage } from "../../src/protocol/client_protocol.ts";
import { encode as packFrame } from "../../src/protocol/msgpack.ts";

const WELCOME: WelcomeMessage = {
  op: Op.WELCOME,
  protocol: 1,
  session: "s-1",
  entity: 4294967297,
  resumeToken: "r1.abc.def",
  resumeGraceMs: 15000,
  resumed: false,
  world: { dims: 2, size: [1000, 1000], cellSize: 100 },
  tickHz: 20,
  snapshotHz: 20,
  aoiRadius: 50,
};

function rejects(value: unknown, pattern: RegExp, maxBytes?: number): void {
  for (const frame of [JSON.stringify(value), packFrame(value)]) {
    assert.throws(
      () => decodeServerFrame(frame, maxBytes ? { maxBytes } : {}),
      (error: unknown) => {
        assert.ok(error instanceof FrameError, `expected FrameError, got ${error}`);
        assert.match(error.message, pattern);
        return true;
      },
    );
  }
}

Deno.test("server frames that break the protocol are refused naming the field", () => {
  assert.deepEqual(decodeServerFrame(JSON.stringify(WELCOME)), WELCOME);
  const diff = { op: Op.DIFF, tick: 1, ack: 0, enter: [], update: [], leave: [] };
  const cases: Array<[unknown, RegExp]> = [
    [{ op: Op.HELLO, protocol: 1, token: "x" }, /op must be 3 \(CHAT\), 5 \(WELCOME\)/],
    [{ ...WELCOME, protocol: 2 }, /WELCOME.protocol must be 1, got 2/],
    [
      { ...WELCOME, world: { dims: 3, size: [1, 1], cellSize: 1 } },
      /WELCOME.world.size must have 3 elements, got 2/,
    ],
    [
      { ...WELCOME, world: { ...WELCOME.world, cellSize: 0 } },
      /WELCOME.world.cellSize must be a number > 0/,
    ],
    [{ ...WELCOME, resumed: "no" }, /WELCOME.resumed must be a boolean/],
    [{ ...WELCOME, extra: 1 }, /WELCOME has an unknown field "extra"/],
    [{ ...diff, full: "yes" }, /DIFF.full must be a boolean/],
    [{ ...diff, ack: 2 ** 32 }, /DIFF.ack must be an integer in 0..4294967295/],
    [{ ...diff, enter: [[1, "npc", 0, 0]] }, /DIFF.enter\[0\] must have 5..6 elements, got 4/],
    [{ ...diff, enter: [[1, "", 0, 0, 0]] }, /DIFF.enter\[0\].type must be 1..64 characters/],
    [{ ...diff, enter: [[1, "npc", 0, 0, 0, [1]]] }, /DIFF.enter\[0\].data must be a map/],
    [{ ...diff, update: [[1, 0, 0, "0"]] }, /DIFF.update\[0\].z must be a finite number/],
    [{ ...diff, leave: [-1] }, /DIFF.leave\[0\] must be a non-negative integer/],
    // Records the quick check is not sure of go through the named checks: the later the
    // record, the more records passed the quick check before it.
    [
      { ...diff, update: [[1, 0, 0, 0], [2, 0, 0, 0], [3.5, 0, 0, 0]] },
      /DIFF.update\[2\].id must be a non-negative integer/,
    ],
    [{ ...diff, enter: [[1, "n\u0007pc", 0, 0, 0]] }, /DIFF.enter\[0\].type contains a control/],
    [{ ...diff, enter: [[1, "n".repeat(65), 0, 0, 0]] }, /DIFF.enter\[0\].type must be 1..64/],
    [{ ...diff, enter: [[1, "npc", 0, 0, 0, null]] }, /DIFF.enter\[0\].data must be a map/],
    [{ ...diff, update: [[1, 0, 0, 0, {}, 7]] }, /DIFF.update\[0\] must have 4..5 elements/],
    [{ ...diff, leave: [1, 2, 2 ** 53] }, /DIFF.leave\[2\] must be a non-negative integer/],
    [
      { op: Op.CHAT, from: "x".repeat(33), channel: "global", text: "hi", time: 1 },
      /CHAT.from must be 1..32/,
    ],
    [{ op: Op.ERROR, code: "bad code", message: "m" }, /ERROR.code must be an upper-case code/],
    [{ op: Op.PONG, t: 1 }, /PONG is missing the field "serverTime"/],
  ];
  for (const [value, pattern] of cases) rejects(value, pattern);
  rejects(WELCOME, /exceeds the maximum of 64 bytes/, 64);
  // And what only the named checks accept is still accepted: a type beyond printable ASCII.
  const ok = { ...diff, enter: [[1, "ñandú 🐦", 0, 0, 0, { a: 1 }]], update: [[2, 1.5, 2, 3]] };
  for (const frame of [JSON.stringify(ok), packFrame(ok)]) {
    assert.deepEqual(decodeServerFrame(frame), ok);
  }
});

Deno.test("client frames encode to exactly the documented JSON", () => {
  assert.equal(
    encodeClientFrame({ op: Op.INPUT, seq: 1, intent: { move: [1, 0] } }, "json"),
    '{"op":2,"seq":1,"intent":{"move":[1,0]}}',
  );
  assert.equal(
    encodeClientFrame({ op: Op.HELLO, protocol: 1, token: "v1.a.b" }, "json"),
    '{"op":1,"protocol":1,"token":"v1.a.b"}',
  );
});

Deno.test("a REDIRECT names a gateway's ws:// or wss:// URL, in both formats; anything else is refused", () => {
  const redirect = { op: Op.REDIRECT, url: "ws://10.0.0.6:8080/ws" } as const;
  assert.deepEqual(decodeServerFrame(JSON.stringify(redirect)), redirect);
  assert.deepEqual(decodeServerFrame(packFrame(redirect)), redirect);
  assert.deepEqual(decodeServerFrame(JSON.stringify({ op: 16, url: "wss://gw.example/ws" })), {
    op: 16,
    url: "wss://gw.example/ws",
  });
  const bad: Array<[unknown, RegExp]> = [
    [{ op: 16 }, /REDIRECT/],
    [{ op: 16, url: "http://10.0.0.6:8080/ws" }, /REDIRECT\.url must be a ws:\/\/ or wss:\/\//],
    [{ op: 16, url: "ws://10.0.0.6:8080/other" }, /REDIRECT\.url/],
    [{ op: 16, url: 7 }, /REDIRECT\.url/],
    [{ op: 16, url: "ws://h/ws", to: "g2" }, /REDIRECT/],
  ];
  for (const [frame, message] of bad) {
    assert.throws(
      () => decodeServerFrame(JSON.stringify(frame)),
      (e: unknown) => e instanceof FrameError && message.test(e.message),
      JSON.stringify(frame),
    );
  }
});
