// Strict reading of untrusted WebSocket frames: size limit, msgpack or JSON parsing, plain-data
// check, and typed field readers that name the offending field in every error.
import { Packr } from "msgpackr";
import { plainDataProblem } from "../sync/batch_codec.ts";
import { CodedError, ErrorCode } from "../errors.ts";

/** The codes a {@linkcode FrameError} carries. */
export type FrameErrorCode =
  | typeof ErrorCode.BAD_FRAME
  | typeof ErrorCode.TOO_BIG
  | typeof ErrorCode.UNSUPPORTED_PROTOCOL;

/**
 * A frame that cannot be accepted. `code` is BAD_FRAME (undecodable or invalid), TOO_BIG
 * (over the size limit: close 1009) or UNSUPPORTED_PROTOCOL (a HELLO of another version).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * const error = new FrameError("BAD_FRAME", "Cannot decode frame: top level must be a map");
 * assert.equal(error.name, "FrameError");
 * assert.equal(error.code, "BAD_FRAME");
 * ```
 */
export class FrameError extends CodedError {
  declare readonly code: FrameErrorCode;

  constructor(code: FrameErrorCode, message: string, options?: ErrorOptions) {
    super(code, message, options);
    this.name = "FrameError";
  }
}

/** Throws a BAD_FRAME {@linkcode FrameError} with the standard message prefix. */
export function fail(problem: string, cause?: unknown): never {
  throw new FrameError(
    ErrorCode.BAD_FRAME,
    `Cannot decode frame: ${problem}`,
    cause === undefined ? undefined : { cause },
  );
}

const packr = new Packr({ useRecords: false, mapsAsObjects: true, moreTypes: false });

/** Encodes a plain value as one msgpack frame. */
export function packFrame(value: unknown): Uint8Array {
  return packr.pack(value);
}

/** UTF-8 length of a string without allocating its encoding. */
export function utf8Length(text: string): number {
  let bytes = 0;
  for (let i = 0; i < text.length; i++) {
    const unit = text.charCodeAt(i);
    if (unit < 0x80) bytes += 1;
    else if (unit < 0x800) bytes += 2;
    else if (unit >= 0xd800 && unit <= 0xdbff && i + 1 < text.length) {
      const next = text.charCodeAt(i + 1);
      if (next >= 0xdc00 && next <= 0xdfff) {
        bytes += 4;
        i++;
      } else bytes += 3;
    } else bytes += 3;
  }
  return bytes;
}

/**
 * Parses one frame: bytes (Uint8Array or ArrayBuffer) as a single msgpack value, text as JSON.
 * Checks the size first (TOO_BIG), then that the value is plain data (no 0xc1, extensions,
 * bigints, non-finite numbers or deep nesting) and a map at the top level. Throws only
 * {@linkcode FrameError}.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * assert.deepEqual(parseFrame('{"op":4,"t":1}', 100), { op: 4, t: 1 });
 * assert.throws(() => parseFrame(new Uint8Array([0xc1]), 100), /reserved byte 0xc1/);
 * ```
 */
export function parseFrame(
  data: Uint8Array | ArrayBuffer | string,
  maxBytes: number,
): Record<string, unknown> {
  let raw: unknown;
  // Deno's server-side WebSocket delivers binary messages as ArrayBuffer.
  if (data instanceof ArrayBuffer) data = new Uint8Array(data);
  if (typeof data === "string") {
    const length = data.length > maxBytes / 3 ? utf8Length(data) : data.length;
    if (length > maxBytes) tooBig(length, maxBytes);
    if (length === 0) fail("frame is empty");
    try {
      raw = JSON.parse(data);
    } catch (error) {
      fail(`not valid JSON (${errorText(error)})`, error);
    }
  } else if (data instanceof Uint8Array) {
    if (data.length > maxBytes) tooBig(data.length, maxBytes);
    if (data.length === 0) fail("frame is empty");
    try {
      raw = packr.unpack(data);
    } catch (error) {
      fail(`not valid msgpack (${errorText(error)})`, error);
    }
  } else {
    fail(`frame must be bytes or text, got ${describe(data)}`);
  }
  let problem: string | undefined;
  try {
    problem = plainDataProblem(raw);
  } catch (error) {
    // A getter or a stack overflow in a hostile value still ends as a frame error.
    fail(`not plain data (${errorText(error)})`, error);
  }
  if (problem) fail(`contains ${problem}`);
  if (!isPlainObject(raw)) fail(`top level must be a map, got ${describe(raw)}`);
  return raw;
}

function tooBig(length: number, maxBytes: number): never {
  throw new FrameError(
    ErrorCode.TOO_BIG,
    `Cannot decode frame: length ${length} exceeds the maximum of ${maxBytes} bytes`,
  );
}

