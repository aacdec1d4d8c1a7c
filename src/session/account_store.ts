// Registered player accounts: the rules (usernames, password lengths, scrypt with a per-user
// salt) over a storage interface with embedded SQLite and PostgreSQL implementations.
import { randomBytes, scrypt, timingSafeEqual } from "node:crypto";
import { AuthError } from "./login_tokens.ts";
import { ErrorCode } from "../errors.ts";
import { SqliteAccountRecords } from "./sqlite_accounts.ts";

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

/** One stored account as the storage keeps it: the hash and its scrypt cost. */
export interface AccountRow {
  id: number;
  username: string;
  salt: Uint8Array;
  hash: Uint8Array;
  n: number;
  r: number;
  p: number;
  createdAt: number;
}

/** A row of the `accounts` table as the SQL stores read it (PostgreSQL BIGINTs as strings). */
export type AccountColumns = Omit<AccountRow, "id" | "createdAt"> & {
  id: number | string;
  created_at: number | string;
};

/** The {@linkcode AccountRow} of a table row, its integers as numbers and bytes as plain arrays. */
export function accountFromColumns(row: AccountColumns): AccountRow {
  return {
    id: Number(row.id),
    username: row.username,
    salt: new Uint8Array(row.salt),
    hash: new Uint8Array(row.hash),
    n: row.n,
    r: row.r,
    p: row.p,
    createdAt: Number(row.created_at),
  };
}

/**
 * Where accounts and player data are kept: embedded SQLite (src/session/sqlite_accounts.ts)
 * or PostgreSQL shared by every gateway (src/session/postgres_accounts.ts). Usernames are
 * unique ignoring letter case. One conformance suite (tests/session/account_store_test.ts) runs
 * against every implementation.
 */
export interface AccountRecords {
  /** The account with this username in any letter case. */
  find(username: string): Promise<AccountRow | undefined>;
  /** Stores a new account; its id, or undefined when the username is taken. */
  insert(row: Omit<AccountRow, "id">): Promise<number | undefined>;
  /** The player data saved for an account (opaque bytes), undefined when none. */
  loadPlayerData(accountId: number): Promise<Uint8Array | undefined>;
  /** Replaces an account's player data. */
  savePlayerData(accountId: number, data: Uint8Array): Promise<void>;
  close(): Promise<void>;
}

/** Options of {@linkcode AccountStore}. */
export interface AccountStoreOptions {
  /** SQLite file, or ":memory:" (tests); ignored when `records` is given. */
  path?: string;
  /** The storage; default SQLite at `path`. */
  records?: AccountRecords;
  /** Clock for `createdAt`, ms. Default `Date.now`. */
  now?: () => number;
  /** Default {@linkcode scryptKdf}; tests may count calls or pass a cheap one. */
  kdf?: PasswordKdf;
}

/** Largest player data record, bytes. */
export const MAX_PLAYER_DATA_BYTES = 65_536;

/**
 * Player accounts. `register` and `verify` are async: each derives a scrypt key. Close it
 * with `close()` (or `await using`).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * const accounts = new AccountStore({ path: ":memory:" });
 * const ann = await accounts.register("ann", "correct horse");
 * assert.equal((await accounts.verify("ANN", "correct horse")).id, ann.id);
 * await assert.rejects(accounts.verify("ann", "wrong horse!"), { code: "BAD_CREDENTIALS" });
 * await accounts.close();
 * ```
 */
export class AccountStore {
  #records: AccountRecords;
  #now: () => number;
  #kdf: PasswordKdf;
  // Compared against when the username is unknown, so both paths cost one scrypt.
  #dummySalt = randomBytes(SALT_BYTES);
  #dummyHash = new Uint8Array(SCRYPT_PARAMS.keyLength);

  constructor(options: AccountStoreOptions) {
    this.#now = options.now ?? Date.now;
    this.#kdf = options.kdf ?? scryptKdf;
    this.#records = options.records ?? new SqliteAccountRecords(options.path ?? ":memory:");
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
    // Fast path; the storage's unique key settles races between concurrent registrations.
    if (await this.#records.find(username)) throw taken(username);
    const salt = new Uint8Array(randomBytes(SALT_BYTES));
    const hash = await this.#kdf(password, salt, SCRYPT_PARAMS);
    const createdAt = this.#now();
    const id = await this.#records.insert({
      username,
      salt,
      hash,
      n: SCRYPT_PARAMS.N,
      r: SCRYPT_PARAMS.r,
      p: SCRYPT_PARAMS.p,
      createdAt,
    });
    if (id === undefined) throw taken(username);
    return { id, username, createdAt };
  }

  /**
   * The account when `password` is right. Throws {@linkcode AuthError} BAD_CREDENTIALS for an
   * unknown username and for a wrong password alike, after the same scrypt work, so neither the
   * answer nor its timing tells which usernames exist.
   */
  async verify(username: string, password: string): Promise<Account> {
    const row = typeof username === "string" && USERNAME_PATTERN.test(username)
      ? await this.#records.find(username)
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
    return { id: row.id, username: row.username, createdAt: row.createdAt };
  }

  /** The player data saved for an account, undefined when none. */
  loadPlayerData(accountId: number): Promise<Uint8Array | undefined> {
    return this.#records.loadPlayerData(accountId);
  }

  /** Saves an account's player data (at most {@linkcode MAX_PLAYER_DATA_BYTES}). */
  savePlayerData(accountId: number, data: Uint8Array): Promise<void> {
    if (data.byteLength > MAX_PLAYER_DATA_BYTES) {
      return Promise.reject(
        new RangeError(
          `Cannot save player data: ${data.byteLength} bytes exceeds the maximum of ` +
            `${MAX_PLAYER_DATA_BYTES}`,
        ),
      );
    }
    return this.#records.savePlayerData(accountId, data);
  }

  /** Closes the storage. */
  close(): Promise<void> {
    return this.#records.close();
  }

  [Symbol.dispose](): void {
    void this.close();
  }

  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }
}

/**
 * The account store named by the `storage` setting: a `postgres://` (or `postgresql://`) URL
 * opens PostgreSQL (migrations applied first), anything else is a SQLite file.
 */
export async function openAccountStore(
  storage: string,
  options: Omit<AccountStoreOptions, "path" | "records"> & { connectMs?: number } = {},
): Promise<AccountStore> {
  const { connectMs, ...rest } = options;
  if (isPostgresUrl(storage)) {
    const { PostgresAccountRecords } = await import("./postgres_accounts.ts");
    const records = await PostgresAccountRecords.open(storage, { connectMs });
    return new AccountStore({ ...rest, records });
  }
  return new AccountStore({ ...rest, records: new SqliteAccountRecords(storage) });
}

/** True when `storage` names a PostgreSQL server rather than a SQLite file. */
export function isPostgresUrl(storage: string): boolean {
  return /^postgres(ql)?:\/\//i.test(storage);
}

function taken(username: string): AuthError {
  return new AuthError(
    ErrorCode.USERNAME_TAKEN,
    `Cannot register: the username "${username}" is taken`,
  );
}
