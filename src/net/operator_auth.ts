// Operator authentication of HTTP routes: `Authorization: Bearer <operatorToken>` compared in
// constant time. Mutating routes always need it; read-only views need it unless the server is
// bound to loopback. Every refusal is logged and counted (zs_errors_total{code="UNAUTHENTICATED"}).
import { createHash, randomBytes, timingSafeEqual } from "node:crypto";
import { ErrorCode } from "../errors.ts";
import { jsonError } from "./http.ts";
import type { Logger } from "../observe/log.ts";

/** What a route does: `write` changes the cluster, `read` only shows it. */
export type Access = "read" | "write";

/** Options of {@linkcode OperatorAuth}. */
export interface OperatorAuthOptions {
  /** The operator token; "" disables every `write` route (and `read` ones off loopback). */
  token: string;
  /** The HTTP bind host: read-only views are open only when it is a loopback address. */
  host: string;
  log: Logger;
  /** Counts a refusal (a node's `metrics.countError`). */
  countError?: (code: typeof ErrorCode.UNAUTHENTICATED) => void;
}

/** Query parameter carrying the token for read-only GETs (EventSource cannot send headers). */
export const TOKEN_PARAM = "token";

/** True for hosts that only this machine can reach. */
export function isLoopbackHost(host: string): boolean {
  const h = host.replace(/^\[|\]$/g, "").toLowerCase();
  return h === "localhost" || h === "::1" || /^127\.\d+\.\d+\.\d+$/.test(h);
}

/** A fresh random operator token (32 bytes, base64url). */
export function generateOperatorToken(): string {
  return randomBytes(32).toString("base64url");
}

/**
 * Guards routes with the operator token.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { Logger } from "../observe/log.ts";
 * const auth = new OperatorAuth({
 *   token: "s3cret-operator-token",
 *   host: "127.0.0.1",
 *   log: new Logger({ role: "coordinator", sink: () => {} }),
 * });
 * const url = new URL("http://x/api/autoscale");
 * assert.equal(auth.check(new Request(url, { method: "POST" }), url, "write")?.status, 401);
 * const good = new Request(url, {
 *   method: "POST",
 *   headers: { authorization: "Bearer s3cret-operator-token" },
 * });
 * assert.equal(auth.check(good, url, "write"), undefined);
 * assert.equal(auth.check(new Request(url), url, "read"), undefined); // loopback: reads open
 * ```
 */
export class OperatorAuth {
  readonly openReads: boolean;
  readonly enabled: boolean;
  #digest: Uint8Array;
  #options: OperatorAuthOptions;

  constructor(options: OperatorAuthOptions) {
    this.#options = options;
    this.enabled = options.token !== "";
    this.openReads = isLoopbackHost(options.host);
    this.#digest = digest(options.token);
  }

  /**
   * Undefined when the request may go on; otherwise the 401 answer to send. A token given as
   * `?token=` (read-only GETs only) is removed from `url` so routes never see it.
   */
  check(request: Request, url: URL, access: Access): Response | undefined {
    const fromQuery = url.searchParams.get(TOKEN_PARAM);
    if (fromQuery !== null) url.searchParams.delete(TOKEN_PARAM);
    if (access === "read" && this.openReads) return undefined;
    const header = request.headers.get("authorization") ?? "";
    const bearer = /^Bearer\s+(\S+)\s*$/i.exec(header)?.[1];
    const given = bearer ?? (access === "read" ? fromQuery ?? undefined : undefined);
    if (this.enabled && given !== undefined && timingSafeEqual(digest(given), this.#digest)) {
      return undefined;
    }
    const reason = !this.enabled
      ? "no operator token is configured (set operatorToken or ZS_OPERATOR_TOKEN)"
      : given === undefined
      ? "send Authorization: Bearer <operator token>"
      : "the operator token is wrong";
    this.#options.countError?.(ErrorCode.UNAUTHENTICATED);
    this.#options.log.warn("http.unauthenticated", {
      method: request.method,
      path: url.pathname,
      reason: given === undefined ? "missing" : this.enabled ? "wrong" : "disabled",
    });
    const response = jsonError(
      401,
      ErrorCode.UNAUTHENTICATED,
      `${request.method} ${url.pathname} needs the operator token: ${reason}`,
    );
    response.headers.set("www-authenticate", 'Bearer realm="zonescaler"');
    return response;
  }
}

// Equal-length digests make the comparison constant-time whatever the token lengths are.
function digest(token: string): Uint8Array {
  return new Uint8Array(createHash("sha256").update(token).digest());
}
