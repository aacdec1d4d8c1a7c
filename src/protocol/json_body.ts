// Reading an untrusted HTTP request body as one small JSON object with known keys (login, the
// coordinator's control API): size first (streamed, see src/net/body_limit.ts), then UTF-8,
// JSON, shape and keys.
import { CodedError, ErrorCode } from "../errors.ts";
import { readBodyLimited } from "../net/body_limit.ts";
import { isPlainObject } from "./input_reader.ts";

/** Largest request body accepted, in bytes. */
export const MAX_BODY_BYTES = 4096;

/**
 * Reads a JSON object body of at most {@linkcode MAX_BODY_BYTES} with only the allowed keys; an
 * empty body is `{}`. Throws CodedError TOO_BIG (413) or BAD_REQUEST (400) naming the problem.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * const body = await readJsonObject(new Request("http://x/", { method: "POST", body: '{"a":1}' }), ["a"]);
 * assert.deepEqual(body, { a: 1 });
 * ```
 */
export async function readJsonObject(
  request: Request,
  allowed: readonly string[],
): Promise<Record<string, unknown>> {
  const bytes = await readBodyLimited(request, MAX_BODY_BYTES);
  if (bytes.length === 0) return {}; // no body: no options
  let value: unknown;
  try {
    value = JSON.parse(new TextDecoder("utf-8", { fatal: true }).decode(bytes));
  } catch (error) {
    throw new CodedError(
      ErrorCode.BAD_REQUEST,
      `Cannot read body: not valid JSON (${(error as Error).message})`,
      { cause: error },
    );
  }
  if (!isPlainObject(value)) {
    throw new CodedError(ErrorCode.BAD_REQUEST, "Cannot read body: expected a JSON object");
  }
  for (const key of Object.keys(value)) {
    if (!allowed.includes(key)) {
      throw new CodedError(
        ErrorCode.BAD_REQUEST,
        `Cannot read body: unknown key ${JSON.stringify(key)}`,
      );
    }
  }
  return value;
}
