import assert from "node:assert/strict";
import fc from "fast-check";
import {
  type ClientMessage,
  CloseCode,
  closeCodeFor,
  decodeClientFrame,
  DEFAULT_MAX_FRAME_BYTES,
  type DiffMessage,
  encodeServerFrame,
  FrameError,
  frameFormatOf,
  MAX_CHAT_CHARS,
  MAX_SEQ,
  Op,
  PROTOCOL_VERSION,
  type ServerMessage,
  type WorldBounds,
} from "../../src/protocol/client_protocol.ts";
import { decodeServerFrame, encodeClientFrame } from "../../src/client/client_codec.ts";
import { CodedError, ErrorCode } from "../../src/errors.ts";
import { encode as packFrame } from "../../src/protocol/msgpack.ts";

/** Decoded frames are ordinary objects; so are the generated ones. */
const plainRecord = { noNullPrototype: true } as const;
const LIMIT = { maxBytes: DEFAULT_MAX_FRAME_BYTES };
const FORMATS = ["msgpack", "json"] as const;

/** msgpack and JSON both lose the sign of zero; generate only values that survive. */
const unit = fc.double({ min: -1, max: 1, noNaN: true }).map((v) => v === 0 ? 0 : v);
const finite = fc.double({ noNaN: true, noDefaultInfinity: true }).map((v) => v === 0 ? 0 : v);
const token = fc.stringMatching(/^[A-Za-z0-9._-]{1,200}$/);
// Chat text may not contain control characters.
// deno-lint-ignore no-control-regex
const CONTROL = /[\u0000-\u001f\u007f-\u009f]/;
const chatText = fc.string({ unit: "grapheme", minLength: 1, maxLength: 120 })
  .filter((s) => !CONTROL.test(s) && [...s].length <= MAX_CHAT_CHARS);
const channel = fc.constantFrom("global" as const, "nearby" as const);

const clientMessage: fc.Arbitrary<ClientMessage> = fc.oneof(
  token.map((t): ClientMessage => ({ op: Op.HELLO, protocol: PROTOCOL_VERSION, token: t })),
  token.map((t): ClientMessage => ({ op: Op.HELLO, protocol: PROTOCOL_VERSION, resumeToken: t })),
  fc.record({
    op: fc.constant(Op.INPUT),
    seq: fc.integer({ min: 1, max: MAX_SEQ }),
    intent: fc.record({
      move: fc.oneof(fc.tuple(unit, unit), fc.tuple(unit, unit, unit)),
      action: fc.stringMatching(/^[a-z_]{1,32}$/),
    }, { requiredKeys: ["move"], noNullPrototype: true }),
  }, plainRecord),
  fc.record({ op: fc.constant(Op.CHAT), channel, text: chatText }, plainRecord),
  fc.record({ op: fc.constant(Op.PING), t: finite }, plainRecord),
);

const key = fc.stringMatching(/^[a-z]{1,6}$/);
const plain: fc.Arbitrary<unknown> = fc.letrec((tie) => ({
  value: fc.oneof(
    { maxDepth: 3 },
    fc.constant(null),
    fc.boolean(),
    finite,
    fc.string({ maxLength: 8 }),
    fc.array(tie("value"), { maxLength: 3 }),
    fc.dictionary(key, tie("value"), { maxKeys: 3, noNullPrototype: true }),
  ),
})).value;
const data = fc.dictionary(key, plain, { minKeys: 1, maxKeys: 3, noNullPrototype: true });
const id = fc.integer({ min: 0, max: Number.MAX_SAFE_INTEGER });
const xyz = fc.tuple(finite, finite, finite);

