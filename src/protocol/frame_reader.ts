// Strict reading of untrusted WebSocket frames: size limit, msgpack or JSON parsing, plain-data
// check, and the frame style of the input reader kit (BAD_FRAME errors naming the field).
import { CodedError, ErrorCode } from "../errors.ts";
import { FrameMsgpackError, readFrameMsgpack } from "./frame_msgpack.ts";
import { checkInputData, onlyInputDataIsBad } from "./input_data.ts";
import {
  decoderStyle,
  describe,
  errorText,
  inputReader,
  type InputStyle,
  isPlainObject,
  MAX_DATA_DEPTH,
  plainDataProblem,
} from "./input_reader.ts";

/** The codes a {@linkcode FrameError} carries. */
export type FrameErrorCode =
  | typeof ErrorCode.BAD_FRAME
  | typeof ErrorCode.TOO_BIG
  | typeof ErrorCode.BAD_INPUT
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

/** Frame errors: `Cannot decode frame: <field> must be <expected>, got <value>` (BAD_FRAME). */
export const FRAME_STYLE: InputStyle = decoderStyle(fail);

/**
 * The field readers of client and server frames.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * assert.throws(
 *   () => frameFields.integer(-1, "INPUT.seq", 1, 100),
 *   /Cannot decode frame: INPUT.seq must be an integer in 1\.\.100, got -1/,
 * );
 * ```
 */
export const frameFields = inputReader(FRAME_STYLE);

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
    const repeated = repeatedJsonKey(data);
    if (repeated !== undefined) fail(`frame has the key ${repeated} twice in one map`);
    const unpaired = unpairedSurrogateAt(raw, "", 0);
    if (unpaired !== undefined) {
      fail(`${unpaired || "frame"} is not valid Unicode (an unpaired surrogate escape)`);
    }
  } else if (data instanceof Uint8Array) {
    if (data.length > maxBytes) tooBig(data.length, maxBytes);
    if (data.length === 0) fail("frame is empty");
    try {
      raw = readFrameMsgpack(data);
    } catch (error) {
      if (error instanceof FrameMsgpackError) fail(error.message, error);
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
  if (problem) {
    // A bad INPUT payload alone is refused as BAD_INPUT, and the session goes on.
    if (onlyInputDataIsBad(raw)) checkInputData((raw as { intent: { data: unknown } }).intent.data);
    fail(`contains ${problem}`);
  }
  if (!isPlainObject(raw)) fail(`top level must be a map, got ${describe(raw)}`);
  return raw;
}

/**
 * The first key that appears twice in one object of a JSON text (which JSON.parse has already
 * accepted), as JSON, or undefined. One pass, an explicit stack: no recursion on deep input.
 */
function repeatedJsonKey(text: string): string | undefined {
  const stack: Array<Set<string> | null> = [];
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c === 0x7b /* { */) stack.push(new Set());
    else if (c === 0x5b /* [ */) stack.push(null);
    else if (c === 0x7d /* } */ || c === 0x5d /* ] */) stack.pop();
    else if (c === 0x22 /* " */) {
      const start = i;
      for (i++; text.charCodeAt(i) !== 0x22; i++) if (text.charCodeAt(i) === 0x5c) i++;
      const keys = stack.at(-1);
      if (!keys) continue;
      let j = i + 1;
      while (j < text.length && /\s/.test(text[j])) j++;
      if (text[j] !== ":") continue;
      const literal = text.slice(start, i + 1);
      const key = literal.includes("\\") ? JSON.parse(literal) as string : literal.slice(1, -1);
      if (keys.has(key)) return JSON.stringify(key);
      keys.add(key);
    }
  }
  return undefined;
}

/**
 * Where a JSON value holds a string or key with an unpaired surrogate (`"\ud800"`, which no
 * UTF-8 can carry): the field path, or undefined when there is none. Bounded by the depth
 * check that follows it.
 */
function unpairedSurrogateAt(value: unknown, field: string, depth: number): string | undefined {
  if (typeof value === "string") return value.isWellFormed() ? undefined : field;
  if (depth > MAX_DATA_DEPTH || typeof value !== "object" || value === null) return undefined;
  if (Array.isArray(value)) {
    for (let i = 0; i < value.length; i++) {
      const found = unpairedSurrogateAt(value[i], `${field}[${i}]`, depth + 1);
      if (found !== undefined) return found;
    }
    return undefined;
  }
  for (const key in value) {
    const path = field === "" ? key : `${field}.${key}`;
    if (!key.isWellFormed()) return path;
    const found = unpairedSurrogateAt((value as Record<string, unknown>)[key], path, depth + 1);
    if (found !== undefined) return found;
  }
  return undefined;
}

function tooBig(length: number, maxBytes: number): never {
  throw new FrameError(
    ErrorCode.TOO_BIG,
    `Cannot decode frame: length ${length} exceeds the maximum of ${maxBytes} bytes`,
  );
}
