import assert from "node:assert/strict";
import fc from "fast-check";
import { Unpackr } from "msgpackr";
import { FrameMsgpackError, readFrameMsgpack } from "../../src/protocol/frame_msgpack.ts";
import {
  FrameArena,
  ownedFrame,
  SharedArrays,
  writeFrameMsgpack,
} from "../../src/protocol/frame_msgpack_writer.ts";
import { decodeClientFrame, encodeServerFrame, Op } from "../../src/protocol/client_protocol.ts";
import { FrameError } from "../../src/protocol/frame_reader.ts";

const LIMIT = { maxBytes: 8192 };
/** A standard decoder: 64-bit integers as numbers when they fit one exactly ("auto" is
 * documented but missing from the typings). */
const standard = new Unpackr({
  useRecords: false,
  mapsAsObjects: true,
  int64AsType: "auto" as "number",
});
const bytes = (...b: number[]) => new Uint8Array(b);
/** msgpack of a short ASCII string. */
const str = (s: string) => [0xa0 + s.length, ...new TextEncoder().encode(s)];

/** Every msgpack encoding of a non-negative integer `v` that can hold it. */
function encodingsOf(v: number): number[][] {
  const out: number[][] = [];
  const be = (_: number, size: number) => {
    const b: number[] = [];
    let x = BigInt(v);
    for (let i = 0; i < size; i++) {
      b.unshift(Number(x & 0xffn));
      x >>= 8n;
    }
    return b;
  };
  if (v < 0x80) out.push([v]);
  if (v < 0x100) out.push([0xcc, ...be(v, 1)]);
  if (v < 0x10000) out.push([0xcd, ...be(v, 2)]);
  if (v < 0x100000000) out.push([0xce, ...be(v, 4)]);
  out.push([0xcf, ...be(v, 8)]);
  if (v < 0x80) out.push([0xd0, ...be(v, 1)]);
  if (v < 0x8000) out.push([0xd1, ...be(v, 2)]);
  if (v < 0x80000000) out.push([0xd2, ...be(v, 4)]);
  out.push([0xd3, ...be(v, 8)]);
  return out;
}

Deno.test("every msgpack integer encoding is accepted for every integer field, uint64 and int64 included", () => {
  for (const op of encodingsOf(Op.PING)) {
    for (const t of [...encodingsOf(7), ...encodingsOf(2 ** 40 + 3)]) {
      const frame = bytes(0x82, ...str("op"), ...op, ...str("t"), ...t);
      const ping = decodeClientFrame(frame, LIMIT);
      assert.equal(ping.op, Op.PING);
    }
  }
  // PING.t as a uint64 millisecond clock, the way C#, Go and Python encoders write it.
  const now = 1_767_139_260_123;
  for (const t of encodingsOf(now)) { // 0xcf and 0xd3
    assert.deepEqual(
      decodeClientFrame(bytes(0x82, ...str("op"), 0x04, ...str("t"), ...t), LIMIT),
      { op: Op.PING, t: now },
    );
  }
  for (const seq of encodingsOf(4_294_967_295)) {
    const frame = bytes(
      0x83,
      ...str("op"),
      0xcf,
      0,
      0,
      0,
      0,
      0,
      0,
      0,
      2,
      ...str("seq"),
      ...seq,
      ...str("intent"),
      0x81,
      ...str("move"),
      0x92,
      0,
      0,
    );
    assert.deepEqual(decodeClientFrame(frame, LIMIT), {
      op: Op.INPUT,
      seq: 4_294_967_295,
      intent: { move: [0, 0] },
    });
  }
  // Negative numbers in every signed encoding.
  for (const t of [[0xff], [0xd0, 0xff], [0xd1, 0xff, 0xff], [0xd2, 0xff, 0xff, 0xff, 0xff]]) {
    assert.equal(readFrameMsgpack(bytes(...t)), -1);
  }
  assert.equal(readFrameMsgpack(bytes(0xd3, 0xff, 0xe0, 0, 0, 0, 0, 0, 1)), -(2 ** 53) + 1);
});

Deno.test("64-bit integers outside ±(2^53−1) are BAD_FRAME naming the field", () => {
  const ping = (t: number[]) => bytes(0x82, ...str("op"), 0x04, ...str("t"), ...t);
  assert.throws(
    () => decodeClientFrame(ping([0xcf, 0, 0x20, 0, 0, 0, 0, 0, 0]), LIMIT),
    (e: unknown) =>
      e instanceof FrameError && e.code === "BAD_FRAME" &&
      /Cannot decode frame: t must be an integer in -\(2\^53-1\)\.\.2\^53-1, got 9007199254740992/
        .test(e.message),
  );
  assert.throws(
    () => decodeClientFrame(ping([0xd3, 0x80, 0, 0, 0, 0, 0, 0, 0]), LIMIT),
    /t must be an integer in .*got -9223372036854775808/,
  );
});