const serverMessage: fc.Arbitrary<ServerMessage> = fc.oneof(
  fc.record({
    op: fc.constant(Op.WELCOME),
    protocol: fc.constant(PROTOCOL_VERSION),
    session: fc.stringMatching(/^[a-z0-9-]{1,40}$/),
    entity: id,
    resumeToken: token,
    resumeGraceMs: fc.integer({ min: 0, max: 60_000 }),
    resumed: fc.boolean(),
    world: fc.constantFrom<WorldBounds[]>(
      { dims: 2, size: [1000, 800], cellSize: 100 },
      { dims: 3, size: [500, 500, 120.5], cellSize: 50 },
    ),
    tickHz: fc.integer({ min: 1, max: 120 }),
    snapshotHz: fc.integer({ min: 1, max: 120 }),
    aoiRadius: fc.double({ min: 0.5, max: 1000, noNaN: true }),
  }, plainRecord),
  fc.record({
    op: fc.constant(Op.DIFF),
    tick: fc.nat(),
    ack: fc.integer({ min: 0, max: MAX_SEQ }),
    full: fc.constant(true),
    enter: fc.array(
      fc.oneof(
        fc.tuple(id, fc.constantFrom("npc", "player"), finite, finite, finite),
        fc.tuple(id, fc.constantFrom("npc", "player"), finite, finite, finite, data),
      ),
      { maxLength: 4 },
    ),
    update: fc.array(
      fc.oneof(
        xyz.chain(([x, y, z]) => id.map((i) => [i, x, y, z] as [number, number, number, number])),
        fc.tuple(id, finite, finite, finite, data),
      ),
      { maxLength: 4 },
    ),
    leave: fc.array(id, { maxLength: 4 }),
  }, {
    requiredKeys: ["op", "tick", "ack", "enter", "update", "leave"],
    noNullPrototype: true,
  }),
  fc.record({
    op: fc.constant(Op.CHAT),
    from: fc.stringMatching(/^[A-Za-z0-9_]{1,32}$/),
    channel,
    text: chatText,
    time: fc.nat(),
  }, plainRecord),
  fc.record({ op: fc.constant(Op.PONG), t: finite, serverTime: finite }, plainRecord),
  fc.record({
    op: fc.constant(Op.ERROR),
    code: fc.constantFrom(...Object.values(ErrorCode)),
    message: fc.string({ maxLength: 80 }),
  }, plainRecord),
);

/** Asserts that decoding `input` throws a FrameError with `code` and a message matching `pattern`. */
function rejects(
  input: Uint8Array | string,
  pattern: RegExp,
  code: string = ErrorCode.BAD_FRAME,
  maxBytes = DEFAULT_MAX_FRAME_BYTES,
): void {
  assert.throws(() => decodeClientFrame(input, { maxBytes }), (error: unknown) => {
    assert.ok(error instanceof FrameError, `expected a FrameError, got ${error}`);
    assert.equal(error.name, "FrameError");
    assert.equal(error.code, code);
    assert.match(error.message, pattern);
    return true;
  });
}

/** The same value as a JSON text frame and as a msgpack binary frame. */
function both(value: unknown): [string, Uint8Array] {
  return [JSON.stringify(value), packFrame(value)];
}

Deno.test("every client message survives a msgpack and a JSON round trip", () => {
  fc.assert(
    fc.property(clientMessage, fc.constantFrom(...FORMATS), (message, format) => {
      const frame = encodeClientFrame(message, format);
      assert.equal(typeof frame, format === "json" ? "string" : "object");
      assert.deepEqual(decodeClientFrame(frame, LIMIT), message);
    }),
    { numRuns: 2000 },
  );
});

Deno.test("every server message survives a msgpack and a JSON round trip", () => {
  fc.assert(
    fc.property(serverMessage, fc.constantFrom(...FORMATS), (message, format) => {
      assert.deepEqual(decodeServerFrame(encodeServerFrame(message, format)), message);
    }),
    { numRuns: 2000 },
  );
});

Deno.test("a DIFF without full leaves the field out and an undefined field is never encoded", () => {
  const diff: DiffMessage = {
    op: Op.DIFF,
    tick: 9,
    ack: 0,
    full: undefined,
    enter: [],
    update: [],
    leave: [3],
  };
  assert.equal(
    encodeServerFrame(diff, "json"),
    '{"op":6,"tick":9,"ack":0,"enter":[],"update":[],"leave":[3]}',
  );
  const decoded = decodeServerFrame(encodeServerFrame({ ...diff, full: false }, "msgpack"));
  assert.equal(Object.hasOwn(decoded, "full"), false);
});

