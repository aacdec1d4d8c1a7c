// The gRPC-Web binary framing (grpc/grpc doc/PROTOCOL-WEB.md) every inter-node call uses: each
// message is a 5-byte prefix (flags, big-endian length) plus its protobuf bytes, and the call's
// status travels as a last frame with flag 0x80 holding `grpc-status`/`grpc-message` lines,
// because Deno's fetch and Deno.serve expose no HTTP trailers (denoland/deno#10214).
// Hand-written: about a hundred lines. The npm grpc-web clients (grpc-web, @improbable-eng)
// parse it only inside browser transports; @connectrpc/connect 2.3 has envelope helpers, but as
// part of a framework whose transports need node:http2 or refuse bidi over fetch, and whose
// messages come from generated code. Limits are checked on the prefix, before buffering.
import { decodeStatusMessage, encodeStatusMessage, RpcError, status } from "./grpc_status.ts";
import type { StatusObject } from "./grpc_status.ts";

/** Frame flags. `KEEPALIVE` is ZoneScaler's: sent only to a peer that asked for it. */
export const FrameFlag = {
  MESSAGE: 0x00,
  COMPRESSED: 0x01,
  KEEPALIVE: 0x40,
  TRAILER: 0x80,
} as const;
/** One of the flags in {@linkcode FrameFlag}. */
export type FrameFlag = typeof FrameFlag[keyof typeof FrameFlag];

/** Largest message either side accepts by default (16 MiB, as before with grpc-js). */
export const MAX_MESSAGE_BYTES = 16 * 1024 * 1024;
/** Content type of every call (the `+proto` suffix is optional on requests). */
export const CONTENT_TYPE = "application/grpc-web+proto";

/** Largest trailer frame accepted: status lines are short. */
const MAX_TRAILER_BYTES = 64 * 1024;
const PREFIX = 5;

/** One decoded frame. */
export interface Frame {
  flags: number;
  payload: Uint8Array;
}

/**
 * Encodes one frame: flags, 4-byte big-endian length, payload.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * assert.deepEqual([...encodeFrame(FrameFlag.MESSAGE, new Uint8Array([7]))], [0, 0, 0, 0, 1, 7]);
 * ```
 */
export function encodeFrame(flags: number, payload: Uint8Array): Uint8Array<ArrayBuffer> {
  const frame = new Uint8Array(PREFIX + payload.byteLength);
  frame[0] = flags;
  new DataView(frame.buffer).setUint32(1, payload.byteLength);
  frame.set(payload, PREFIX);
  return frame;
}

/** The empty keepalive frame. */
export const KEEPALIVE_FRAME: Uint8Array = encodeFrame(FrameFlag.KEEPALIVE, new Uint8Array());

/** The trailer frame carrying a call's status. */
export function encodeTrailer(final: StatusObject): Uint8Array<ArrayBuffer> {
  const lines = `grpc-status: ${final.code}\r\ngrpc-message: ${
    encodeStatusMessage(final.details)
  }\r\n`;
  return encodeFrame(FrameFlag.TRAILER, new TextEncoder().encode(lines));
}

/** Parses a trailer frame's payload into a status. */
export function parseTrailer(payload: Uint8Array): StatusObject {
  const fields = new Map<string, string>();
  for (const line of new TextDecoder().decode(payload).split("\r\n")) {
    const at = line.indexOf(":");
    if (at > 0) fields.set(line.slice(0, at).trim().toLowerCase(), line.slice(at + 1).trim());
  }
  return statusFromFields(fields.get("grpc-status"), fields.get("grpc-message"));
}

/** A status from `grpc-status`/`grpc-message` values (headers of a trailers-only response). */
export function statusFromFields(
  code: string | null | undefined,
  message: string | null | undefined,
): StatusObject {
  const n = Number(code);
  if (code == null || !/^\d{1,2}$/.test(code) || n > 16) {
    return {
      code: status.INTERNAL,
      details: `Cannot read status: grpc-status ${JSON.stringify(code ?? null)} is not a code`,
    };
  }
  return { code: n as status, details: decodeStatusMessage(message ?? "") };
}

/**
 * Splits a byte stream into frames as chunks arrive, refusing oversized, compressed and
 * unknown frames before buffering them.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * const reader = new FrameReader();
 * const bytes = encodeFrame(FrameFlag.MESSAGE, new Uint8Array([1, 2, 3]));
 * assert.deepEqual(reader.push(bytes.subarray(0, 4)), []);
 * assert.deepEqual(reader.push(bytes.subarray(4))[0].payload, new Uint8Array([1, 2, 3]));
 * reader.finish();
 * ```
 */
export class FrameReader {
  // Chunks are queued, not concatenated as they come: a message of n bytes arriving in k
  // chunks is copied once (O(n)), where re-joining the unread rest on every chunk cost O(n·k).
  #chunks: Uint8Array[] = [];
  /** Bytes of `#chunks[0]` already read. */
  #offset = 0;
  #buffered = 0;
  #maxBytes: number;

  constructor(options: { maxMessageBytes?: number } = {}) {
    this.#maxBytes = options.maxMessageBytes ?? MAX_MESSAGE_BYTES;
  }

