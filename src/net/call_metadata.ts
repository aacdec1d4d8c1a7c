// Call metadata: the string headers a call carries besides the ones the transport owns
// (content-type, grpc-timeout, ...), with the grpc-js shape call sites already use.

/** Headers the transport sets itself; metadata cannot override them. */
const RESERVED = new Set([
  "content-type",
  "content-length",
  "grpc-timeout",
  "grpc-status",
  "grpc-message",
  "grpc-encoding",
  "grpc-accept-encoding",
  "te",
  "host",
  "x-grpc-web",
  "zs-keepalive",
]);

/**
 * Lower-cased keys to lists of string values.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * const metadata = new Metadata();
 * metadata.set("ZS-Node", "w1");
 * assert.deepEqual(metadata.get("zs-node"), ["w1"]);
 * ```
 */
export class Metadata {
  #entries = new Map<string, string[]>();

  /** Replaces the values of `key`. */
  set(key: string, value: string): void {
    this.#entries.set(key.toLowerCase(), [value]);
  }

  /** Adds a value to `key`. */
  add(key: string, value: string): void {
    const k = key.toLowerCase();
    this.#entries.set(k, [...(this.#entries.get(k) ?? []), value]);
  }

  /** The values of `key` (empty when absent). */
  get(key: string): string[] {
    return this.#entries.get(key.toLowerCase()) ?? [];
  }

  /** The first value of each key. */
  getMap(): Record<string, string> {
    return Object.fromEntries([...this.#entries].map(([k, v]) => [k, v[0]]));
  }

  /** Copies the entries into request or response headers (values joined by ", "). */
  writeTo(headers: Headers): void {
    for (const [key, values] of this.#entries) {
      if (!RESERVED.has(key)) headers.set(key, values.join(", "));
    }
  }

  /** The metadata of received headers (reserved ones left out). */
  static fromHeaders(headers: Headers): Metadata {
    const metadata = new Metadata();
    for (const [key, value] of headers) if (!RESERVED.has(key)) metadata.set(key, value);
    return metadata;
  }
}

/** Metadata key carrying the cluster secret on every inter-node call. */
export const SECRET_METADATA = "zs-secret";