Deno.test("every frame of the session transcript in docs/protocol.md decodes", async () => {
  const doc = await Deno.readTextFile(new URL("../../docs/protocol.md", import.meta.url));
  const transcript = doc.slice(doc.indexOf("## A complete session in JSON"));
  const sent = [...transcript.matchAll(/^→ (\{.*\})$/gm)].map((m) => m[1]);
  const received = [...transcript.matchAll(/^← (\{.*\})$/gm)].map((m) => m[1]);
  assert.equal(received.length, 10);
  const ops = sent.map((frame) => {
    try {
      return decodeClientFrame(frame, LIMIT).op;
    } catch (error) {
      return (error as FrameError).code; // the transcript shows one bad frame on purpose
    }
  });
  assert.deepEqual(ops, [Op.HELLO, Op.INPUT, Op.INPUT, Op.CHAT, Op.PING, "BAD_FRAME", Op.HELLO]);
  for (const frame of received) decodeServerFrame(frame);
});

Deno.test("binary frames arrive as ArrayBuffer from Deno's WebSocket and decode the same", () => {
  const bytes = packFrame({ op: Op.PING, t: 1 });
  const buffer = bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength);
  assert.deepEqual(decodeClientFrame(buffer as ArrayBuffer, LIMIT), { op: Op.PING, t: 1 });
  const withRtt = packFrame({ op: Op.PING, t: 1, rtt: 12.5 });
  assert.deepEqual(decodeClientFrame(withRtt, LIMIT), { op: Op.PING, t: 1, rtt: 12.5 });
});

