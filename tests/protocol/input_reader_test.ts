// The reader kit: one set of checks, phrased once, reported in each input's own error style.
import assert from "node:assert/strict";
import { BatchError, ConfigError } from "../../src/errors.ts";
import { FrameError, frameFields } from "../../src/protocol/frame_reader.ts";
import { peerFields } from "../../src/protocol/peer_reader.ts";
import { configFields } from "../../src/config/config_fields.ts";
import {
  describe,
  inputReader,
  type InputStyle,
  isPlainObject,
  MAX_DATA_DEPTH,
  plainDataProblem,
} from "../../src/protocol/input_reader.ts";

/** A style that records instead of throwing a domain error, to see exactly what readers say. */
function recorder() {
  const seen: string[] = [];
  const style: InputStyle = {
    mismatch(field, expected, value) {
      seen.push(`${field} | ${expected} | ${describe(value)}`);
      throw new TypeError("mismatch");
    },
    problem(field, problem) {
      seen.push(`${field} | ${problem}`);
      throw new TypeError("problem");
    },
  };
  return { read: inputReader(style), seen };
}

Deno.test("each reader returns what it checked and names field, expectation and value otherwise", () => {
  const { read, seen } = recorder();
  assert.equal(read.integer(7, "n", 1, 9), 7);
  assert.equal(read.finite(-0.5, "f", -1, 1), -0.5);
  assert.equal(read.text("héllo", "t", 1, 5), "héllo");
  assert.deepEqual(read.tuple([1, 2], "p", 2), [1, 2]);
  const bad: Array<() => unknown> = [
    () => read.integer(1.5, "n"),
    () => read.integer(-1, "n"),
    () => read.integer(10, "n", 1, 9),
    () => read.integer(-5.5, "n", -Infinity),
    () => read.integer(2, "n", 3),
    () => read.finite(Infinity, "f"),
    () => read.finite(2, "f", -1, 1),
    () => read.finite(-1, "f", 0),
    () => read.positive(0, "p"),
    () => read.boolean("yes", "b"),
    () => read.string("", "s", 1),
    () => read.string("x".repeat(9), "s", 1, 8),
    () => read.text("", "t", 1, 5),
    () => read.text("a\u0007", "t", 1, 5),
    () => read.text("\ud800", "t", 1, 5),
    () => read.token("a b", "k", 10),
    () => read.oneOf("c", "o", ["a", "b"]),
    () => read.array({}, "a"),
    () => read.array([1], "a", 2, 3),
    () => read.tuple([1, 2, 3], "r", 2),
    () => read.map([], "m"),
    () => read.plain({ d: new Date(0) }, "d"),
    () => read.exactKeys({ a: 1, z: 2 }, "M", ["a"]),
    () => read.exactKeys({}, "M", ["a"]),
  ];
  for (const run of bad) assert.throws(run, TypeError);
  assert.deepEqual(seen, [
    "n | a non-negative integer | 1.5",
    "n | a non-negative integer | -1",
    "n | an integer in 1..9 | 10",
    "n | an integer | -5.5",
    "n | an integer >= 3 | 2",
    "f | a finite number | Infinity",
    "f | a number in -1..1 | 2",
    "f | a number >= 0 | -1",
    "p | a number > 0 | 0",
    'b | a boolean | "yes"',
    's | a non-empty string | ""',
    `s | a string of 1..8 characters | "${"x".repeat(9)}"`,
    "t | must be 1..5 characters, got 0",
    "t | contains a control character",
    "t | contains an unpaired surrogate",
    'k | 1..10 characters of A-Z a-z 0-9 . _ - | "a b"',
    'o | one of "a", "b" | "c"',
    "a | an array | a map",
    "a | must have 2..3 elements, got 1",
    "r | must have 2 fields, got 3",
    "m | a map | an array of 0",
    "d | contains an unsupported value (Date)",
    'M | has an unknown field "z"',
    'M | is missing the field "a"',
  ]);
});

Deno.test("the same bad value reads alike in every input's own error class", () => {
  const cases: Array<[() => unknown, new (...args: never[]) => Error, string]> = [
    [
      () => frameFields.integer(-1, "INPUT.seq"),
      FrameError,
      "Cannot decode frame: INPUT.seq must be a non-negative integer, got -1",
    ],
    [
      () => peerFields.integer(-1, "tick"),
      BatchError,
      "Cannot decode batch: tick must be a non-negative integer, got -1",
    ],
    [
      () => configFields.integer(-1, "port"),
      ConfigError,
      "CONFIG_INVALID: port: expected a non-negative integer, got -1",
    ],
  ];
  for (const [run, type, message] of cases) {
    assert.throws(run, (error: unknown) => {
      assert.ok(error instanceof type, String(error));
      assert.equal((error as Error).message, message);
      return true;
    });
  }
});

Deno.test("plain data is nil, booleans, finite numbers, strings, binary, arrays and maps, not too deep", () => {
  assert.equal(
    plainDataProblem({ a: [1, "x", null, true, new Uint8Array(2), { b: -0.5 }] }),
    undefined,
  );
  assert.equal(plainDataProblem([NaN]), "a non-finite number");
  assert.equal(plainDataProblem(new Int8Array(1)), "an unsupported value (Int8Array)");
  assert.equal(plainDataProblem(new Map()), "an unsupported value (Map)");
  let deep: unknown = 1;
  for (let n = 0; n <= MAX_DATA_DEPTH; n++) deep = [deep];
  assert.equal(plainDataProblem(deep), `nesting deeper than ${MAX_DATA_DEPTH}`);
  assert.equal(plainDataProblem((deep as unknown[])[0]), undefined);
  assert.equal(isPlainObject(Object.create(null)), true);
  assert.equal(isPlainObject(new (class Thing {})()), false);
  assert.equal(describe(new Date(0)), "an unsupported value (Date)");
});
