import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { DatabaseSync } from "node:sqlite";
import { AuthError } from "../../src/session/login_tokens.ts";
import {
  AccountStore,
  type PasswordKdf,
  SCRYPT_PARAMS,
  scryptKdf,
  type ScryptParams,
} from "../../src/session/account_store.ts";

interface KdfCall {
  password: string;
  salt: Uint8Array;
  params: ScryptParams;
}

/** A cheap stand-in for scrypt that records every call. */
function spyKdf(real: PasswordKdf | undefined = undefined) {
  const calls: KdfCall[] = [];
  const kdf: PasswordKdf = (password, salt, params) => {
    calls.push({ password, salt: new Uint8Array(salt), params });
    if (real) return real(password, salt, params);
    const key = createHash("sha512").update(password).update(salt).digest();
    return Promise.resolve(new Uint8Array(key));
  };
  return { calls, kdf };
}

async function fails(promise: Promise<unknown>, code: string, message?: RegExp): Promise<void> {
  await assert.rejects(promise, (error: unknown) => {
    assert.ok(error instanceof AuthError, `expected AuthError, got ${error}`);
    assert.equal(error.code, code);
    if (message) assert.match(error.message, message);
    return true;
  });
}

Deno.test("register then verify with real scrypt at N=16384, r=8, p=1, 64-byte keys", async () => {
  const { calls, kdf } = spyKdf(scryptKdf);
  using accounts = new AccountStore({ path: ":memory:", kdf, now: () => 1234 });
  const ann = await accounts.register("ann", "correct horse battery");
  assert.deepEqual(ann, { id: 1, username: "ann", createdAt: 1234 });
  assert.deepEqual(await accounts.verify("ann", "correct horse battery"), ann);
  assert.equal(calls.length, 2);
  for (const call of calls) {
    assert.deepEqual(call.params, SCRYPT_PARAMS);
    assert.deepEqual(call.params, { N: 16384, r: 8, p: 1, keyLength: 64 });
    assert.equal(call.salt.length, 16);
  }
  assert.deepEqual(calls[0].salt, calls[1].salt);
  await fails(accounts.verify("ann", "correct horse battery!"), "BAD_CREDENTIALS");
});

Deno.test("unknown user and wrong password fail alike, each after one scrypt", async () => {
  const { calls, kdf } = spyKdf();
  using accounts = new AccountStore({ path: ":memory:", kdf });
  await accounts.register("bob_1", "hunter22hunter22");
  calls.length = 0;
  const messages: string[] = [];
  for (
    const [username, password] of [["bob_1", "wrong-password"], ["nobody", "hunter22hunter22"], [
      "x",
      "y",
    ]]
  ) {
    await assert.rejects(accounts.verify(username, password), (error: unknown) => {
      assert.ok(error instanceof AuthError);
      assert.equal(error.code, "BAD_CREDENTIALS");
      messages.push(error.message);
      return true;
    });
  }
  assert.equal(calls.length, 3, "the scrypt work is done for unknown users too");
  assert.equal(new Set(messages).size, 1, "one message for every failure");
  assert.equal(messages[0], "Cannot log in: wrong username or password");
  await fails(accounts.verify(42 as unknown as string, {} as unknown as string), "BAD_CREDENTIALS");
});

Deno.test("usernames are unique ignoring case and verify ignores case too", async () => {
  const { kdf } = spyKdf();
  using accounts = new AccountStore({ path: ":memory:", kdf });
  const alice = await accounts.register("Alice", "password-1");
  await fails(accounts.register("alice", "password-2"), "USERNAME_TAKEN", /"alice" is taken/);
  await fails(accounts.register("ALICE", "password-2"), "USERNAME_TAKEN");
  assert.deepEqual(await accounts.verify("aLiCe", "password-1"), alice);
});

Deno.test("concurrent registrations of one name create exactly one account", async () => {
  const { kdf } = spyKdf();
  using accounts = new AccountStore({ path: ":memory:", kdf });
  const results = await Promise.allSettled(
    ["carol", "Carol", "CAROL"].map((name) => accounts.register(name, "password-1")),
  );
  assert.equal(results.filter((r) => r.status === "fulfilled").length, 1);
  for (const result of results) {
    if (result.status === "rejected") assert.equal(result.reason.code, "USERNAME_TAKEN");
  }
});

Deno.test("each account gets its own random salt, so equal passwords hash differently", async () => {
  const { calls, kdf } = spyKdf();
  using accounts = new AccountStore({ path: ":memory:", kdf });
  await accounts.register("dave", "same-password");
  await accounts.register("erin", "same-password");
  assert.notDeepEqual(calls[0].salt, calls[1].salt);
});

Deno.test("username and password rules are BAD_REQUEST naming the rule", async () => {
  const { calls, kdf } = spyKdf();
  using accounts = new AccountStore({ path: ":memory:", kdf });
  for (const username of ["ab", "a".repeat(33), "has space", "ünïcode", "semi;colon", ""]) {
    await fails(accounts.register(username, "password-1"), "BAD_REQUEST", /username must be 3-32/);
  }
  for (const password of ["short77", "p".repeat(257), "😀".repeat(257)]) {
    await fails(accounts.register("frank", password), "BAD_REQUEST", /password must be 8-256/);
  }
  await fails(accounts.register("frank", 12345678 as unknown as string), "BAD_REQUEST");
  assert.equal(calls.length, 0, "no hashing for refused input");
  // The limits themselves are allowed; passwords count code points.
  await accounts.register("abc", "p".repeat(8));
  await accounts.register("a".repeat(32), "p".repeat(256));
  await accounts.register("emoji.user-1", "😀".repeat(256));
  assert.equal((await accounts.verify("emoji.user-1", "😀".repeat(256))).username, "emoji.user-1");
});

Deno.test("accounts persist in the file, the schema is migrated once and newer ones refused", async () => {
  const dir = await Deno.makeTempDir();
  const path = `${dir}/accounts.db`;
  try {
    const { kdf } = spyKdf();
    const first = new AccountStore({ path, kdf });
    const grace = await first.register("grace", "password-1");
    first.close();
    first.close(); // closing twice is harmless
    const second = new AccountStore({ path, kdf });
    assert.deepEqual(await second.verify("grace", "password-1"), grace);
    second.close();
    const db = new DatabaseSync(path);
    assert.deepEqual({ ...db.prepare("PRAGMA user_version").get() }, { user_version: 1 });
    db.exec("PRAGMA user_version = 99");
    db.close();
    assert.throws(
      () => new AccountStore({ path, kdf }),
      /schema version 99 is newer than this build knows \(1\)/,
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