Deno.test("unknown ops, wrong types and bad shapes are BAD_FRAME naming the field", () => {
  const cases: Array<[unknown, RegExp]> = [
    [
      { op: 99 },
      /op must be 1 \(HELLO\), 2 \(INPUT\), 3 \(CHAT\), 4 \(PING\) or 9..13 \(rooms\), got 99/,
    ],
    [{ op: Op.CREATE, ref: 1 }, /CREATE is missing the field "mode"/],
    [{ op: Op.CREATE, ref: 1, mode: "1x" }, /CREATE.mode must be 1..64 characters, a letter/],
    [{ op: Op.CREATE, ref: -1, mode: "duel" }, /CREATE.ref must be an integer in 0..4294967295/],
    [{ op: Op.CREATE, ref: 1, mode: "duel", options: [1] }, /CREATE.options must be a map/],
    [{ op: Op.CREATE, ref: 1, mode: "duel", maxPlayers: 0 }, /CREATE.maxPlayers must be/],
    [{ op: Op.CREATE, ref: 1, mode: "duel", tags: ["a b"] }, /CREATE.tags\[0\] must be 1..32/],
    [
      { op: Op.CREATE, ref: 1, mode: "duel", tags: Array(9).fill("a") },
      /CREATE.tags must have 0..8 elements, got 9/,
    ],
    [{ op: Op.CREATE, ref: 1, mode: "duel", owner: "me" }, /CREATE has an unknown field "owner"/],
    [{ op: Op.SEARCH, ref: 1, limit: 101 }, /SEARCH.limit must be an integer in 1..100/],
    [{ op: Op.SEARCH, ref: 1, after: "x y" }, /SEARCH.after must be an instance id/],
    [{ op: Op.JOIN, ref: 1 }, /JOIN must carry exactly one of "instance" and "mode"/],
    [{ op: Op.JOIN, ref: 1, instance: "i1", mode: "duel" }, /exactly one of/],
    [{ op: Op.CREATE, ref: 1, mode: "duel", region: "eu west" }, /CREATE.region must be 1..64/],
    [{ op: Op.SEARCH, ref: 1, region: "" }, /SEARCH.region must be 1..64/],
    [{ op: Op.JOIN, ref: 1, instance: "i1", region: "eu" }, /JOIN.region goes with "mode"/],
    [{ op: Op.LEAVE, ref: 1, instance: "i1" }, /LEAVE has an unknown field "instance"/],
    [{ op: Op.DESTROY, ref: 1 }, /DESTROY is missing the field "instance"/],
    [{ op: Op.WELCOME }, /op must be .* got 5/],
    [{ t: 1 }, /op must be .* got nothing/],
    [{ op: "4", t: 1 }, /got "4"/],
    [[Op.PING, 1], /top level must be a map, got an array of 2/],
    ["ping", /top level must be a map, got "ping"/],
    [null, /top level must be a map, got null/],
    [{ op: Op.PING, t: "1" }, /PING.t must be a finite number, got "1"/],
    [{ op: Op.PING, t: 1, extra: true }, /PING has an unknown field "extra"/],
    [{ op: Op.PING }, /PING is missing the field "t"/],
    [{ op: Op.PING, t: 1, rtt: -1 }, /PING.rtt must be a number in 0..600000, got -1/],
    [{ op: Op.PING, t: 1, rtt: 600_001 }, /PING.rtt must be/],
    [{ op: Op.PING, t: 1, rtt: "5" }, /PING.rtt must be/],
    [{ op: Op.INPUT, seq: 1 }, /INPUT is missing the field "intent"/],
    [
      { op: Op.INPUT, seq: 0, intent: { move: [0, 0] } },
      /INPUT.seq must be an integer in 1..4294967295, got 0/,
    ],
    [{ op: Op.INPUT, seq: 2 ** 32, intent: { move: [0, 0] } }, /INPUT.seq must be an integer/],
    [{ op: Op.INPUT, seq: 1.5, intent: { move: [0, 0] } }, /INPUT.seq must be an integer/],
    [{ op: Op.INPUT, seq: -1, intent: { move: [0, 0] } }, /INPUT.seq must be an integer/],
    [{ op: Op.INPUT, seq: 1, intent: [0, 0] }, /INPUT.intent must be a map, got an array of 2/],
    [
      { op: Op.INPUT, seq: 1, intent: { move: [0] } },
      /INPUT.intent.move must have 2..3 elements, got 1/,
    ],
    [{ op: Op.INPUT, seq: 1, intent: { move: [0, 0, 0, 0] } }, /must have 2..3 elements, got 4/],
    [
      { op: Op.INPUT, seq: 1, intent: { move: [0, 1.01] } },
      /INPUT.intent.move\[1\] must be a number in -1..1, got 1.01/,
    ],
    [
      { op: Op.INPUT, seq: 1, intent: { move: [0, null] } },
      /INPUT.intent.move\[1\] must be a number in -1..1, got null/,
    ],
    [
      { op: Op.INPUT, seq: 1, intent: { move: [0, 0], jump: true } },
      /INPUT.intent has an unknown field "jump"/,
    ],
    [
      { op: Op.INPUT, seq: 1, intent: { move: [0, 0], action: "" } },
      /INPUT.intent.action must be 1..32 characters/,
    ],
    [{ op: Op.INPUT, seq: 1, intent: { move: [0, 0], action: "a b" } }, /INPUT.intent.action/],
    [{ op: Op.INPUT, seq: 1, intent: { move: [0, 0], action: 1 } }, /INPUT.intent.action/],
    [
      { op: Op.CHAT, channel: "team", text: "hi" },
      /CHAT.channel must be one of "global", "nearby", "instance", got "team"/,
    ],
    [{ op: Op.CHAT, channel: "global", text: "" }, /CHAT.text must be 1..500 characters, got 0/],
    [
      { op: Op.CHAT, channel: "global", text: "x".repeat(501) },
      /CHAT.text must be 1..500 characters, got 501/,
    ],
    [
      { op: Op.CHAT, channel: "global", text: "x".repeat(5000) },
      /CHAT.text must be 1..500 characters, got more/,
    ],
    [
      { op: Op.CHAT, channel: "global", text: "a\u0000b" },
      /CHAT.text contains a control character/,
    ],
    [{ op: Op.CHAT, channel: "global", text: 7 }, /CHAT.text must be a string, got 7/],
    [{ op: Op.HELLO, protocol: 1 }, /HELLO must carry exactly one of "token" and "resumeToken"/],
    [{ op: Op.HELLO, protocol: 1, token: "a", resumeToken: "b" }, /exactly one of/],
    [{ op: Op.HELLO, token: "a" }, /HELLO is missing the field "protocol"/],
    [{ op: Op.HELLO, protocol: 1, token: "a b" }, /HELLO.token must be 1..1024 characters of/],
    [{ op: Op.HELLO, protocol: 1, token: "" }, /HELLO.token must be/],
    [{ op: Op.HELLO, protocol: 1, resumeToken: "a".repeat(1025) }, /HELLO.resumeToken must be/],
    [{ op: Op.HELLO, protocol: 1, token: "a", name: "x" }, /HELLO has an unknown field "name"/],
  ];
  for (const [value, pattern] of cases) {
    for (const frame of both(value)) rejects(frame, pattern);
  }
  // Emoji count as one character each: 500 of them (1000 UTF-16 units) are allowed.
  const emoji = { op: Op.CHAT, channel: "global", text: "😀".repeat(500) };
  assert.equal(decodeClientFrame(JSON.stringify(emoji), LIMIT).op, Op.CHAT);
});

