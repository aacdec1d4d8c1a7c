import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { DatabaseSync } from "node:sqlite";
import postgres from "postgres";
import { SqliteAccountRecords } from "../../src/session/sqlite_accounts.ts";
import { PostgresAccountRecords } from "../../src/session/postgres_accounts.ts";
import { startPostgres } from "../../testing/postgres.ts";
import { AuthError } from "../../src/session/login_tokens.ts";
import {
  type AccountRecords,
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

/** Opens a fresh, empty store of the implementation under test. */
type Open = (options: { kdf: PasswordKdf; now?: () => number }) => Promise<AccountStore>;

/** The conformance suite: every AccountRecords implementation must pass each case. */
const CONFORMANCE: Array<{ name: string; run: (open: Open) => Promise<void> }> = [
  {
    name: "unknown user and wrong password fail alike, each after one scrypt",
    async run(open) {
      const { calls, kdf } = spyKdf();
      await using accounts = await open({ kdf });
      await accounts.register("bob_1", "hunter22hunter22");
      calls.length = 0;
      const messages: string[] = [];
      for (
        const [username, password] of [
          ["bob_1", "wrong-password"],
          ["nobody", "hunter22hunter22"],
          [
            "x",
            "y",
          ],
        ]
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
      await fails(
        accounts.verify(42 as unknown as string, {} as unknown as string),
        "BAD_CREDENTIALS",
      );
    },
  },
  {
    name: "usernames are unique ignoring case and verify ignores case too",
    async run(open) {
      const { kdf } = spyKdf();
      await using accounts = await open({ kdf });
      const alice = await accounts.register("Alice", "password-1");
      await fails(accounts.register("alice", "password-2"), "USERNAME_TAKEN", /"alice" is taken/);
      await fails(accounts.register("ALICE", "password-2"), "USERNAME_TAKEN");
      assert.deepEqual(await accounts.verify("aLiCe", "password-1"), alice);
    },
  },
  {
    name: "concurrent registrations of one name create exactly one account",
    async run(open) {
      const { kdf } = spyKdf();
      await using accounts = await open({ kdf });
      const results = await Promise.allSettled(
        ["carol", "Carol", "CAROL"].map((name) => accounts.register(name, "password-1")),
      );
      assert.equal(results.filter((r) => r.status === "fulfilled").length, 1);
      for (const result of results) {
        if (result.status === "rejected") assert.equal(result.reason.code, "USERNAME_TAKEN");
      }
    },
  },
  {
    name: "each account gets its own random salt, so equal passwords hash differently",
    async run(open) {
      const { calls, kdf } = spyKdf();
      await using accounts = await open({ kdf });
      await accounts.register("dave", "same-password");
      await accounts.register("erin", "same-password");
      assert.notDeepEqual(calls[0].salt, calls[1].salt);
    },
  },
  {
    name: "username and password rules are BAD_REQUEST naming the rule",
    async run(open) {
      const { calls, kdf } = spyKdf();
      await using accounts = await open({ kdf });
      for (const username of ["ab", "a".repeat(33), "has space", "ünïcode", "semi;colon", ""]) {
        await fails(
          accounts.register(username, "password-1"),
          "BAD_REQUEST",
          /username must be 3-32/,
        );
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
      assert.equal(
        (await accounts.verify("emoji.user-1", "😀".repeat(256))).username,
        "emoji.user-1",
      );
    },
  },
  {
    name: "register then verify returns the same account, ids and createdAt kept",
    async run(open) {
      const { kdf } = spyKdf();
      await using accounts = await open({ kdf, now: () => 1234 });
      const ann = await accounts.register("ann", "correct horse battery");
      assert.equal(ann.createdAt, 1234);
      assert.deepEqual(await accounts.verify("ann", "correct horse battery"), ann);
      const bob = await accounts.register("bob", "correct horse battery");
      assert.notEqual(bob.id, ann.id);
      await fails(accounts.verify("ann", "correct horse battery!"), "BAD_CREDENTIALS");
    },
  },
  {
    name: "player data is saved, replaced and loaded per account",
    async run(open) {
      const { kdf } = spyKdf();
      await using accounts = await open({ kdf });
      const ann = await accounts.register("ann", "password-1");
      const bob = await accounts.register("bob", "password-1");
      assert.equal(await accounts.loadPlayerData(ann.id), undefined);
      await accounts.savePlayerData(ann.id, new Uint8Array([1, 2, 3]));
      await accounts.savePlayerData(bob.id, new Uint8Array([9]));
      await accounts.savePlayerData(ann.id, new Uint8Array([4, 5]));
      assert.deepEqual(await accounts.loadPlayerData(ann.id), new Uint8Array([4, 5]));
      assert.deepEqual(await accounts.loadPlayerData(bob.id), new Uint8Array([9]));
      await assert.rejects(
        accounts.savePlayerData(ann.id, new Uint8Array(65_537)),
        /65537 bytes exceeds the maximum of 65536/,
      );
    },
  },
];

Deno.test("account storage conformance: SQLite", async (t) => {
  for (const test of CONFORMANCE) {
    await t.step(test.name, () =>
      test.run(({ kdf, now }) => {
        const records: AccountRecords = new SqliteAccountRecords(":memory:");
        return Promise.resolve(new AccountStore({ records, kdf, now }));
      }));
  }
});

Deno.test("account storage conformance: PostgreSQL (a real server)", async (t) => {
  const server = await startPostgres();
  const admin = postgres(server.url, { max: 1, onnotice: () => {} });
  try {
    let n = 0;
    for (const test of CONFORMANCE) {
      // A fresh database per case, so each starts empty and runs the migrations.
      const name = `conformance_${++n}`;
      await admin.unsafe(`CREATE DATABASE ${name}`);
      const url = server.url.replace(/\/zonescaler$/, `/${name}`);
      await t.step(
        test.name,
        () =>
          test.run(async ({ kdf, now }) =>
            new AccountStore({ records: await PostgresAccountRecords.open(url), kdf, now })
          ),
      );
    }
  } finally {
    await admin.end();
    await server.close();
  }
});

Deno.test("PostgreSQL: migrations run once across stores, one name races to one account, newer schemas are refused", async () => {
  const server = await startPostgres();
  const sql = postgres(server.url, { max: 1, onnotice: () => {} });
  try {
    // Two gateways starting at once: the advisory lock lets one migrate, the other sees it done.
    const [a, b] = await Promise.all([
      PostgresAccountRecords.open(server.url),
      PostgresAccountRecords.open(server.url),
    ]);
    // Two gateways registering one name at once: the unique key lets exactly one win.
    const { kdf } = spyKdf();
    const stores = [new AccountStore({ records: a, kdf }), new AccountStore({ records: b, kdf })];
    const results = await Promise.allSettled(
      ["Racer", "racer"].map((name, n) => stores[n].register(name, "password-1")),
    );
    assert.deepEqual(results.map((r) => r.status).sort(), ["fulfilled", "rejected"]);
    const lost = results.find((r) => r.status === "rejected") as PromiseRejectedResult;
    assert.equal(lost.reason.code, "USERNAME_TAKEN");
    await a.close();
    await b.close();
    assert.deepEqual([...await sql`SELECT version FROM zs_schema_version`], [{ version: 2 }]);
    await sql`UPDATE zs_schema_version SET version = 99`;
    await assert.rejects(
      PostgresAccountRecords.open(server.url),
      /schema version 99 is newer than this build knows \(2\)/,
    );
  } finally {
    await sql.end();
    await server.close();
  }
});

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

Deno.test("accounts persist in the file, the schema is migrated once and newer ones refused", async () => {
  const dir = await Deno.makeTempDir();
  const path = `${dir}/accounts.db`;
  try {
    const { kdf } = spyKdf();
    const first = new AccountStore({ path, kdf });
    const grace = await first.register("grace", "password-1");
    await first.close();
    await first.close(); // closing twice is harmless
    const second = new AccountStore({ path, kdf });
    assert.deepEqual(await second.verify("grace", "password-1"), grace);
    await second.close();
    const db = new DatabaseSync(path);
    assert.deepEqual({ ...db.prepare("PRAGMA user_version").get() }, { user_version: 2 });
    db.exec("PRAGMA user_version = 99");
    db.close();
    assert.throws(
      () => new AccountStore({ path, kdf }),
      /schema version 99 is newer than this build knows \(2\)/,
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
