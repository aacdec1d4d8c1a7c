// The client protocol's own msgpack, read side: a strict reader of untrusted frames (every
// integer encoding, strict UTF-8, no 0xc1, extensions, binary or duplicate keys, errors naming
// the field). The write side is frame_msgpack_writer.ts.
import { MAX_DATA_DEPTH } from "./input_reader.ts";

/** Why bytes are not one acceptable msgpack value; `field` is where (`""` at the top). */
export class FrameMsgpackError extends SyntaxError {
  constructor(readonly field: string, readonly problem: string) {
    super(`${field === "" ? "frame" : field} ${problem}`);
    this.name = "FrameMsgpackError";
  }
}

const utf8 = new TextDecoder("utf-8", { fatal: true, ignoreBOM: true });

class Reader {
  pos = 0;
  /** Keys and indexes from the top to the value being read, joined only for an error. */
  readonly path: Array<string | number> = [];
  readonly view: DataView;

  constructor(readonly bytes: Uint8Array) {
    this.view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  }

  field(): string {
    let out = "";
    for (const part of this.path) {
      out += typeof part === "number" ? `[${part}]` : out === "" ? part : `.${part}`;
    }
    return out;
  }

  fail(problem: string): never {
    throw new FrameMsgpackError(this.field(), problem);
  }

  need(n: number): void {
    if (this.bytes.length - this.pos < n) this.fail("is cut short (the frame ends inside it)");
  }

  u8(): number {
    this.need(1);
    return this.bytes[this.pos++];
  }

  u16(): number {
    this.need(2);
    const v = this.view.getUint16(this.pos);
    this.pos += 2;
    return v;
  }

  u32(): number {
    this.need(4);
    const v = this.view.getUint32(this.pos);
    this.pos += 4;
    return v;
  }

  int64(signed: boolean): number {
    this.need(8);
    const v = signed ? this.view.getBigInt64(this.pos) : this.view.getBigUint64(this.pos);
    this.pos += 8;
    if (v > BigInt(Number.MAX_SAFE_INTEGER) || v < BigInt(Number.MIN_SAFE_INTEGER)) {
      this.fail(`must be an integer in -(2^53-1)..2^53-1, got ${v}`);
    }
    return Number(v);
  }

  float(bytes: 4 | 8): number {
    this.need(bytes);
    const v = bytes === 4 ? this.view.getFloat32(this.pos) : this.view.getFloat64(this.pos);
    this.pos += bytes;
    if (!Number.isFinite(v)) this.fail(`must be a finite number, got ${v}`);
    return v;
  }

  str(length: number): string {
    this.need(length);
    const start = this.pos;
    this.pos += length;
    // ASCII fast path: most keys and tokens.
    let ascii = true;
    for (let i = start; i < this.pos; i++) {
      if (this.bytes[i] >= 0x80) {
        ascii = false;
        break;
      }
    }
    if (ascii) {
      let s = "";
      for (let i = start; i < this.pos; i++) s += String.fromCharCode(this.bytes[i]);
      return s;
    }
    try {
      return utf8.decode(this.bytes.subarray(start, this.pos));
    } catch {
      return this.fail("is not valid UTF-8");
    }
  }

