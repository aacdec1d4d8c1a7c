import assert from "node:assert/strict";
import { Buffer } from "node:buffer";
import fc from "fast-check";
import {
  AuthError,
  signToken,
  type TokenClaims,
  TokenSigner,
  verifyToken,
} from "../../src/session/login_tokens.ts";
import { decodeClientFrame, Op } from "../../src/protocol/client_protocol.ts";
import { ResumeTokens } from "../../src/session/resume_tokens.ts";

const SECRET = "cluster-secret-0123456789";
const CLAIMS = { sub: "account:7", name: "Ann", kind: "account", exp: 10_000 } as const;

function rejectsWith(token: unknown, code: string, now = 5_000): void {
  assert.throws(() => verifyToken(token as string, SECRET, now), (error: unknown) => {
    assert.ok(error instanceof AuthError, `expected AuthError, got ${error}`);
    assert.equal(error.code, code);
    return true;
  });
}

/** Re-signs arbitrary claims with the real login key, as only a holder of the secret could. */
function signedClaims(claims: unknown): string {
  return new TokenSigner(SECRET, { purpose: "login token", prefix: "v1" }).sign(claims as object);
}

Deno.test("a signed token verifies with its claims and a fresh jti per token", () => {
  const first = signToken(CLAIMS, SECRET);
  const second = signToken(CLAIMS, SECRET);
  const claims = verifyToken(first, SECRET, 9_999);
  assert.deepEqual({ ...claims, jti: "" }, { ...CLAIMS, jti: "" });
  assert.match(claims.jti, /^[A-Za-z0-9_-]{22}$/);
  assert.notEqual(verifyToken(second, SECRET, 0).jti, claims.jti);
  assert.notEqual(first, second);
});

Deno.test("a token expires exactly at exp with TOKEN_EXPIRED", () => {
  const token = signToken(CLAIMS, SECRET);
  assert.equal(verifyToken(token, SECRET, CLAIMS.exp - 1).sub, "account:7");
  rejectsWith(token, "TOKEN_EXPIRED", CLAIMS.exp);
  rejectsWith(token, "TOKEN_EXPIRED", CLAIMS.exp + 1);
});

Deno.test("a token signed with another secret or tampered with is UNAUTHENTICATED", () => {
  const token = signToken(CLAIMS, SECRET);
  const [prefix, body, signature] = token.split(".");
  // Another cluster's secret.
  rejectsWith(signToken(CLAIMS, "some-other-secret-xyz"), "UNAUTHENTICATED");
  // Claims changed (promoted to another account), signature kept.
  const claims = JSON.parse(Buffer.from(body, "base64url").toString());
  const forgedBody = Buffer.from(JSON.stringify({ ...claims, sub: "account:1" })).toString(
    "base64url",
  );
  rejectsWith(`${prefix}.${forgedBody}.${signature}`, "UNAUTHENTICATED");
  // Expiry pushed out: a tampered, expired token is refused as forged, never as expired.
  const later = Buffer.from(JSON.stringify({ ...claims, exp: 99_999 })).toString("base64url");
  rejectsWith(`${prefix}.${later}.${signature}`, "UNAUTHENTICATED", 20_000);
  // Every single-character change of the signature.
  for (let i = 0; i < signature.length; i++) {
    const flipped = signature.slice(0, i) + (signature[i] === "A" ? "B" : "A") +
      signature.slice(i + 1);
    rejectsWith(`${prefix}.${body}.${flipped}`, "UNAUTHENTICATED");
  }
  // Truncated or extended signature, no signature, another version prefix.
  rejectsWith(`${prefix}.${body}.${signature.slice(0, -1)}`, "UNAUTHENTICATED");
  rejectsWith(`${prefix}.${body}.${signature}AA`, "UNAUTHENTICATED");
  rejectsWith(`${prefix}.${body}.`, "UNAUTHENTICATED");
  rejectsWith(`v2.${body}.${signature}`, "UNAUTHENTICATED");
});

Deno.test("malformed tokens are UNAUTHENTICATED, never another error", () => {
  for (
    const token of [
      "",
      "v1",
      "v1.abc",
      "v1.a.b.c",
      "v1.!!!.abc",
      "v1.abc.def",
      "x".repeat(5000),
      42,
      null,
      undefined,
      { token: "v1.a.b" },
    ]
  ) {
    rejectsWith(token, "UNAUTHENTICATED");
  }
  fc.assert(
    fc.property(fc.oneof(fc.string(), fc.stringMatching(/^v1\.[A-Za-z0-9_-]*\.[A-Za-z0-9_-]*$/)), (
      token,
    ) => rejectsWith(token, "UNAUTHENTICATED")),
    { numRuns: 1000 },
  );
});

Deno.test("genuinely signed but ill-formed claims are UNAUTHENTICATED", () => {
  const base: Record<string, unknown> = { ...CLAIMS, jti: "abc" };
  assert.equal(verifyToken(signedClaims(base), SECRET, 0).jti, "abc");
  const bad: unknown[] = [
    { ...base, kind: "admin" },
    { ...base, exp: "10000" },
    { ...base, exp: 1.5 },
    { ...base, sub: "" },
    { ...base, name: 7 },
    { ...base, role: "admin" },
    { sub: "a", name: "b", kind: "guest", exp: 10_000 },
    [base],
    "claims",
    null,
  ];
  for (const claims of bad) rejectsWith(signedClaims(claims), "UNAUTHENTICATED");
});

Deno.test("a resume token is not a login token and a login token does not resume", async () => {
  const resume = new ResumeTokens({ secret: SECRET, now: () => 0 });
  const resumeToken = await resume.issue("s1", 1, 60_000);
  rejectsWith(resumeToken, "UNAUTHENTICATED");
  // Same body under the login prefix: the purpose-derived key still refuses it.
  rejectsWith(resumeToken.replace(/^r1\./, "v1."), "UNAUTHENTICATED");
  await assert.rejects(resume.redeem(signToken(CLAIMS, SECRET)), { code: "RESUME_FAILED" });
});

Deno.test("signToken refuses claims that could never verify", () => {
  const bad: Array<Omit<TokenClaims, "jti">> = [
    { ...CLAIMS, sub: "" },
    { ...CLAIMS, exp: Number.NaN },
    { ...CLAIMS, kind: "root" as "guest" },
    { ...CLAIMS, name: "" },
  ];
  for (const claims of bad) assert.throws(() => signToken(claims, SECRET), TypeError);
});

Deno.test("tokens with the longest names fit in a HELLO frame", () => {
  const name = "😀".repeat(32);
  const claims = { sub: `guest:${"x".repeat(120)}`, name, kind: "guest", exp: 2 ** 50 } as const;
  for (const token of [signToken(claims, SECRET)]) {
    assert.ok(token.length <= 1024, `token of ${token.length} characters`);
    const hello = decodeClientFrame(JSON.stringify({ op: Op.HELLO, protocol: 1, token }), {
      maxBytes: 8192,
    });
    assert.equal(verifyToken(hello.op === Op.HELLO ? hello.token! : "", SECRET, 0).name, name);
  }
});
