// The HTTP side of logging in (docs/protocol.md): the POST /login body, the response and
// gateway list shapes, and the HTTP status of every error code a client can meet.
import { AuthError } from "./login_tokens.ts";
import { MAX_NAME_CHARS } from "../protocol/client_protocol.ts";
import { ErrorCode } from "../errors.ts";

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

// deno-lint-ignore no-control-regex
const CONTROL = /[\u0000-\u001f\u007f-\u009f]/;

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
  if (typeof value !== "object" || value === null || Array.isArray(value)) {
    bad("the body must be a JSON object");
  }
  const fields = value as Record<string, unknown>;
  if (fields.guest === true) {
    onlyKeys(fields, ["guest", "name"]);
    return { kind: "guest", name: displayName(fields.name) };
  }
  if (Object.hasOwn(fields, "guest") && fields.guest !== false) {
    bad(`"guest" must be true or false`);
  }
  onlyKeys(fields, ["guest", "username", "password", "register"]);
  if (typeof fields.username !== "string") bad(`"username" must be a string`);
  if (typeof fields.password !== "string") bad(`"password" must be a string`);
  if (Object.hasOwn(fields, "register") && typeof fields.register !== "boolean") {
    bad(`"register" must be true or false`);
  }
  return {
    kind: "account",
    username: fields.username,
    password: fields.password,
    register: fields.register === true,
  };
}

/**
 * A guest's display name: trimmed, 1–32 Unicode code points, no control characters. Throws
 * {@linkcode AuthError} BAD_REQUEST otherwise.
 */
export function displayName(value: unknown): string {
  if (typeof value !== "string") bad(`"name" must be a string`);
  const name = value.trim();
  const length = name.length > 2 * MAX_NAME_CHARS ? Infinity : [...name].length;
  if (length < 1 || length > MAX_NAME_CHARS || CONTROL.test(name) || !name.isWellFormed()) {
    bad(`"name" must be 1-${MAX_NAME_CHARS} characters without control characters`);
  }
  return name;
}

function onlyKeys(fields: Record<string, unknown>, allowed: readonly string[]): void {
  for (const key of Object.keys(fields)) {
    if (!allowed.includes(key)) bad(`unknown field ${JSON.stringify(key.slice(0, 32))}`);
  }
}

function bad(problem: string): never {
  throw new AuthError(ErrorCode.BAD_REQUEST, `Cannot log in: ${problem}`);
}
