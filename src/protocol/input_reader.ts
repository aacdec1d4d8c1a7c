// The one kit for reading untrusted input (client frames, peer batches, session links, config
// files, flags): typed field readers that name the offending field, over an error style.
//
// Each kind of input chooses its error class and message style once (an {@linkcode InputStyle});
// the readers only decide what is wrong. Success paths build no strings.

/**
 * How one kind of input reports a bad field. Both methods throw; they never return.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * const style: InputStyle = {
 *   mismatch: (field, expected, value) => {
 *     throw new TypeError(`${field} must be ${expected}, got ${describe(value)}`);
 *   },
 *   problem: (field, problem) => {
 *     throw new TypeError(`${field} ${problem}`);
 *   },
 * };
 * const read = inputReader(style);
 * assert.equal(read.integer(3, "n", 0, 9), 3);
 * assert.throws(() => read.integer(12, "n", 0, 9), /n must be an integer in 0\.\.9, got 12/);
 * ```
 */
export interface InputStyle {
  /** `field` holds `value` where `expected` ("an integer in 0..9") was required. */
  mismatch(field: string, expected: string, value: unknown): never;
  /** Any other problem with `field`, phrased to follow it ("contains a control character"). */
  problem(field: string, problem: string, cause?: unknown): never;
}

/** The typed field readers of one {@linkcode InputStyle}; each returns the value it checked. */
export interface InputReader {
  /** The style the readers report through, for checks of the caller's own. */
  readonly style: InputStyle;
  /** A safe integer in `min..max` (defaults: 0..2^53-1). */
  integer(value: unknown, field: string, min?: number, max?: number): number;
  /** A finite number, optionally within `min..max`. */
  finite(value: unknown, field: string, min?: number, max?: number): number;
  /** A finite number above 0. */
  positive(value: unknown, field: string): number;
  /** `true` or `false`. */
  boolean(value: unknown, field: string): boolean;
  /** A string of `min..max` UTF-16 units (defaults: any length). */
  string(value: unknown, field: string, min?: number, max?: number): string;
  /**
   * A well-formed string of `min..max` Unicode code points without control characters
   * (U+0000–U+001F, U+007F–U+009F), so it can be shown and re-encoded as UTF-8 unchanged.
   */
  text(value: unknown, field: string, min: number, max: number): string;
  /** A token: 1..`max` characters of A-Z a-z 0-9 . _ - (base64url and dots). */
  token(value: unknown, field: string, max: number): string;
  /** One of the listed strings. */
  oneOf<T extends string>(value: unknown, field: string, allowed: readonly T[]): T;
  /** An array of `min..max` elements (defaults: any length). */
  array(value: unknown, field: string, min?: number, max?: number): unknown[];
  /** An array of exactly `length` positional fields (a wire record). */
  tuple(value: unknown, field: string, length: number): unknown[];
  /** A map (plain object with string keys). */
  map(value: unknown, field: string): Record<string, unknown>;
  /** Plain msgpack data (see {@linkcode plainDataProblem}). */
  plain(value: unknown, field: string): unknown;
  /** Rejects any key outside `required` and `optional`, and any missing required key. */
  exactKeys(
    map: Record<string, unknown>,
    field: string,
    required: readonly string[],
    optional?: readonly string[],
  ): void;
}

/**
 * Builds the field readers of one input style, once per kind of input (a module constant), so
 * call sites stay one short call per field.
 */
