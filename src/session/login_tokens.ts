// Login tokens: signed (HMAC-SHA256 with a key derived from the cluster secret), expiring,
// base64url; and the AuthError every login, token, resume and account failure is thrown as.
import { Buffer } from "node:buffer";
import { createHmac, randomBytes, timingSafeEqual } from "node:crypto";
import { CodedError, ErrorCode } from "../errors.ts";

/** The codes an {@linkcode AuthError} carries. */
export type AuthErrorCode =
  | typeof ErrorCode.UNAUTHENTICATED
  | typeof ErrorCode.TOKEN_EXPIRED
  | typeof ErrorCode.RESUME_FAILED
  | typeof ErrorCode.BAD_CREDENTIALS
  | typeof ErrorCode.USERNAME_TAKEN
  | typeof ErrorCode.BAD_REQUEST;

/**
 * A login, token, resume or account failure. Map `code` to the client: an ERROR frame and
 * close code on the WebSocket, an HTTP status on `/login`.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * const error = new AuthError("TOKEN_EXPIRED", "Cannot accept token: it expired");
 * assert.equal(error.name, "AuthError");
 * assert.equal(error.code, "TOKEN_EXPIRED");
 * ```
 */
export class AuthError extends CodedError {
  declare readonly code: AuthErrorCode;

  constructor(code: AuthErrorCode, message: string, options?: ErrorOptions) {
    super(code, message, options);
    this.name = "AuthError";
  }
}

/** Who a login token speaks for: a guest by display name, or a registered account. */
export type AccountKind = "guest" | "account";

/** Claims of a login token. `exp` is in ms since the Unix epoch; `jti` is unique per token. */
export interface TokenClaims {
  /** Stable subject id, e.g. "account:12" or "guest:Qm9i...". */
  sub: string;
  /** Display name shown to other players. */
  name: string;
  kind: AccountKind;
  exp: number;
  jti: string;
}

/** Longest token accepted, in characters (matches the client protocol's limit). */
export const MAX_TOKEN_LENGTH = 1024;
const KINDS: readonly AccountKind[] = ["guest", "account"];
const BASE64URL = /^[A-Za-z0-9_-]+$/;

/**
 * Signs and opens tokens of one purpose: `<prefix>.<base64url JSON>.<base64url HMAC-SHA256>`.
 * The HMAC key is derived from the secret and the purpose, so a token made for one purpose
 * (login, resume) never opens as another.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * const signer = new TokenSigner("0123456789abcdef", { purpose: "demo", prefix: "d1" });
 * const token = signer.sign({ hello: "world" });
 * assert.deepEqual(signer.open(token), { hello: "world" });
 * assert.equal(signer.open(token.slice(0, -2) + "AA"), undefined);
 * ```
 */
export class TokenSigner {
  readonly prefix: string;
  #key: Buffer;

  constructor(secret: string, options: { purpose: string; prefix: string }) {
    this.prefix = options.prefix;
    this.#key = createHmac("sha256", secret).update(`zonescaler ${options.purpose}`).digest();
  }

  /** A signed token carrying `payload` as JSON. */
  sign(payload: object): string {
    const body = Buffer.from(JSON.stringify(payload)).toString("base64url");
    return `${this.prefix}.${body}.${this.#mac(`${this.prefix}.${body}`).toString("base64url")}`;
  }

  /**
   * The payload of a genuine token (signature checked in constant time), or undefined for
   * anything malformed, forged or made for another purpose; the caller picks the error.
   */
  open(token: unknown): unknown {
    if (typeof token !== "string" || token.length > MAX_TOKEN_LENGTH) return undefined;
    const parts = token.split(".");
    if (parts.length !== 3 || parts[0] !== this.prefix) return undefined;
    const [, body, signature] = parts;
    if (!BASE64URL.test(body) || !BASE64URL.test(signature)) return undefined;
    const given = Buffer.from(signature, "base64url");
    const expected = this.#mac(`${this.prefix}.${body}`);
    if (given.length !== expected.length || !timingSafeEqual(given, expected)) return undefined;
    // One token, one spelling: a last character that differs only in unused bits is refused.
    if (given.toString("base64url") !== signature) return undefined;
    try {
      return JSON.parse(Buffer.from(body, "base64url").toString("utf8"));
    } catch {
      return undefined; // only reachable with a leaked key; still not an exception
    }
  }

  #mac(data: string): Buffer {
    return createHmac("sha256", this.#key).update(data).digest();
  }
}

/** A new random token id (128 bits, base64url). */
export function newTokenId(): string {
  return randomBytes(16).toString("base64url");
}

/**
 * Signs a login token for `claims`, adding a fresh `jti`. Throws TypeError for claims that
 * could never verify (a programming error, not bad input).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * const secret = "0123456789abcdef";
 * const token = signToken({ sub: "guest:1", name: "Ann", kind: "guest", exp: 2000 }, secret);
 * assert.equal(verifyToken(token, secret, 1000).name, "Ann");
 * assert.throws(() => verifyToken(token, secret, 2000), { code: "TOKEN_EXPIRED" });
 * assert.throws(() => verifyToken(token, "another secret!!", 1000), { code: "UNAUTHENTICATED" });
 * ```
 */
export function signToken(claims: Omit<TokenClaims, "jti">, secret: string): string {
  const full: TokenClaims = {
    sub: claims.sub,
    name: claims.name,
    kind: claims.kind,
    exp: claims.exp,
    jti: newTokenId(),
  };
  const problem = claimsProblem(full);
  if (problem) throw new TypeError(`Cannot sign token: ${problem}`);
  return loginSigner(secret).sign(full);
}

/**
 * Verifies a login token at time `now` (ms) and returns its claims. Throws
 * {@linkcode AuthError}: UNAUTHENTICATED when it is malformed, forged or signed with another
 * secret; TOKEN_EXPIRED when it is genuine but `now >= exp`.
 */
export function verifyToken(token: string, secret: string, now: number): TokenClaims {
  const claims = loginSigner(secret).open(token);
  if (claims === undefined || claimsProblem(claims)) {
    throw new AuthError(
      ErrorCode.UNAUTHENTICATED,
      "Cannot accept token: it is malformed or not signed by this cluster",
    );
  }
  const valid = claims as TokenClaims;
  if (now >= valid.exp) {
    throw new AuthError(
      ErrorCode.TOKEN_EXPIRED,
      `Cannot accept token: it expired at ${new Date(valid.exp).toISOString()}, log in again`,
    );
  }
  return valid;
}

function loginSigner(secret: string): TokenSigner {
  return new TokenSigner(secret, { purpose: "login token", prefix: "v1" });
}

function claimsProblem(value: unknown): string | undefined {
  if (typeof value !== "object" || value === null || Array.isArray(value)) return "not a map";
  const claims = value as Record<string, unknown>;
  const keys = Object.keys(claims);
  if (keys.length !== 5) return `expected 5 claims, got ${keys.length}`;
  if (!isId(claims.sub, 128)) return "sub must be a string of 1..128 characters";
  if (typeof claims.name !== "string" || claims.name.length === 0 || claims.name.length > 64) {
    return "name must be a string of 1..64 characters";
  }
  if (!KINDS.includes(claims.kind as AccountKind)) return `kind must be "guest" or "account"`;
  if (!Number.isSafeInteger(claims.exp)) return "exp must be an integer (ms since the epoch)";
  if (!isId(claims.jti, 64)) return "jti must be a string of 1..64 characters";
  return undefined;
}

function isId(value: unknown, max: number): value is string {
  return typeof value === "string" && value.length > 0 && value.length <= max;
}
