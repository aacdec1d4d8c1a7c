// Reading an untrusted HTTP request body with a byte budget: the declared length is checked
// first, then a counting reader stops at the limit and cancels the stream, so an oversized
// chunked upload costs at most `maxBytes` plus one chunk of memory before its 413.
import { CodedError, ErrorCode } from "../errors.ts";

/**
 * Reads the whole body of `request`, at most `maxBytes`. Throws CodedError TOO_BIG (HTTP 413)
 * as soon as the declared Content-Length or the bytes received pass the limit, without reading
 * further; the rest of the upload is cancelled, never buffered.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * const ok = await readBodyLimited(new Request("http://x/", { method: "POST", body: "hi" }), 4);
 * assert.equal(new TextDecoder().decode(ok), "hi");
 * await assert.rejects(
 *   readBodyLimited(new Request("http://x/", { method: "POST", body: "hello" }), 4),
 *   { code: "TOO_BIG" },
 * );
 * ```
 */
export async function readBodyLimited(request: Request, maxBytes: number): Promise<Uint8Array> {
  const header = request.headers.get("content-length");
  if (header !== null) {
    const declared = Number(header);
    if (!/^\d+$/.test(header.trim()) || !Number.isSafeInteger(declared)) {
      throw new CodedError(
        ErrorCode.BAD_REQUEST,
        `Cannot read body: Content-Length ${JSON.stringify(header.slice(0, 40))} is not a length`,
      );
    }
    if (declared > maxBytes) tooBig(`${declared} bytes`, maxBytes);
  }
  if (!request.body) return new Uint8Array(0);
  const reader = request.body.getReader();
  const chunks: Uint8Array[] = [];
  let total = 0;
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      total += value.byteLength;
      if (total > maxBytes) {
        // Stop the upload here: cancelling releases what the server holds for this body.
        reader.cancel().catch(() => {});
        tooBig(`more than ${maxBytes} bytes`, maxBytes);
      }
      chunks.push(value);
    }
  } finally {
    reader.releaseLock();
  }
  if (chunks.length === 1) return chunks[0];
  const bytes = new Uint8Array(total);
  let at = 0;
  for (const chunk of chunks) {
    bytes.set(chunk, at);
    at += chunk.byteLength;
  }
  return bytes;
}

function tooBig(size: string, maxBytes: number): never {
  throw new CodedError(
    ErrorCode.TOO_BIG,
    `Cannot read body: ${size} exceeds the maximum of ${maxBytes}`,
  );
}
