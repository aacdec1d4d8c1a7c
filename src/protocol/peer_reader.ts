// Reading inter-node messages (peer batches, session links, chat relays): the BAD_BATCH style of
// the input reader kit and the one "bytes → versioned msgpack map" step every decoder starts with.
import { BatchError } from "../errors.ts";
import { decode, decodeReason } from "./msgpack.ts";
import {
  decoderStyle,
  describe,
  inputReader,
  type InputStyle,
  isPlainObject,
} from "./input_reader.ts";

/** Largest encoded inter-node message accepted, in bytes. */
export const MAX_PEER_MESSAGE_BYTES = 8 * 1024 * 1024;

/** Throws a {@linkcode BatchError} (BAD_BATCH) with the peer decoders' message prefix. */
export function failPeer(message: string, cause?: unknown): never {
  throw new BatchError(`Cannot decode batch: ${message}`, cause ? { cause } : undefined);
}

/** Peer errors: `Cannot decode batch: <field> must be <expected>, got <value>` (BAD_BATCH). */
export const PEER_STYLE: InputStyle = decoderStyle(failPeer);

/**
 * The field readers of inter-node messages.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * assert.throws(() => peerFields.integer(-1, "tick"), /tick must be a non-negative integer/);
 * ```
 */
export const peerFields = inputReader(PEER_STYLE);

/**
 * A string of 1..`max` UTF-16 units: the ids, names and kinds inter-node messages carry.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * assert.throws(() => peerString("", "from"), /from must be a string of 1\.\.128 characters/);
 * ```
 */
export function peerString(value: unknown, field: string, max = 128): string {
  return peerFields.string(value, field, 1, max);
}

/**
 * Unpacks msgpack bytes that must hold one map (with `v === version` when given); BAD_BATCH
 * otherwise. Shared by every inter-node message decoder.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { encode } from "./msgpack.ts";
 * assert.deepEqual(decodePeerMap(encode({ v: 1, x: 2 }), 1), { v: 1, x: 2 });
 * assert.throws(() => decodePeerMap(encode({ v: 2 }), 1), /version must be 1, got 2/);
 * ```
 */
export function decodePeerMap(bytes: Uint8Array, version?: number): Record<string, unknown> {
  if (!(bytes instanceof Uint8Array)) failPeer(`payload must be bytes, got ${describe(bytes)}`);
  if (bytes.length === 0) failPeer("payload is empty");
  if (bytes.length > MAX_PEER_MESSAGE_BYTES) {
    failPeer(`length ${bytes.length} exceeds the maximum of ${MAX_PEER_MESSAGE_BYTES} bytes`);
  }
  let raw: unknown;
  try {
    raw = decode(bytes);
  } catch (error) {
    failPeer(`not valid msgpack (${decodeReason(error)})`, error);
  }
  if (!isPlainObject(raw)) failPeer(`top level must be a map, got ${describe(raw)}`);
  if (version !== undefined && raw.v !== version) {
    failPeer(`version must be ${version}, got ${describe(raw.v)}`);
  }
  return raw;
}

// The inline success-path checks shared with the client frames' decoders.
export { isEntityId, isFiniteNumber } from "./input_reader.ts";

/**
 * True for the common data shape, a plain map of finite numbers, booleans, null and strings
 * (at most 16 keys): checked without recursion. Anything else takes the full check.
 */
export function isFlatData(value: unknown): boolean {
  if (
    typeof value !== "object" || value === null || Object.getPrototypeOf(value) !== Object.prototype
  ) {
    return false;
  }
  let keys = 0;
  for (const key in value) {
    if (++keys > 16 || key === "__proto__") return false;
    const v = (value as Record<string, unknown>)[key];
    const t = typeof v;
    if (t === "number" ? !Number.isFinite(v) : t !== "string" && t !== "boolean" && v !== null) {
      return false;
    }
  }
  return true;
}
