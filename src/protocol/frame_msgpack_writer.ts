// The client protocol's own msgpack, write side: whole numbers in the smallest integer
// encoding (ids above 2^32 as uint64, never float64), as docs/protocol.md promises; the read
// side is frame_msgpack.ts. A gateway's DIFFs can be cut from a FrameArena: one ArrayBuffer
// per many frames instead of one each (an ArrayBuffer of its own is a malloc and external
// memory for the GC to track: 40 % of writing a 400-byte DIFF).

const EMPTY = new Uint8Array(0);

/** A growable output buffer, reused by every call (frames are copied out). */
let out = new Uint8Array(64 * 1024);
let view = new DataView(out.buffer);
let at = 0;
const encoder = new TextEncoder();

function room(n: number): void {
  if (at + n <= out.length) return;
  let size = out.length * 2;
  while (size < at + n) size *= 2;
  const bigger = new Uint8Array(size);
  bigger.set(out.subarray(0, at));
  out = bigger;
  view = new DataView(out.buffer);
}

function writeInt(v: number): void {
  room(9);
  if (v >= 0) {
    if (v < 0x80) out[at++] = v;
    else if (v < 0x100) {
      out[at++] = 0xcc;
      out[at++] = v;
    } else if (v < 0x10000) {
      out[at++] = 0xcd;
      view.setUint16(at, v);
      at += 2;
    } else if (v < 0x100000000) {
      out[at++] = 0xce;
      view.setUint32(at, v);
      at += 4;
    } else {
      out[at++] = 0xcf;
      view.setUint32(at, Math.floor(v / 0x100000000));
      view.setUint32(at + 4, v >>> 0);
      at += 8;
    }
  } else if (v >= -0x20) out[at++] = v + 0x100;
  else if (v >= -0x80) {
    out[at++] = 0xd0;
    view.setInt8(at++, v);
  } else if (v >= -0x8000) {
    out[at++] = 0xd1;
    view.setInt16(at, v);
    at += 2;
  } else if (v >= -0x80000000) {
    out[at++] = 0xd2;
    view.setInt32(at, v);
    at += 4;
  } else {
    out[at++] = 0xd3;
    view.setBigInt64(at, BigInt(v));
    at += 8;
  }
}

function writeHeader(n: number, fix: number, fixMax: number, b16: number, b32: number): void {
  room(5);
  if (n <= fixMax) out[at++] = fix + n;
  else if (n < 0x10000) {
    out[at++] = b16;
    view.setUint16(at, n);
    at += 2;
  } else {
    out[at++] = b32;
    view.setUint32(at, n);
    at += 4;
  }
}

function writeString(s: string): void {
  // Short ASCII (keys, types, names): byte by byte, no encoder call.
  if (s.length < 32) {
    room(1 + s.length);
    let i = 0;
    for (; i < s.length; i++) {
      const c = s.charCodeAt(i);
      if (c >= 0x80) break;
      out[at + 1 + i] = c;
    }
    if (i === s.length) {
      out[at] = 0xa0 + s.length;
      at += 1 + s.length;
      return;
    }
  }
  // Header sized for the longest possible encoding, then fixed up.
  room(5 + s.length * 3);
  const start = at;
  const header = s.length < 32 / 3 ? 1 : s.length * 3 < 0x100 ? 2 : s.length * 3 < 0x10000 ? 3 : 5;
  const { written } = encoder.encodeInto(s, out.subarray(start + header));
  const n = written;
  // Move the bytes when a shorter header fits.
  const fits = n < 32 ? 1 : n < 0x100 ? 2 : n < 0x10000 ? 3 : 5;
  if (fits !== header) out.copyWithin(start + fits, start + header, start + header + n);
  if (fits === 1) out[start] = 0xa0 + n;
  else if (fits === 2) {
    out[start] = 0xd9;
    out[start + 1] = n;
  } else if (fits === 3) {
    out[start] = 0xda;
    view.setUint16(start + 1, n);
  } else {
    out[start] = 0xdb;
    view.setUint32(start + 1, n);
  }
  at = start + fits + n;
}

function writeArray(value: unknown[], depth: number): void {
  writeHeader(value.length, 0x90, 15, 0xdc, 0xdd);
  for (const item of value) write(item, depth + 1);
}

/** The shared arrays of the frames being written, by identity: their bytes once encoded. */
let sharing: Map<unknown[], Uint8Array | null> | undefined;

/**
 * Arrays that many frames contain (the rows of one worker report that several clients see):
 * the first frame that lists one encodes it, every later one copies its bytes.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * const row = [7, 1.5, 2, 0];
 * const shared = new SharedArrays([row]);
 * const a = writeFrameMsgpack({ update: [row] }, shared);
 * row[1] = 99; // bytes are kept from the first write: shared arrays must not change
 * assert.deepEqual(writeFrameMsgpack({ update: [row] }, shared), a);
 * ```
 */