export function inputReader(style: InputStyle): InputReader {
  return {
    style,
    integer(value, field, min = 0, max = Number.MAX_SAFE_INTEGER) {
      if (typeof value !== "number" || !Number.isSafeInteger(value) || value < min || value > max) {
        style.mismatch(field, integerExpected(min, max), value);
      }
      return value;
    },
    finite(value, field, min = -Infinity, max = Infinity) {
      if (typeof value !== "number" || !Number.isFinite(value) || value < min || value > max) {
        style.mismatch(field, finiteExpected(min, max), value);
      }
      return value;
    },
    positive(value, field) {
      if (typeof value !== "number" || !Number.isFinite(value) || value <= 0) {
        style.mismatch(field, "a number > 0", value);
      }
      return value;
    },
    boolean(value, field) {
      if (typeof value !== "boolean") style.mismatch(field, "a boolean", value);
      return value;
    },
    string(value, field, min = 0, max = Infinity) {
      if (typeof value !== "string" || value.length < min || value.length > max) {
        style.mismatch(field, stringExpected(min, max), value);
      }
      return value;
    },
    text(value, field, min, max) {
      if (typeof value !== "string") style.mismatch(field, "a string", value);
      // Each code point is one or two UTF-16 units: a cheap bound before counting.
      const count = value.length > 2 * max ? Infinity : codePoints(value);
      if (count < min || count > max) {
        style.problem(
          field,
          `must be ${min}..${max} characters, got ${count === Infinity ? "more" : count}`,
        );
      }
      if (!value.isWellFormed()) style.problem(field, "contains an unpaired surrogate");
      if (CONTROL.test(value)) style.problem(field, "contains a control character");
      return value;
    },
    token(value, field, max) {
      if (typeof value !== "string" || value.length > max || !TOKEN.test(value)) {
        style.mismatch(field, `1..${max} characters of A-Z a-z 0-9 . _ -`, value);
      }
      return value;
    },
    oneOf<T extends string>(value: unknown, field: string, allowed: readonly T[]): T {
      if (!(allowed as readonly unknown[]).includes(value)) {
        style.mismatch(field, `one of ${allowed.map((a) => `"${a}"`).join(", ")}`, value);
      }
      return value as T;
    },
    array(value, field, min = 0, max = Infinity) {
      if (!Array.isArray(value)) style.mismatch(field, "an array", value);
      if (value.length < min || value.length > max) {
        const count = min === max
          ? `${min}`
          : max === Infinity
          ? `at least ${min}`
          : `${min}..${max}`;
        style.problem(field, `must have ${count} elements, got ${value.length}`);
      }
      return value;
    },
    tuple(value, field, length) {
      if (!Array.isArray(value)) style.mismatch(field, "an array", value);
      if (value.length !== length) {
        style.problem(field, `must have ${length} fields, got ${value.length}`);
      }
      return value;
    },
    map(value, field) {
      if (!isPlainObject(value)) style.mismatch(field, "a map", value);
      return value;
    },
    plain(value, field) {
      const found = plainDataProblem(value);
      if (found) style.problem(field, `contains ${found}`);
      return value;
    },
    exactKeys(map, field, required, optional = []) {
      for (const key of Object.keys(map)) {
        if (!required.includes(key) && !optional.includes(key)) {
          style.problem(field, `has an unknown field ${describe(key)}`);
        }
      }
      for (const key of required) {
        if (!Object.hasOwn(map, key)) style.problem(field, `is missing the field "${key}"`);
      }
    },
  };
}

/**
 * The style of every decoder whose errors read `<prefix>: <field> must be <expected>, got
 * <value>`: `fail` turns the problem into the decoder's own error (with the prefix).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * const read = inputReader(decoderStyle((problem) => {
 *   throw new SyntaxError(`Cannot decode thing: ${problem}`);
 * }));
 * assert.throws(() => read.boolean(1, "ok"), /Cannot decode thing: ok must be a boolean, got 1/);
 * ```
 */
export function decoderStyle(fail: (problem: string, cause?: unknown) => never): InputStyle {
  return {
    mismatch(field, expected, value) {
      return fail(`${field} must be ${expected}, got ${describe(value)}`);
    },
    problem(field, problem, cause) {
      return fail(`${field} ${problem}`, cause);
    },
  };
}

function integerExpected(min: number, max: number): string {
  const unbounded = max >= Number.MAX_SAFE_INTEGER;
  if (min === 0 && unbounded) return "a non-negative integer";
  if (min <= -Number.MAX_SAFE_INTEGER && unbounded) return "an integer";
  if (unbounded) return `an integer >= ${min}`;
  return `an integer in ${min}..${max}`;
}

function finiteExpected(min: number, max: number): string {
  if (min === -Infinity && max === Infinity) return "a finite number";
  if (max === Infinity) return `a number >= ${min}`;
  if (min === -Infinity) return `a number <= ${max}`;
  return `a number in ${min}..${max}`;
}

function stringExpected(min: number, max: number): string {
  if (max === Infinity) return min > 0 ? "a non-empty string" : "a string";
  return `a string of ${min}..${max} characters`;
}

