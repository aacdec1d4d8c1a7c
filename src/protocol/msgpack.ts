// Plain msgpack encoding for small control payloads (game options at registration).
import { Packr } from "msgpackr";

const packr = new Packr({ useRecords: false, mapsAsObjects: true, moreTypes: false });

/** Encodes a plain value as msgpack. */
export function encode(value: unknown): Uint8Array {
  return packr.pack(value);
}

/** Decodes msgpack; throws SyntaxError for bytes that are not one msgpack value. */
export function decode(bytes: Uint8Array): unknown {
  try {
    return packr.unpack(bytes);
  } catch (error) {
    throw new SyntaxError(`Cannot decode msgpack: ${(error as Error).message}`, { cause: error });
  }
}