Deno.test("non-finite numbers are BAD_FRAME in both formats", () => {
  rejects('{"op":4,"t":1e999}', /contains a non-finite number/);
  rejects('{"op":2,"seq":1,"intent":{"move":[-1e400,0]}}', /contains a non-finite number/);
  for (const value of [NaN, Infinity, -Infinity]) {
    // Written as float 64 by hand: the frame writer refuses to encode them.
    const bytes = new Uint8Array([
      0x82,
      0xa2,
      0x6f,
      0x70,
      0x04,
      0xa1,
      0x74,
      0xcb,
      0,
      0,
      0,
      0,
      0,
      0,
      0,
      0,
    ]);
    new DataView(bytes.buffer).setFloat64(8, value);
    rejects(bytes, new RegExp(`t must be a finite number, got ${value}`));
  }
});

Deno.test("undecodable JSON and msgpack, empty frames and trailing bytes are BAD_FRAME", () => {
  rejects("", /frame is empty/);
  rejects(new Uint8Array(0), /frame is empty/);
  rejects('{"op":4,"t":1', /not valid JSON/);
  rejects('{"op":4,"t":1}}', /not valid JSON/);
  rejects('{"op":4,"t":"\\ud800"}', /t is not valid Unicode \(an unpaired surrogate escape\)/);
  rejects(
    '{"op":3,"channel":"global","text":"\\ud800"}',
    /Cannot decode frame: text is not valid Unicode/,
  );
  const ping = packFrame({ op: Op.PING, t: 1 });
  rejects(ping.subarray(0, ping.length - 1), /t is cut short/);
  rejects(new Uint8Array([...ping, 0x00]), /frame has 1 bytes after its value/);
  rejects(new Uint8Array([...ping, ...ping]), /frame has \d+ bytes after its value/);
  // A map header that promises more entries than the frame holds.
  rejects(new Uint8Array([0xdf, 0xff, 0xff, 0xff, 0xff]), /frame is cut short/);
  rejects(new Uint8Array([0xdd, 0xff, 0xff, 0xff, 0xff]), /frame is cut short/);
});

Deno.test("msgpack extensions, bigints, binary and deep nesting are BAD_FRAME", () => {
  // { op: 4, t: <value> } with the value's bytes spliced in.
  const pingWith = (value: number[]) =>
    new Uint8Array([0x82, 0xa2, 0x6f, 0x70, 0x04, 0xa1, 0x74, ...value]);
  assert.deepEqual(decodeClientFrame(pingWith([0x01]), LIMIT), { op: Op.PING, t: 1 });
  const extension = /t must not be an extension type/;
  rejects(pingWith([0xd6, 0xff, 0, 0, 0, 1]), extension); // timestamp
  rejects(pingWith([0xd4, 0x00, 0x00]), extension); // msgpackr's undefined
  rejects(pingWith([0xd4, 0x05, 0x00]), extension);
  rejects(pingWith([0xd4, 0x74, 0x00]), extension);
  rejects(pingWith([0xc7, 0x00, 0x74]), extension);
  rejects(
    pingWith([0xcf, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff]),
    /t must be an integer in -\(2\^53-1\)\.\.2\^53-1, got 18446744073709551615/,
  );
  rejects(pingWith([0xc4, 0x01, 0x01]), /t must not be a binary value/);
  const deep = new Uint8Array([...pingWith([]), ...new Array(2000).fill(0x91), 0x01]);
  rejects(deep, /nests deeper than 16 levels/);
  rejects("[".repeat(3000) + "]".repeat(3000), /nesting deeper than 16/);
  // Map keys must be strings.
  rejects(
    new Uint8Array([0x82, 0xa2, 0x6f, 0x70, 0x04, 0x01, 0x01]),
    /frame has a key that is not a string/,
  );
  // "__proto__" is only ever a field name, never a prototype.
  rejects('{"op":4,"t":1,"__proto__":{"x":1}}', /PING has an unknown field "__proto__"/);
});