function errorText(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

/** True for `{...}` objects (not arrays, binary or class instances). */
export function isPlainObject(value: unknown): value is Record<string, unknown> {
  if (typeof value !== "object" || value === null || Array.isArray(value)) return false;
  const proto = Object.getPrototypeOf(value);
  return proto === Object.prototype || proto === null;
}

/** A short, safe rendering of a bad value for an error message. */
export function describe(value: unknown): string {
  if (value === null) return "null";
  if (value === undefined) return "nothing";
  if (Array.isArray(value)) return `an array of ${value.length}`;
  if (value instanceof Uint8Array) return "binary";
  if (typeof value === "string") {
    return value.length > 32 ? `${JSON.stringify(value.slice(0, 32))}...` : JSON.stringify(value);
  }
  if (typeof value === "object") return "a map";
  return String(value);
}

/** Rejects any key outside `required` and `optional`, and any missing required key. */
export function exactKeys(
  map: Record<string, unknown>,
  what: string,
  required: readonly string[],
  optional: readonly string[] = [],
): void {
  for (const key of Object.keys(map)) {
    if (!required.includes(key) && !optional.includes(key)) {
      fail(`${what} has an unknown field ${describe(key)}`);
    }
  }
  for (const key of required) {
    if (!Object.hasOwn(map, key)) fail(`${what} is missing the field "${key}"`);
  }
}

/** An integer in `min..max` (defaults: 0..2^53-1). */
export function integer(
  value: unknown,
  what: string,
  min = 0,
  max: number = Number.MAX_SAFE_INTEGER,
): number {
  if (typeof value !== "number" || !Number.isInteger(value) || value < min || value > max) {
    fail(`${what} must be an integer in ${min}..${max}, got ${describe(value)}`);
  }
  return value;
}

/** A finite number, optionally within `min..max`. */
export function finite(value: unknown, what: string, min = -Infinity, max = Infinity): number {
  if (typeof value !== "number" || !Number.isFinite(value) || value < min || value > max) {
    const range = min === -Infinity && max === Infinity ? "" : ` in ${min}..${max}`;
    fail(`${what} must be a finite number${range}, got ${describe(value)}`);
  }
  return value;
}

// Control characters are exactly what this rejects.
// deno-lint-ignore no-control-regex
const CONTROL = /[\u0000-\u001f\u007f-\u009f]/;

/**
 * A well-formed string of `min..max` Unicode code points without control characters
 * (U+0000–U+001F, U+007F–U+009F), so it can be shown and re-encoded as UTF-8 unchanged.
 */
export function text(value: unknown, what: string, min: number, max: number): string {
  if (typeof value !== "string") fail(`${what} must be a string, got ${describe(value)}`);
  // Each code point is one or two UTF-16 units: a cheap bound before counting.
  const count = value.length > 2 * max ? Infinity : codePoints(value);
  if (count < min || count > max) {
    fail(`${what} must be ${min}..${max} characters, got ${count === Infinity ? "more" : count}`);
  }
  if (!value.isWellFormed()) fail(`${what} contains an unpaired surrogate`);
  if (CONTROL.test(value)) fail(`${what} contains a control character`);
  return value;
}

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

const TOKEN = /^[A-Za-z0-9._-]+$/;

/** A token: 1..`max` characters of A-Z a-z 0-9 . _ - (base64url and dots). */
export function tokenText(value: unknown, what: string, max: number): string {
  if (typeof value !== "string" || value.length > max || !TOKEN.test(value)) {
    fail(`${what} must be 1..${max} characters of A-Z a-z 0-9 . _ -, got ${describe(value)}`);
  }
  return value;
}

/** One of the listed strings. */
export function oneOf<T extends string>(value: unknown, what: string, allowed: readonly T[]): T {
  if (!(allowed as readonly unknown[]).includes(value)) {
    fail(
      `${what} must be one of ${allowed.map((a) => `"${a}"`).join(", ")}, got ${describe(value)}`,
    );
  }
  return value as T;
}

/** An array of `min..max` elements. */
export function array(value: unknown, what: string, min: number, max: number): unknown[] {
  if (!Array.isArray(value)) fail(`${what} must be an array, got ${describe(value)}`);
  if (value.length < min || value.length > max) {
    fail(`${what} must have ${min === max ? min : `${min}..${max}`} elements, got ${value.length}`);
  }
  return value;
}

/** A map (object with string keys). */
export function map(value: unknown, what: string): Record<string, unknown> {
  if (!isPlainObject(value)) fail(`${what} must be a map, got ${describe(value)}`);
  return value;
}