Deno.test("server frames carry whole numbers in the smallest integer encoding, ids above 2^32 as uint64", () => {
  const id = 2 ** 32 + 8;
  const frame = encodeServerFrame({
    op: Op.DIFF,
    tick: 1200,
    ack: 0,
    enter: [[id, "player", 500, 480.5, 0]],
    update: [],
    leave: [],
  }, "msgpack");
  const hex = Array.from(frame, (b) => b.toString(16).padStart(2, "0")).join(" ");
  assert.match(hex, /cf 00 00 00 01 00 00 00 08/, "the id as uint64");
  assert.doesNotMatch(hex, /cb 41 f0 00 00 00 80 00 00/, "not as float 64");
  assert.match(hex, /a4 74 69 63 6b cd 04 b0/, "tick 1200 as uint16");
  assert.match(hex, /cd 01 f4 cb 40 7e 08 00 00 00 00 00 00/, "500 as uint16, 480.5 as float 64");
  const pong = encodeServerFrame(
    { op: Op.PONG, t: 1712.5, serverTime: 1_767_139_260_150 },
    "msgpack",
  );
  assert.deepEqual(
    Array.from(pong.subarray(pong.length - 9)),
    [0xcf, 0, 0, 0x01, 0x9b, 0x71, 0xb5, 0x36, 0xf6],
  );
  // Small values: fixint; negative: the smallest signed encoding.
  assert.deepEqual(Array.from(writeFrameMsgpack([0, 127, 128, -1, -33, -129, -32769])), [
    0x97,
    0x00,
    0x7f,
    0xcc,
    0x80,
    0xff,
    0xd0,
    0xdf,
    0xd1,
    0xff,
    0x7f,
    0xd2,
    0xff,
    0xff,
    0x7f,
    0xff,
  ]);
  assert.deepEqual(Array.from(writeFrameMsgpack({ a: 1 })), [0x81, 0xa1, 0x61, 0x01], "fixmap");
});

Deno.test("invalid UTF-8 in any msgpack string is BAD_FRAME naming the field", () => {
  const chat = (text: number[]) =>
    bytes(0x83, ...str("op"), 0x03, ...str("channel"), ...str("global"), ...str("text"), ...text);
  const invalid: Array<[string, number[]]> = [
    ["ff fe", [0xa2, 0xff, 0xfe]],
    ["an encoded surrogate", [0xa3, 0xed, 0xa0, 0x80]],
    ["an overlong '/'", [0xa2, 0xc0, 0xaf]],
    ["a truncated sequence", [0xa2, 0xe2, 0x82]],
    ["a code point above U+10FFFF", [0xa4, 0xf4, 0x90, 0x80, 0x80]],
  ];
  for (const [what, text] of invalid) {
    assert.throws(
      () => decodeClientFrame(chat(text), LIMIT),
      (e: unknown) =>
        e instanceof FrameError && e.code === "BAD_FRAME" &&
        e.message === "Cannot decode frame: text is not valid UTF-8",
      what,
    );
  }
  // Keys too, and nested fields are named by their path.
  assert.throws(() => readFrameMsgpack(bytes(0x81, 0xa1, 0xff, 0x01)), /frame is not valid UTF-8/);
  assert.throws(
    () => readFrameMsgpack(bytes(0x81, ...str("intent"), 0x81, ...str("move"), 0x91, 0xa1, 0xff)),
    /intent\.move\[0\] is not valid UTF-8/,
  );
  // Valid multi-byte text passes unchanged, a BOM included (it is a character like any other).
  assert.equal(readFrameMsgpack(bytes(0xa7, 0xef, 0xbb, 0xbf, 0xf0, 0x9f, 0x98, 0x80)), "\ufeff😀");
});

Deno.test("a key repeated in one msgpack map is BAD_FRAME", () => {
  assert.throws(
    () =>
      decodeClientFrame(
        bytes(0x83, ...str("op"), 0x04, ...str("t"), 0x01, ...str("t"), 0x02),
        LIMIT,
      ),
    /Cannot decode frame: frame has the key "t" twice/,
  );
});