Deno.test("the reserved byte 0xc1 is rejected in place of every value of every message", () => {
  const marker = "C1MARK!"; // encodes as 0xa7 followed by its 7 ASCII bytes
  const markerBytes = [0xa7, ...new TextEncoder().encode(marker)];
  const messages: unknown[] = [
    { op: Op.HELLO, protocol: 1, token: "abc" },
    { op: Op.HELLO, protocol: 1, resumeToken: "abc" },
    { op: Op.INPUT, seq: 5, intent: { move: [0.5, -0.25, 1], action: "bump" } },
    { op: Op.CHAT, channel: "global", text: "hi" },
    { op: Op.PING, t: 12.5 },
  ];
  let positions = 0;
  for (const message of messages) {
    for (const path of valuePaths(message)) {
      const bytes = packFrame(replaceAt(message, path, marker));
      const at = indexOf(bytes, markerBytes);
      assert.ok(at >= 0, `marker at ${path.join(".")}`);
      const spliced = new Uint8Array([
        ...bytes.subarray(0, at),
        0xc1,
        ...bytes.subarray(at + markerBytes.length),
      ]);
      rejects(spliced, /Cannot decode frame: \S+ contains the reserved byte 0xc1/);
      positions++;
    }
  }
  assert.equal(positions, 24); // every value, container and the top level
  rejects(new Uint8Array([0xc1]), /reserved byte 0xc1/);
  rejects(new Uint8Array([0x81, 0xc1, 0x01]), /has a key that is not a string/); // as a map key
});

Deno.test("frames over the limit are TOO_BIG (close 1009), counted in UTF-8 bytes for text", () => {
  const text = { op: Op.CHAT, channel: "global", text: "é".repeat(300) };
  const [json, bytes] = both(text);
  assert.equal(decodeClientFrame(json, { maxBytes: 1000 }).op, Op.CHAT);
  // 300 characters, but 600 bytes of UTF-8 text inside the frame.
  rejects(json, /length 637 exceeds the maximum of 600 bytes/, "TOO_BIG", 600);
  rejects(bytes, /length \d+ exceeds the maximum of 600 bytes/, "TOO_BIG", 600);
  rejects(
    new Uint8Array(70000),
    /length 70000 exceeds the maximum of 65536 bytes/,
    "TOO_BIG",
    65536,
  );
  assert.equal(closeCodeFor(ErrorCode.TOO_BIG), CloseCode.TOO_BIG);
  assert.equal(closeCodeFor(ErrorCode.BAD_FRAME), CloseCode.BAD_DATA);
});

Deno.test("a HELLO of another protocol version is UNSUPPORTED_PROTOCOL whatever else it carries", () => {
  for (const frame of both({ op: Op.HELLO, protocol: 2, ticket: { any: "shape" } })) {
    rejects(frame, /protocol 2 is not supported, this server speaks 1/, "UNSUPPORTED_PROTOCOL");
  }
  assert.equal(closeCodeFor(ErrorCode.UNSUPPORTED_PROTOCOL), 4007);
});

Deno.test("every connection-ending error code has its own close code", () => {
  const expected: Array<[ErrorCode, number]> = [
    [ErrorCode.BAD_FRAME, 1007],
    [ErrorCode.BAD_REQUEST, 1008],
    [ErrorCode.TOO_BIG, 1009],
    [ErrorCode.INTERNAL, 1011],
    [ErrorCode.UNAUTHENTICATED, 4001],
    [ErrorCode.TOKEN_EXPIRED, 4001],
    [ErrorCode.RESUME_FAILED, 4002],
    [ErrorCode.IDLE_TIMEOUT, 4003],
    [ErrorCode.SLOW_CONSUMER, 4004],
    [ErrorCode.RATE_LIMITED, 4005],
    [ErrorCode.SESSION_TAKEN_OVER, 4006],
  ];
  for (const [code, close] of expected) assert.equal(closeCodeFor(code), close, code);
});

