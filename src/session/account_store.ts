// Registered player accounts in embedded SQLite (node:sqlite): usernames and scrypt password
// hashes with a per-user salt; the schema is migrated on open.
import { randomBytes, scrypt, timingSafeEqual } from "node:crypto";
import { DatabaseSync } from "node:sqlite";
import { AuthError } from "./login_tokens.ts";
import { ErrorCode } from "../errors.ts";

/** A registered account. `createdAt` in ms since the Unix epoch. */
export interface Account {
  id: number;
  username: string;
  createdAt: number;
}

/** scrypt cost parameters, stored with each hash so they can be raised later. */
export interface ScryptParams {
  N: number;
  r: number;
  p: number;
  keyLength: number;
}

/** Derives a key from a password; the default is scrypt from `node:crypto`. */
export type PasswordKdf = (
  password: string,
  salt: Uint8Array,
  params: ScryptParams,
) => Promise<Uint8Array>;

/** The cost every new hash uses: N=16384, r=8, p=1, a 64-byte key (about 16 MiB, ~50-200 ms). */
export const SCRYPT_PARAMS: Readonly<ScryptParams> = Object.freeze({
  N: 16384,
  r: 8,
  p: 1,
  keyLength: 64,
});
/** Usernames: 3–32 characters of A-Z a-z 0-9 _ . -, unique ignoring case. */
export const USERNAME_PATTERN: RegExp = /^[A-Za-z0-9_.-]{3,32}$/;
/** Shortest and longest password, in Unicode code points. */
export const PASSWORD_LENGTH = { min: 8, max: 256 } as const;
const SALT_BYTES = 16;

/** The scrypt of `node:crypto`, asynchronous so hashing runs off the event loop. */
export const scryptKdf: PasswordKdf = (password, salt, params) =>
  new Promise((resolve, reject) => {
    scrypt(password, salt, params.keyLength, {
      N: params.N,
      r: params.r,
      p: params.p,
      maxmem: 256 * params.N * params.r + 1024 * 1024,
    }, (error, key) => error ? reject(error) : resolve(new Uint8Array(key)));
  });

/** Options of {@linkcode AccountStore}. */
export interface AccountStoreOptions {
  /** SQLite file, or ":memory:" (tests). */
  path: string;
  /** Clock for `createdAt`, ms. Default `Date.now`. */
  now?: () => number;
  /** Default {@linkcode scryptKdf}; tests may count calls or pass a cheap one. */
  kdf?: PasswordKdf;
}

// Each entry moves the schema from version n to n + 1 (PRAGMA user_version).
const MIGRATIONS: readonly string[] = [
  `CREATE TABLE accounts (
     id INTEGER PRIMARY KEY,
     username TEXT NOT NULL UNIQUE COLLATE NOCASE,
     salt BLOB NOT NULL,
     hash BLOB NOT NULL,
     n INTEGER NOT NULL,
     r INTEGER NOT NULL,
     p INTEGER NOT NULL,
     created_at INTEGER NOT NULL
   )`,
];

interface Row {
  id: number;
  username: string;
  salt: Uint8Array;
  hash: Uint8Array;
  n: number;
  r: number;
  p: number;
  created_at: number;
}

/**
 * Player accounts. `register` and `verify` are async: each derives a scrypt key. Close it
 * with `close()` (or `using`).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * const accounts = new AccountStore({ path: ":memory:" });
 * const ann = await accounts.register("ann", "correct horse");
 * assert.equal((await accounts.verify("ANN", "correct horse")).id, ann.id);
 * await assert.rejects(accounts.verify("ann", "wrong horse!"), { code: "BAD_CREDENTIALS" });
 * accounts.close();
 * ```
 */
export class AccountStore {
  #db: DatabaseSync;
  #now: () => number;
  #kdf: PasswordKdf;
  // Compared against when the username is unknown, so both paths cost one scrypt.
  #dummySalt = randomBytes(SALT_BYTES);
  #dummyHash = new Uint8Array(SCRYPT_PARAMS.keyLength);

