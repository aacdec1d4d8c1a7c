// The HTTP side of logging in (docs/protocol.md): the POST /login body, the response and
// gateway list shapes, and the HTTP status of every error code a client can meet.
import { AuthError } from "./login_tokens.ts";
import { MAX_NAME_CHARS } from "../protocol/client_protocol.ts";
import { ErrorCode } from "../errors.ts";
import { decoderStyle, inputReader, isPlainObject } from "../protocol/input_reader.ts";

/** A validated POST /login body. */
export type LoginRequest =
  | { kind: "guest"; name: string }
  | { kind: "account"; username: string; password: string; register: boolean };

/** One gateway in `GET /gateways` and in the login response, newest version first. */
export interface GatewayInfo {
  id: string;
  /** WebSocket URL of its `/ws` endpoint, e.g. "ws://10.0.0.5:8080/ws". */
  url: string;
  version: string;
  /** Sessions it holds now (a hint for picking the least loaded). */
  sessions: number;
}

/** The body of a successful POST /login. `expiresAt` in ms since the Unix epoch. */
export interface LoginResponse {
  token: string;
  expiresAt: number;
  gateways: GatewayInfo[];
}

/** Login errors: `Cannot log in: <field> must be <expected>, got <value>` (BAD_REQUEST). */
const login = inputReader(decoderStyle(bad));

/**
 * Validates a POST /login body (parsed JSON, or the raw text). Throws {@linkcode AuthError}
 * BAD_REQUEST naming the problem; username and password rules are checked by the account
 * store, which answers BAD_REQUEST too.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * assert.deepEqual(parseLoginRequest('{"guest":true,"name":" Ann "}'), { kind: "guest", name: "Ann" });
 * assert.throws(() => parseLoginRequest('{"guest":true}'), { code: "BAD_REQUEST" });
 * ```
 */
export function parseLoginRequest(body: unknown): LoginRequest {
  let value = body;
  if (typeof body === "string") {
    try {
      value = JSON.parse(body);
    } catch (error) {
      bad(`the body is not valid JSON (${(error as Error).message})`);
    }
  }
  if (!isPlainObject(value)) bad("the body must be a JSON object");
  if (value.guest === true) {
    login.exactKeys(value, "the body", [], ["guest", "name"]);
    return { kind: "guest", name: displayName(value.name) };
  }
  if (Object.hasOwn(value, "guest")) login.boolean(value.guest, "guest");
  login.exactKeys(value, "the body", [], ["guest", "username", "password", "register"]);
  return {
    kind: "account",
    username: login.string(value.username, "username"),
    password: login.string(value.password, "password"),
    register: Object.hasOwn(value, "register") && login.boolean(value.register, "register"),
  };
}

/**
 * A guest's display name: trimmed, 1–32 Unicode code points, no control characters. Throws
 * {@linkcode AuthError} BAD_REQUEST otherwise.
 */
export function displayName(value: unknown): string {
  return login.text(login.string(value, "name").trim(), "name", 1, MAX_NAME_CHARS);
}

function bad(problem: string): never {
  throw new AuthError(ErrorCode.BAD_REQUEST, `Cannot log in: ${problem}`);
}
