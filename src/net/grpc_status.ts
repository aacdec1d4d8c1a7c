// gRPC status codes and the error that carries one across a call, as gRPC defines them
// (grpc/grpc doc/statuscodes.md), so every inter-node failure reads the same in logs and tests.

/**
 * The gRPC status codes.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * assert.equal(status.UNAUTHENTICATED, 16);
 * ```
 */
export const status = {
  OK: 0,
  CANCELLED: 1,
  UNKNOWN: 2,
  INVALID_ARGUMENT: 3,
  DEADLINE_EXCEEDED: 4,
  NOT_FOUND: 5,
  ALREADY_EXISTS: 6,
  PERMISSION_DENIED: 7,
  RESOURCE_EXHAUSTED: 8,
  FAILED_PRECONDITION: 9,
  ABORTED: 10,
  OUT_OF_RANGE: 11,
  UNIMPLEMENTED: 12,
  INTERNAL: 13,
  UNAVAILABLE: 14,
  DATA_LOSS: 15,
  UNAUTHENTICATED: 16,
} as const;

/** One of the codes in {@linkcode status}. */
export type status = typeof status[keyof typeof status];

const NAMES = new Map<number, string>(Object.entries(status).map(([name, code]) => [code, name]));

/** The name of a status code (`"UNAVAILABLE"`), or `CODE_<n>` for a code gRPC does not define. */
export function statusName(code: number): string {
  return NAMES.get(code) ?? `CODE_${code}`;
}

/** A call's final status: a code and a human-readable message (`grpc-message`). */
export interface StatusObject {
  code: status;
  details: string;
}

/** The error a failed call reports: its gRPC status code and message. */
export class RpcError extends Error {
  readonly code: status;
  readonly details: string;

  constructor(code: status, details: string, options?: ErrorOptions) {
    super(`${code} ${statusName(code)}: ${details}`, options);
    this.name = "RpcError";
    this.code = code;
    this.details = details;
  }
}

/**
 * The gRPC status code of an error from a call, or undefined for other errors.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * assert.equal(statusOf(new RpcError(status.NOT_FOUND, "no such worker")), status.NOT_FOUND);
 * assert.equal(statusOf(new Error("plain")), undefined);
 * ```
 */
export function statusOf(error: unknown): status | undefined {
  if (typeof error === "object" && error !== null && "code" in error) {
    const code = (error as { code: unknown }).code;
    if (typeof code === "number" && NAMES.has(code)) return code as status;
  }
  return undefined;
}

/** A status from whatever a handler passed as an error (`{ code, details }`, an Error, ...). */
export function toStatus(error: unknown): StatusObject {
  const code = statusOf(error);
  if (typeof error === "object" && error !== null) {
    const e = error as { details?: unknown; message?: unknown };
    const details = typeof e.details === "string"
      ? e.details
      : typeof e.message === "string"
      ? e.message
      : String(error);
    return { code: code ?? status.UNKNOWN, details };
  }
  return { code: status.UNKNOWN, details: String(error) };
}

/**
 * The status a response without `grpc-status` stands for, from its HTTP status (the mapping of
 * grpc/grpc doc/http-grpc-status-mapping.md).
 */
export function statusOfHttp(httpStatus: number): status {
  switch (httpStatus) {
    case 400:
      return status.INTERNAL;
    case 401:
      return status.UNAUTHENTICATED;
    case 403:
      return status.PERMISSION_DENIED;
    case 404:
      return status.UNIMPLEMENTED;
    case 429:
    case 502:
    case 503:
    case 504:
      return status.UNAVAILABLE;
    default:
      return status.UNKNOWN;
  }
}

/**
 * Percent-encodes a status message for the `grpc-message` field, as gRPC requires (every byte
 * outside printable ASCII, and `%`).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * assert.equal(encodeStatusMessage("50% off\n"), "50%25 off%0A");
 * assert.equal(decodeStatusMessage("50%25 off%0A"), "50% off\n");
 * ```
 */
export function encodeStatusMessage(message: string): string {
  let out = "";
  for (const byte of new TextEncoder().encode(message)) {
    if (byte >= 0x20 && byte <= 0x7e && byte !== 0x25) out += String.fromCharCode(byte);
    else out += `%${byte.toString(16).toUpperCase().padStart(2, "0")}`;
  }
  return out;
}

/** Reverses {@linkcode encodeStatusMessage}; malformed escapes are kept as they are. */
export function decodeStatusMessage(encoded: string): string {
  if (!encoded.includes("%")) return encoded;
  const bytes: number[] = [];
  for (let i = 0; i < encoded.length; i++) {
    const hex = encoded.slice(i + 1, i + 3);
    if (encoded[i] === "%" && /^[0-9a-fA-F]{2}$/.test(hex)) {
      bytes.push(parseInt(hex, 16));
      i += 2;
    } else {
      bytes.push(...new TextEncoder().encode(encoded[i]));
    }
  }
  return new TextDecoder().decode(new Uint8Array(bytes));
}