Deno.test("the format query parameter picks msgpack or json and refuses anything else", () => {
  assert.equal(frameFormatOf(new URL("ws://h:1/ws")), "msgpack");
  assert.equal(frameFormatOf(new URL("ws://h:1/ws?format=msgpack")), "msgpack");
  assert.equal(frameFormatOf(new URL("ws://h:1/ws?format=json")), "json");
  assert.throws(
    () => frameFormatOf(new URL("ws://h:1/ws?format=xml")),
    (error: unknown) => error instanceof CodedError && error.code === "BAD_REQUEST",
  );
});

Deno.test("fuzz: 12,000 hostile inputs only ever decode to a valid message or throw FrameError", () => {
  const seen = { accepted: 0, rejected: 0 };
  const check = (input: Uint8Array | string) => {
    let message: ClientMessage;
    try {
      message = decodeClientFrame(input, { maxBytes: 512 });
    } catch (error) {
      if (!(error instanceof FrameError)) throw error;
      assert.ok(["BAD_FRAME", "TOO_BIG", "UNSUPPORTED_PROTOCOL"].includes(error.code));
      seen.rejected++;
      return;
    }
    // Whatever was accepted is a well-formed message: it survives its own round trip.
    assert.ok([Op.HELLO, Op.INPUT, Op.CHAT, Op.PING].includes(message.op as 1));
    for (const format of FORMATS) {
      assert.deepEqual(
        decodeClientFrame(encodeClientFrame(message, format), LIMIT),
        JSON.parse(JSON.stringify(message)),
      );
    }
    seen.accepted++;
  };
  const fieldNames = fc.constantFrom(
    "op",
    "seq",
    "intent",
    "move",
    "action",
    "t",
    "channel",
    "text",
    "token",
    "resumeToken",
    "protocol",
  );
  const clientLike = fc.tuple(
    fc.integer({ min: 0, max: 9 }),
    fc.dictionary(fieldNames, fc.oneof(fc.anything(), unit, token, channel), { maxKeys: 4 }),
  ).map(([op, fields]) => ({ op, ...fields }));
  const mutate = (bytes: Uint8Array, at: number, byte: number, how: number): Uint8Array => {
    const i = bytes.length === 0 ? 0 : at % bytes.length;
    const copy = [...bytes];
    if (how === 0) copy[i] = byte;
    else if (how === 1) copy.splice(i, 0, byte);
    else if (how === 2) copy.splice(i, 1);
    else if (how === 3) copy.length = i;
    else copy[i] = 0xc1;
    return new Uint8Array(copy);
  };
  const mutation = fc.tuple(
    fc.nat(),
    fc.integer({ min: 0, max: 255 }),
    fc.integer({ min: 0, max: 4 }),
  );
  const generators: Array<fc.Arbitrary<Uint8Array | string>> = [
    // Random bytes, some behind a map header so the decoder gets further.
    fc.oneof(
      fc.uint8Array({ maxLength: 64 }),
      fc.uint8Array({ maxLength: 64 }).map((b) => new Uint8Array([0x82, 0xa2, 0x6f, 0x70, ...b])),
    ),
    // msgpack of random values, and of random client-like maps.
    fc.oneof(fc.anything(), clientLike).map((value) => packFrame(value)),
    // Valid frames with a byte flipped, inserted, deleted, cut or replaced by 0xc1.
    fc.tuple(clientMessage, mutation).map(([message, [at, byte, how]]) =>
      mutate(encodeClientFrame(message, "msgpack"), at, byte, how)
    ),
    // Random JSON, random text and valid JSON frames with a character changed or cut.
    fc.oneof(
      fc.json(),
      fc.string({ maxLength: 64 }),
      clientLike.map((value) => JSON.stringify(value)),
      fc.tuple(clientMessage, fc.nat(), fc.string({ maxLength: 2 }), fc.boolean()).map(
        ([message, at, insert, cut]) => {
          const json = JSON.stringify(message);
          const i = at % json.length;
          return cut ? json.slice(0, i) : json.slice(0, i) + insert + json.slice(i + 1);
        },
      ),
    ),
  ];
  for (const generator of generators) {
    fc.assert(fc.property(generator, (input) => check(input)), { numRuns: 3000 });
  }
  assert.equal(seen.accepted + seen.rejected, 12_000);
  // The generators reach both outcomes, so the fuzz exercises the validators, not just the parser.
  assert.ok(seen.accepted > 100, `accepted ${seen.accepted}`);
  assert.ok(seen.rejected > 6000, `rejected ${seen.rejected}`);
});