  value(depth: number): unknown {
    const b = this.u8();
    if (b <= 0x7f) return b;
    if (b >= 0xe0) return b - 0x100;
    if (b >= 0xa0 && b <= 0xbf) return this.str(b - 0xa0);
    if (b >= 0x90 && b <= 0x9f) return this.array(b - 0x90, depth);
    if (b >= 0x80 && b <= 0x8f) return this.map(b - 0x80, depth);
    switch (b) {
      case 0xc0:
        return null;
      case 0xc2:
        return false;
      case 0xc3:
        return true;
      case 0xcc:
        return this.u8();
      case 0xcd:
        return this.u16();
      case 0xce:
        return this.u32();
      case 0xcf:
        return this.int64(false);
      case 0xd0: {
        const v = this.u8();
        return v >= 0x80 ? v - 0x100 : v;
      }
      case 0xd1: {
        const v = this.u16();
        return v >= 0x8000 ? v - 0x10000 : v;
      }
      case 0xd2:
        return this.u32() | 0;
      case 0xd3:
        return this.int64(true);
      case 0xca:
        return this.float(4);
      case 0xcb:
        return this.float(8);
      case 0xd9:
        return this.str(this.u8());
      case 0xda:
        return this.str(this.u16());
      case 0xdb:
        return this.str(this.u32());
      case 0xdc:
        return this.array(this.u16(), depth);
      case 0xdd:
        return this.array(this.u32(), depth);
      case 0xde:
        return this.map(this.u16(), depth);
      case 0xdf:
        return this.map(this.u32(), depth);
      case 0xc1:
        return this.fail("contains the reserved byte 0xc1");
      case 0xc4:
      case 0xc5:
      case 0xc6:
        return this.fail("must not be a binary value");
      default: // 0xc7..0xc9, 0xd4..0xd8
        return this.fail("must not be an extension type (timestamps included)");
    }
  }

  #nest(depth: number, count: number, min: number): void {
    if (depth >= MAX_DATA_DEPTH) this.fail(`nests deeper than ${MAX_DATA_DEPTH} levels`);
    // Every element takes at least `min` bytes: refuse a count the frame cannot hold.
    this.need(count * min);
  }

  array(count: number, depth: number): unknown[] {
    this.#nest(depth, count, 1);
    const out = new Array(count);
    for (let i = 0; i < count; i++) {
      this.path.push(i);
      out[i] = this.value(depth + 1);
      this.path.pop();
    }
    return out;
  }

  map(count: number, depth: number): Record<string, unknown> {
    this.#nest(depth, count, 2);
    const out: Record<string, unknown> = {};
    for (let i = 0; i < count; i++) {
      this.need(1);
      const b = this.bytes[this.pos];
      if (!(b >= 0xa0 && b <= 0xbf) && b !== 0xd9 && b !== 0xda && b !== 0xdb) {
        this.fail(`has a key that is not a string (map keys must be strings)`);
      }
      const key = this.value(depth + 1) as string;
      if (Object.hasOwn(out, key)) this.fail(`has the key ${JSON.stringify(key)} twice`);
      this.path.push(key);
      const value = this.value(depth + 1);
      this.path.pop();
      // Own data property even for "__proto__": never a prototype change. Any other key is
      // assigned (defineProperty is a runtime call per key: 3.5 % of a loaded gateway's CPU).
      if (key === "__proto__") {
        Object.defineProperty(out, key, {
          value,
          enumerable: true,
          writable: true,
          configurable: true,
        });
      } else out[key] = value;
    }
    return out;
  }
}

/**
 * Reads one msgpack value the client protocol accepts, with no trailing bytes. Integers of
 * every encoding (up to 64 bits) within ±(2^53−1); floats finite; strings strict UTF-8; map
 * keys strings, each once; at most {@linkcode MAX_DATA_DEPTH} levels. Throws
 * {@linkcode FrameMsgpackError} naming the field.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * // PING { op: 4, t: 2^40 } with t as uint64 (0xcf), as C#, Go and Python encoders write it.
 * const ping = [0x82, 0xa2, 0x6f, 0x70, 0x04, 0xa1, 0x74, 0xcf, 0, 0, 1, 0, 0, 0, 0, 0];
 * assert.deepEqual(readFrameMsgpack(new Uint8Array(ping)), { op: 4, t: 2 ** 40 });
 * assert.throws(
 *   () => readFrameMsgpack(new Uint8Array([0x81, 0xa4, 0x74, 0x65, 0x78, 0x74, 0xa2, 0xff, 0xfe])),
 *   /text is not valid UTF-8/,
 * );
 * ```
 */
export function readFrameMsgpack(bytes: Uint8Array): unknown {
  const reader = new Reader(bytes);
  const value = reader.value(0);
  if (reader.pos !== bytes.length) {
    throw new FrameMsgpackError("", `has ${bytes.length - reader.pos} bytes after its value`);
  }
  return value;
}