Deno.test("whatever a writer writes, the strict reader and msgpackr read back the same", () => {
  const json = fc.letrec((tie) => ({
    value: fc.oneof(
      { depthSize: "small" },
      fc.constant(null),
      fc.boolean(),
      fc.maxSafeInteger(),
      fc.integer(),
      fc.double({ noNaN: true, noDefaultInfinity: true }),
      fc.string({ unit: "grapheme" }),
      fc.array(tie("value"), { maxLength: 20 }),
      // msgpackr reads a "__proto__" key as "__proto_" (its guard against prototype
      // pollution); the strict reader keeps it as an own property (the test below).
      fc.dictionary(
        fc.string({ unit: "grapheme", maxLength: 40 }).filter((k) => k !== "__proto__"),
        tie("value"),
        {
          noNullPrototype: true,
          maxKeys: 20,
        },
      ),
    ),
  })).value;
  fc.assert(
    fc.property(json, (value) => {
      const written = writeFrameMsgpack(value);
      const expected = JSON.parse(JSON.stringify(value)); // -0 → 0, like the writer
      assert.deepEqual(readFrameMsgpack(written), expected);
      assert.deepEqual(standard.unpack(written), expected);
    }),
    { numRuns: 500 },
  );
  // Long strings and containers take the 16- and 32-bit headers.
  const long = "é".repeat(40_000);
  assert.equal(readFrameMsgpack(writeFrameMsgpack(long)), long);
  const many = Array.from({ length: 70_000 }, (_, i) => i);
  assert.deepEqual(readFrameMsgpack(writeFrameMsgpack(many)), many);
});

Deno.test("frames cut from an arena are the bytes written without it, and stay so", () => {
  const arena = new FrameArena(1024);
  const values = Array.from({ length: 300 }, (_, i) => ({ op: 6, tick: i, update: [[i, i / 3]] }));
  const frames = values.map((value) => writeFrameMsgpack(value, undefined, arena));
  // 300 frames of ~25 bytes fill several arenas: each frame keeps its bytes after later ones.
  frames.forEach((frame, i) => assert.deepEqual(frame, writeFrameMsgpack(values[i])));
  const buffers = new Set(frames.map((frame) => frame.buffer));
  assert.ok(buffers.size > 1 && buffers.size < frames.length, `${buffers.size} arenas`);
  // A frame over an eighth of the arena has a buffer of its own.
  const big = writeFrameMsgpack({ text: "x".repeat(200) }, undefined, arena);
  assert.equal(big.buffer.byteLength, big.byteLength);
  // ownedFrame copies a view out of its arena and leaves an owned frame or text alone.
  const owned = ownedFrame(frames[0]);
  assert.deepEqual(owned, frames[0]);
  assert.equal(owned.buffer.byteLength, owned.byteLength);
  assert.equal(ownedFrame(big), big);
  assert.equal(ownedFrame("{}"), "{}");
});

Deno.test("DIFFs written with shared rows are the bytes written without them", () => {
  const row = fc.oneof(
    fc.tuple(
      fc.nat(),
      fc.double({ noNaN: true, noDefaultInfinity: true }),
      fc.integer(),
      fc.constant(0),
    ),
    fc.tuple(
      fc.nat(),
      fc.constant("npc"),
      fc.integer(),
      fc.integer(),
      fc.constant(0),
      fc.constant({ hp: 1 }),
    ),
  );
  fc.assert(
    fc.property(
      fc.array(row, { maxLength: 12 }),
      fc.array(fc.array(fc.nat(), { maxLength: 12 }), { maxLength: 6 }),
      (rows, frames) => {
        // Several frames list the same row objects, in any order and any number of times.
        const shared = new SharedArrays(rows.filter((_, i) => i % 2 === 0));
        for (const picks of frames) {
          const update = rows.length === 0 ? [] : picks.map((i) => rows[i % rows.length]);
          const diff = { op: Op.DIFF, tick: 3, ack: 1, enter: [], update, leave: [2] };
          assert.deepEqual(writeFrameMsgpack(diff, shared), writeFrameMsgpack(diff));
        }
      },
    ),
    { numRuns: 300 },
  );
});

Deno.test('a "__proto__" key is read as an own property, never as a prototype', () => {
  const written = writeFrameMsgpack(JSON.parse('{"__proto__": {"polluted": 1}}'));
  const read = readFrameMsgpack(written) as Record<string, unknown>;
  assert.deepEqual(Object.keys(read), ["__proto__"]);
  assert.equal(Object.getPrototypeOf(read), Object.prototype);
  assert.equal((read as { polluted?: number }).polluted, undefined);
  assert.deepEqual(Object.keys(standard.unpack(written)), ["__proto_"], "msgpackr renames it");
});

Deno.test("the strict reader throws only FrameMsgpackError on any bytes", () => {
  fc.assert(
    fc.property(fc.uint8Array({ maxLength: 64 }), (input) => {
      try {
        readFrameMsgpack(input);
      } catch (error) {
        if (!(error instanceof FrameMsgpackError)) throw error;
      }
    }),
    { numRuns: 5_000 },
  );
});
