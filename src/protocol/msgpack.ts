// The one msgpack codec of every wire: plain maps and arrays, no records, no extensions, so what
// one node encodes any other node (or client) decodes the same way.
import { Packr } from "msgpackr";

const packr = new Packr({ useRecords: false, mapsAsObjects: true, moreTypes: false });

/**
 * Encodes a plain value as msgpack.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * assert.deepEqual(decode(encode({ op: 4, t: 1 })), { op: 4, t: 1 });
 * ```
 */
export function encode(value: unknown): Uint8Array {
  return packr.pack(value);
}

/**
 * Decodes msgpack; throws SyntaxError (its `cause` is msgpackr's error) for bytes that are not
 * one msgpack value. The result may still hold what msgpackr lets through (the reserved byte
 * 0xc1, timestamps): readers check it with `plainDataProblem` from input_reader.ts.
 */
export function decode(bytes: Uint8Array): unknown {
  try {
    return packr.unpack(bytes);
  } catch (error) {
    throw new SyntaxError(`Cannot decode msgpack: ${(error as Error).message}`, { cause: error });
  }
}

/** The reason msgpack could not decode, from an error {@linkcode decode} threw. */
export function decodeReason(error: unknown): string {
  const cause = error instanceof SyntaxError ? error.cause : error;
  return cause instanceof Error ? cause.message : String(cause);
}
