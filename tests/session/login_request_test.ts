import assert from "node:assert/strict";
import fc from "fast-check";
import { AuthError } from "../../src/session/login_tokens.ts";
import { httpStatusOf } from "../../src/net/http.ts";
import { displayName, parseLoginRequest } from "../../src/session/login_request.ts";

function bad(body: unknown, pattern: RegExp): void {
  assert.throws(() => parseLoginRequest(body), (error: unknown) => {
    assert.ok(error instanceof AuthError, `expected AuthError, got ${error}`);
    assert.equal(error.code, "BAD_REQUEST");
    assert.match(error.message, pattern);
    return true;
  });
}

Deno.test("guest, login and register bodies parse into their kinds", () => {
  assert.deepEqual(parseLoginRequest({ guest: true, name: "Zoë 🐐" }), {
    kind: "guest",
    name: "Zoë 🐐",
  });
  assert.deepEqual(parseLoginRequest('{"username":"ann","password":"secret-1"}'), {
    kind: "account",
    username: "ann",
    password: "secret-1",
    register: false,
  });
  assert.deepEqual(
    parseLoginRequest({ guest: false, username: "ann", password: "secret-1", register: true }),
    { kind: "account", username: "ann", password: "secret-1", register: true },
  );
});

Deno.test("malformed login bodies are BAD_REQUEST naming the problem", () => {
  bad("{", /not valid JSON/);
  bad("[]", /must be a JSON object/);
  bad(null, /must be a JSON object/);
  bad({ guest: true }, /name must be a string, got nothing/);
  bad({ guest: true, name: "   " }, /name must be 1\.\.32 characters, got 0/);
  bad({ guest: true, name: "x".repeat(33) }, /name must be 1\.\.32 characters, got 33/);
  bad({ guest: true, name: "a\nb" }, /name contains a control character/);
  bad({ guest: true, name: "\ud800" }, /name contains an unpaired surrogate/);
  bad({ guest: true, name: "ann", password: "x" }, /the body has an unknown field "password"/);
  bad({ guest: "yes", name: "ann" }, /guest must be a boolean, got "yes"/);
  bad({ username: "ann" }, /password must be a string, got nothing/);
  bad({ password: "secret-1" }, /username must be a string, got nothing/);
  bad({ username: "ann", password: "secret-1", register: "yes" }, /register must be a boolean/);
  bad(
    { username: "ann", password: "secret-1", admin: true },
    /the body has an unknown field "admin"/,
  );
});

Deno.test("display names are trimmed and counted in code points", () => {
  assert.equal(displayName("  Ann  "), "Ann");
  assert.equal(displayName("🐐".repeat(32)), "🐐".repeat(32));
  assert.throws(() => displayName("🐐".repeat(33)), AuthError);
  fc.assert(
    fc.property(fc.anything(), (value) => {
      try {
        const name = displayName(value);
        assert.ok([...name].length >= 1 && [...name].length <= 32);
      } catch (error) {
        assert.ok(error instanceof AuthError);
      }
    }),
    { numRuns: 500 },
  );
});

Deno.test("every client-facing error code has its HTTP status", () => {
  assert.deepEqual(
    ["BAD_REQUEST", "BAD_CREDENTIALS", "TOKEN_EXPIRED", "USERNAME_TAKEN", "TOO_BIG", "RATE_LIMITED"]
      .map((code) => httpStatusOf(code as "BAD_REQUEST")),
    [400, 401, 401, 409, 413, 429],
  );
  assert.equal(httpStatusOf("STALE_EPOCH"), 500);
});