  constructor(options: AccountStoreOptions) {
    this.#now = options.now ?? Date.now;
    this.#kdf = options.kdf ?? scryptKdf;
    this.#db = new DatabaseSync(options.path);
    try {
      this.#db.exec("PRAGMA busy_timeout = 5000");
      migrate(this.#db);
    } catch (error) {
      this.#db.close();
      throw error;
    }
  }

  /**
   * Creates an account. Throws {@linkcode AuthError}: BAD_REQUEST when the username or
   * password breaks the rules, USERNAME_TAKEN when the name exists in any letter case.
   */
  async register(username: string, password: string): Promise<Account> {
    if (typeof username !== "string" || !USERNAME_PATTERN.test(username)) {
      throw new AuthError(
        ErrorCode.BAD_REQUEST,
        "Cannot register: username must be 3-32 characters of A-Z a-z 0-9 _ . -",
      );
    }
    // Each code point is one or two UTF-16 units: a cheap bound before counting.
    const length = typeof password !== "string"
      ? -1
      : password.length > 2 * PASSWORD_LENGTH.max
      ? Infinity
      : [...password].length;
    if (length < PASSWORD_LENGTH.min || length > PASSWORD_LENGTH.max) {
      throw new AuthError(
        ErrorCode.BAD_REQUEST,
        `Cannot register: password must be ${PASSWORD_LENGTH.min}-${PASSWORD_LENGTH.max} ` +
          "characters",
      );
    }
    // Fast path; the UNIQUE constraint below settles races between concurrent registrations.
    if (this.#find(username)) throw taken(username);
    const salt = randomBytes(SALT_BYTES);
    const hash = await this.#kdf(password, salt, SCRYPT_PARAMS);
    const createdAt = this.#now();
    try {
      const result = this.#db.prepare(
        "INSERT INTO accounts (username, salt, hash, n, r, p, created_at) " +
          "VALUES (?, ?, ?, ?, ?, ?, ?)",
      ).run(username, salt, hash, SCRYPT_PARAMS.N, SCRYPT_PARAMS.r, SCRYPT_PARAMS.p, createdAt);
      return { id: Number(result.lastInsertRowid), username, createdAt };
    } catch (error) {
      if (/UNIQUE constraint failed/.test(String((error as Error)?.message))) {
        throw taken(username, error);
      }
      throw error;
    }
  }

  /**
   * The account when `password` is right. Throws {@linkcode AuthError} BAD_CREDENTIALS for an
   * unknown username and for a wrong password alike, after the same scrypt work, so neither the
   * answer nor its timing tells which usernames exist.
   */
  async verify(username: string, password: string): Promise<Account> {
    const row = typeof username === "string" && USERNAME_PATTERN.test(username)
      ? this.#find(username)
      : undefined;
    const candidate = typeof password === "string" ? password : "";
    const params = row
      ? { N: row.n, r: row.r, p: row.p, keyLength: row.hash.length }
      : SCRYPT_PARAMS;
    const key = await this.#kdf(candidate, row ? row.salt : this.#dummySalt, params);
    const expected = row ? row.hash : this.#dummyHash;
    const match = key.length === expected.length && timingSafeEqual(key, expected);
    if (!row || !match || typeof password !== "string") {
      throw new AuthError(ErrorCode.BAD_CREDENTIALS, "Cannot log in: wrong username or password");
    }
    return { id: row.id, username: row.username, createdAt: row.created_at };
  }

  /** Closes the database. */
  close(): void {
    if (this.#db.isOpen) this.#db.close();
  }

  [Symbol.dispose](): void {
    this.close();
  }

  #find(username: string): Row | undefined {
    return this.#db.prepare("SELECT * FROM accounts WHERE username = ?").get(username) as
      | Row
      | undefined;
  }
}

function taken(username: string, cause?: unknown): AuthError {
  return new AuthError(
    ErrorCode.USERNAME_TAKEN,
    `Cannot register: the username "${username}" is taken`,
    cause === undefined ? undefined : { cause },
  );
}

/** Brings the schema up to the newest version, one transaction per step. */
function migrate(db: DatabaseSync): void {
  const { user_version: version } = db.prepare("PRAGMA user_version").get() as {
    user_version: number;
  };
  if (version > MIGRATIONS.length) {
    throw new Error(
      `Cannot open the account database: schema version ${version} is newer than this build ` +
        `knows (${MIGRATIONS.length})`,
    );
  }
  for (let step = version; step < MIGRATIONS.length; step++) {
    db.exec("BEGIN");
    try {
      db.exec(MIGRATIONS[step]);
      db.exec(`PRAGMA user_version = ${step + 1}`);
      db.exec("COMMIT");
    } catch (error) {
      db.exec("ROLLBACK");
      throw error;
    }
  }
}