export class SharedArrays {
  readonly bytes = new Map<unknown[], Uint8Array | null>();

  constructor(arrays: Iterable<unknown[]>) {
    for (const array of arrays) this.bytes.set(array, null);
  }
}

function write(value: unknown, depth: number): void {
  if (depth > 64) throw new RangeError("Cannot encode frame: nesting deeper than 64 levels");
  switch (typeof value) {
    case "number":
      if (Number.isSafeInteger(value)) writeInt(value);
      else {
        if (!Number.isFinite(value)) {
          throw new RangeError(`Cannot encode frame: ${value} is not a finite number`);
        }
        room(9);
        out[at++] = 0xcb;
        view.setFloat64(at, value);
        at += 8;
      }
      return;
    case "string":
      writeString(value);
      return;
    case "boolean":
      room(1);
      out[at++] = value ? 0xc3 : 0xc2;
      return;
    case "undefined":
      room(1);
      out[at++] = 0xc0;
      return;
    case "object": {
      if (value === null) {
        room(1);
        out[at++] = 0xc0;
        return;
      }
      if (Array.isArray(value)) {
        const bytes = sharing?.get(value);
        if (bytes === undefined) return writeArray(value, depth);
        if (bytes !== null) {
          room(bytes.byteLength);
          out.set(bytes, at);
          at += bytes.byteLength;
          return;
        }
        const start = at;
        writeArray(value, depth);
        sharing!.set(value, out.slice(start, at));
        return;
      }
      const record = value as Record<string, unknown>;
      let n = 0;
      for (const key in record) if (record[key] !== undefined) n++;
      writeHeader(n, 0x80, 15, 0xde, 0xdf);
      for (const key in record) {
        const item = record[key];
        if (item === undefined) continue; // like JSON: an absent optional field
        writeString(key);
        write(item, depth + 1);
      }
      return;
    }
    default:
      throw new TypeError(`Cannot encode frame: unsupported value of type ${typeof value}`);
  }
}

/**
 * Writes a plain value (maps with string keys, arrays, strings, booleans, null, numbers) as
 * msgpack: safe integers in the smallest integer encoding (above 2^32 − 1 as uint64), other
 * numbers as float 64, the smallest string, array and map headers; an `undefined` map value
 * is left out. Arrays in `shared` are encoded once and copied after.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * assert.deepEqual(
 *   Array.from(writeFrameMsgpack({ t: 2 ** 33 })),
 *   [0x81, 0xa1, 0x74, 0xcf, 0, 0, 0, 2, 0, 0, 0, 0],
 * );
 * ```
 */
export function writeFrameMsgpack(
  value: unknown,
  shared?: SharedArrays,
  arena?: FrameArena,
): Uint8Array {
  at = 0;
  sharing = shared?.bytes;
  try {
    write(value, 0);
  } finally {
    sharing = undefined;
  }
  if (at === 0) return EMPTY;
  return arena ? arena.copy(out.subarray(0, at)) : out.slice(0, at);
}

/**
 * Where a gateway's DIFF frames are cut from: one ArrayBuffer for many frames, each a view
 * never written over (a full arena is replaced, not reused). A frame over an eighth of the
 * arena gets a buffer of its own. A view keeps its whole arena alive, so a frame that must
 * wait (a congested socket's queue) is copied out with {@linkcode ownedFrame}.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * const arena = new FrameArena(1024);
 * const a = writeFrameMsgpack({ op: 4, t: 1 }, undefined, arena);
 * const b = writeFrameMsgpack({ op: 4, t: 2 }, undefined, arena);
 * assert.equal(a.buffer, b.buffer);
 * assert.deepEqual(ownedFrame(a), a);
 * assert.equal(ownedFrame(a).buffer.byteLength, a.byteLength);
 * ```
 */
export class FrameArena {
  #buffer: Uint8Array;
  #at = 0;

  constructor(readonly bytes = 64 * 1024) {
    this.#buffer = new Uint8Array(bytes);
  }

  /** A copy of `frame` in the arena (or of its own when it is large). */
  copy(frame: Uint8Array): Uint8Array {
    const n = frame.length;
    if (n > this.bytes / 8) return frame.slice();
    if (this.#at + n > this.#buffer.length) {
      this.#buffer = new Uint8Array(this.bytes);
      this.#at = 0;
    }
    this.#buffer.set(frame, this.#at);
    return this.#buffer.subarray(this.#at, this.#at += n);
  }
}

/** The frame with a buffer of its own (a view into a {@linkcode FrameArena} is copied). */
export function ownedFrame<F extends Uint8Array | string>(frame: F): F {
  if (typeof frame === "string" || frame.byteLength === frame.buffer.byteLength) return frame;
  return frame.slice() as F;
}