  /** The complete frames `chunk` finishes; throws an {@linkcode RpcError} on a bad frame. */
  push(chunk: Uint8Array): Frame[] {
    if (chunk.byteLength > 0) {
      this.#chunks.push(chunk);
      this.#buffered += chunk.byteLength;
    }
    const frames: Frame[] = [];
    while (this.#buffered >= PREFIX) {
      const prefix = this.#peek(PREFIX);
      const flags = prefix[0];
      const length = new DataView(prefix.buffer, prefix.byteOffset + 1, 4).getUint32(0);
      checkPrefix(flags, length, this.#maxBytes);
      if (this.#buffered - PREFIX < length) break;
      this.#take(PREFIX);
      frames.push({ flags, payload: this.#take(length) });
    }
    return frames;
  }

  /** Call at the end of the stream: throws if it stopped inside a frame. */
  finish(): void {
    const left = this.#buffered;
    if (left === 0) return;
    if (left < PREFIX) {
      throw new RpcError(
        status.INVALID_ARGUMENT,
        `Cannot decode frame: the stream ended ${left} bytes into a 5-byte frame prefix`,
      );
    }
    const prefix = this.#peek(PREFIX);
    const length = new DataView(prefix.buffer, prefix.byteOffset + 1, 4).getUint32(0);
    throw new RpcError(
      status.INVALID_ARGUMENT,
      `Cannot decode frame: the stream ended ${left - PREFIX} bytes into a ${length}-byte message`,
    );
  }

  /** The next `n` buffered bytes, without consuming them (n ≤ buffered). */
  #peek(n: number): Uint8Array {
    const first = this.#chunks[0];
    if (first.byteLength - this.#offset >= n) {
      return first.subarray(this.#offset, this.#offset + n);
    }
    const bytes = new Uint8Array(n);
    let filled = 0;
    for (let i = 0, from = this.#offset; filled < n; i++, from = 0) {
      const part = this.#chunks[i].subarray(from, from + n - filled);
      bytes.set(part, filled);
      filled += part.byteLength;
    }
    return bytes;
  }

  /** Consumes the next `n` buffered bytes (n ≤ buffered) into a new array. */
  #take(n: number): Uint8Array {
    const bytes = new Uint8Array(n);
    let filled = 0;
    while (filled < n) {
      const first = this.#chunks[0];
      const part = first.subarray(this.#offset, this.#offset + n - filled);
      bytes.set(part, filled);
      filled += part.byteLength;
      this.#offset += part.byteLength;
      if (this.#offset === first.byteLength) {
        this.#chunks.shift();
        this.#offset = 0;
      }
    }
    this.#buffered -= n;
    return bytes;
  }
}

function checkPrefix(flags: number, length: number, maxBytes: number): void {
  if (flags === FrameFlag.MESSAGE || flags === FrameFlag.KEEPALIVE) {
    if (length > maxBytes) {
      throw new RpcError(
        status.RESOURCE_EXHAUSTED,
        `Cannot decode frame: length ${length} exceeds the maximum of ${maxBytes} bytes`,
      );
    }
    if (flags === FrameFlag.KEEPALIVE && length !== 0) {
      throw new RpcError(
        status.INVALID_ARGUMENT,
        `Cannot decode frame: a keepalive frame must be empty, got ${length} bytes`,
      );
    }
    return;
  }
  if (flags === FrameFlag.TRAILER) {
    if (length > MAX_TRAILER_BYTES) {
      throw new RpcError(
        status.RESOURCE_EXHAUSTED,
        `Cannot decode frame: trailer length ${length} exceeds the maximum of ${MAX_TRAILER_BYTES} bytes`,
      );
    }
    return;
  }
  if (flags & FrameFlag.COMPRESSED) {
    throw new RpcError(
      status.UNIMPLEMENTED,
      "Cannot decode frame: compressed messages are not supported (no grpc-encoding is accepted)",
    );
  }
  throw new RpcError(
    status.INVALID_ARGUMENT,
    `Cannot decode frame: unknown flags 0x${flags.toString(16).padStart(2, "0")}`,
  );
}

const TIMEOUT_UNITS: Record<string, number> = {
  H: 3_600_000,
  M: 60_000,
  S: 1_000,
  m: 1,
  u: 0.001,
  n: 0.000001,
};

/**
 * Parses a `grpc-timeout` header (`"1500m"`) into milliseconds; undefined when absent or
 * malformed (gRPC allows at most 8 digits and a unit of H, M, S, m, u, n).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * assert.equal(parseTimeout("2S"), 2000);
 * assert.equal(parseTimeout("2 seconds"), undefined);
 * ```
 */
export function parseTimeout(header: string | null): number | undefined {
  const match = header?.match(/^(\d{1,8})([HMSmun])$/);
  if (!match) return undefined;
  return Number(match[1]) * TIMEOUT_UNITS[match[2]];
}

/** Formats milliseconds as a `grpc-timeout` header value. */
export function formatTimeout(ms: number): string {
  const whole = Math.max(0, Math.ceil(ms));
  return whole < 1e8 ? `${whole}m` : `${Math.ceil(whole / 1000)}S`;
}

/** A message frame, refusing messages over the size limit. */
export function encodeMessage(bytes: Uint8Array, maxBytes: number): Uint8Array<ArrayBuffer> {
  if (bytes.byteLength > maxBytes) {
    throw new RpcError(
      status.RESOURCE_EXHAUSTED,
      `Cannot send message: ${bytes.byteLength} bytes exceed the maximum of ${maxBytes} bytes`,
    );
  }
  return encodeFrame(FrameFlag.MESSAGE, bytes);
}