// ---- helpers ----------------------------------------------------------------------------------

function valuePaths(
  value: unknown,
  path: Array<string | number> = [],
): Array<Array<string | number>> {
  const paths: Array<Array<string | number>> = [path];
  if (Array.isArray(value)) {
    value.forEach((item, i) => paths.push(...valuePaths(item, [...path, i])));
  } else if (value !== null && typeof value === "object") {
    for (const [key, item] of Object.entries(value)) {
      paths.push(...valuePaths(item, [...path, key]));
    }
  }
  return paths;
}

function replaceAt(value: unknown, path: Array<string | number>, replacement: unknown): unknown {
  if (path.length === 0) return replacement;
  const copy = structuredClone(value) as Record<string | number, unknown>;
  let node = copy;
  for (const step of path.slice(0, -1)) node = node[step] as Record<string | number, unknown>;
  node[path[path.length - 1]] = replacement;
  return copy;
}

function indexOf(haystack: Uint8Array, needle: number[]): number {
  outer: for (let i = 0; i + needle.length <= haystack.length; i++) {
    for (let j = 0; j < needle.length; j++) if (haystack[i + j] !== needle[j]) continue outer;
    return i;
  }
  return -1;
}

Deno.test("the msgpack bytes quoted in docs/protocol.md are what the codec reads and writes", () => {
  const hex = (s: string) => new Uint8Array(s.split(" ").map((b) => parseInt(b, 16)));
  assert.deepEqual(decodeClientFrame(hex("82 a2 6f 70 04 a1 74 01"), LIMIT), { op: Op.PING, t: 1 });
  assert.deepEqual(
    decodeClientFrame(hex("82 a2 6f 70 04 a1 74 cf 00 00 01 9b 71 b5 36 db"), LIMIT),
    { op: Op.PING, t: 1_767_139_260_123 },
  );
  const diff = encodeServerFrame({
    op: Op.DIFF,
    tick: 1,
    ack: 0,
    enter: [[4294967301, "player", 500, 500, 0]],
    update: [],
    leave: [],
  }, "msgpack");
  const id = hex("cf 00 00 00 01 00 00 00 05");
  assert.ok(diff.some((_, i) => id.every((b, k) => diff[i + k] === b)), "the id as uint 64");
});

Deno.test("JSON frames: a BOM, a repeated key are BAD_FRAME; a whole float is an integer", () => {
  rejects('\ufeff{"op":4,"t":1}', /not valid JSON/);
  rejects('{"op":4,"t":1,"t":2}', /frame has the key "t" twice in one map/);
  rejects('{"op":4,"t":1,"x":{"a":1,"\\u0061":2}}', /the key "a" twice/);
  // The same key in different maps, and key-like strings inside values, are fine.
  assert.deepEqual(
    decodeClientFrame('{"op":3,"channel":"global","text":"\\"text\\": x"}', LIMIT),
    { op: Op.CHAT, channel: "global", text: '"text": x' },
  );
  assert.deepEqual(decodeClientFrame('{"op":2,"seq":1.0,"intent":{"move":[0,0]}}', LIMIT), {
    op: Op.INPUT,
    seq: 1,
    intent: { move: [0, 0] },
  });
});

Deno.test("chat refuses C0, DEL and C1 control characters, newlines included, and accepts format characters", () => {
  for (const bad of ["a\nb", "a\tb", "a\u007fb", "a\u0085b", "a\u009fb"]) {
    rejects(
      JSON.stringify({ op: Op.CHAT, channel: "global", text: bad }),
      /CHAT.text contains a control character/,
    );
  }
  for (const good of ["zero\u200bwidth", "bidi \u202eevil", "\ufeffbom", "joiner \u200d"]) {
    const chat = { op: Op.CHAT, channel: "global", text: good };
    for (const frame of both(chat)) assert.deepEqual(decodeClientFrame(frame, LIMIT), chat);
  }
});