// Control characters are exactly what this rejects.
// deno-lint-ignore no-control-regex
const CONTROL = /[\u0000-\u001f\u007f-\u009f]/;
const TOKEN = /^[A-Za-z0-9._-]+$/;

function codePoints(value: string): number {
  let count = 0;
  for (let i = 0; i < value.length; i++) {
    const unit = value.charCodeAt(i);
    if (unit >= 0xd800 && unit <= 0xdbff && i + 1 < value.length) {
      const next = value.charCodeAt(i + 1);
      if (next >= 0xdc00 && next <= 0xdfff) i++;
    }
    count++;
  }
  return count;
}

/**
 * True for `{...}` objects (not arrays, binary or class instances): what JSON and msgpack maps
 * decode to.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * assert.equal(isPlainObject({ a: 1 }), true);
 * assert.equal(isPlainObject([1]), false);
 * assert.equal(isPlainObject(new Date()), false);
 * ```
 */
export function isPlainObject(value: unknown): value is Record<string, unknown> {
  if (typeof value !== "object" || value === null || Array.isArray(value)) return false;
  const proto = Object.getPrototypeOf(value);
  return proto === Object.prototype || proto === null;
}

/** A finite number: the inline success-path check of decoders (no field name built). */
export function isFiniteNumber(v: unknown): boolean {
  return typeof v === "number" && Number.isFinite(v);
}

/** An entity id: a non-negative safe integer (the inline success-path check of decoders). */
export function isEntityId(v: unknown): boolean {
  return typeof v === "number" && Number.isSafeInteger(v) && v >= 0;
}

/**
 * A short, safe rendering of a bad value for a decoder's error message (never the whole of a
 * hostile value).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * assert.equal(describe([1, 2]), "an array of 2");
 * assert.equal(describe("x".repeat(40)), `"${"x".repeat(32)}"...`);
 * ```
 */
export function describe(value: unknown): string {
  if (value === null) return "null";
  if (value === undefined) return "nothing";
  if (Array.isArray(value)) return `an array of ${value.length}`;
  if (value instanceof Uint8Array) return "binary";
  if (typeof value === "string") {
    return value.length > 32 ? `${JSON.stringify(value.slice(0, 32))}...` : JSON.stringify(value);
  }
  if (typeof value === "object") {
    return isPlainObject(value) ? "a map" : plainDataProblem(value) ?? "an object";
  }
  return String(value);
}

/** The text of a caught error, for the "(reason)" part of a message. */
export function errorText(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

/** Deepest nesting accepted inside plain data (game data, frames). */
export const MAX_DATA_DEPTH = 16;

/**
 * Why `value` is not plain msgpack data (nil, bool, finite number, string, binary, array, map
 * with string keys, nested at most {@linkcode MAX_DATA_DEPTH} deep), or undefined when it is.
 * Rejects what msgpackr would otherwise let through: the reserved byte 0xc1, timestamps,
 * typed-array extensions.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * assert.equal(plainDataProblem({ a: [1, "b", null] }), undefined);
 * assert.equal(plainDataProblem(new Date(0)), "an unsupported value (Date)");
 * ```
 */
export function plainDataProblem(value: unknown, depth = 0): string | undefined {
  if (depth > MAX_DATA_DEPTH) return `nesting deeper than ${MAX_DATA_DEPTH}`;
  if (value === null || typeof value === "boolean" || typeof value === "string") return undefined;
  if (typeof value === "number") return Number.isFinite(value) ? undefined : "a non-finite number";
  if (Array.isArray(value)) {
    for (const item of value) {
      const problem = plainDataProblem(item, depth + 1);
      if (problem) return problem;
    }
    return undefined;
  }
  if (value instanceof Uint8Array && value.constructor === Uint8Array) return undefined;
  if (isPlainObject(value)) {
    for (const key in value) {
      const problem = plainDataProblem(value[key], depth + 1);
      if (problem) return problem;
    }
    return undefined;
  }
  const name = (value as { constructor?: { name?: string } })?.constructor?.name;
  return name === "C1Type"
    ? "the reserved byte 0xc1"
    : `an unsupported value (${name ?? typeof value})`;
}
