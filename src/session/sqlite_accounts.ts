// Accounts and player data in one embedded SQLite file (node:sqlite), for a single machine; the
// schema is migrated on open (PRAGMA user_version).
import { DatabaseSync } from "node:sqlite";
import {
  type AccountColumns,
  accountFromColumns,
  type AccountRecords,
  type AccountRow,
} from "./account_store.ts";

// Each entry moves the schema from version n to n + 1.
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
  `CREATE TABLE player_data (
     account_id INTEGER PRIMARY KEY REFERENCES accounts (id),
     data BLOB NOT NULL,
     updated_at INTEGER NOT NULL
   )`,
];

/** {@linkcode AccountRecords} in a SQLite file, or ":memory:". */
export class SqliteAccountRecords implements AccountRecords {
  #db: DatabaseSync;

  constructor(path: string) {
    this.#db = new DatabaseSync(path);
    try {
      this.#db.exec("PRAGMA busy_timeout = 5000");
      migrate(this.#db);
    } catch (error) {
      this.#db.close();
      throw error;
    }
  }

  find(username: string): Promise<AccountRow | undefined> {
    const row = this.#db.prepare("SELECT * FROM accounts WHERE username = ?").get(username) as
      | AccountColumns
      | undefined;
    return Promise.resolve(row && accountFromColumns(row));
  }

  insert(row: Omit<AccountRow, "id">): Promise<number | undefined> {
    try {
      const result = this.#db.prepare(
        "INSERT INTO accounts (username, salt, hash, n, r, p, created_at) " +
          "VALUES (?, ?, ?, ?, ?, ?, ?)",
      ).run(row.username, row.salt, row.hash, row.n, row.r, row.p, row.createdAt);
      return Promise.resolve(Number(result.lastInsertRowid));
    } catch (error) {
      if (/UNIQUE constraint failed/.test(String((error as Error)?.message))) {
        return Promise.resolve(undefined);
      }
      return Promise.reject(error);
    }
  }

  loadPlayerData(accountId: number): Promise<Uint8Array | undefined> {
    const row = this.#db.prepare("SELECT data FROM player_data WHERE account_id = ?").get(
      accountId,
    ) as { data: Uint8Array } | undefined;
    return Promise.resolve(row?.data);
  }

  savePlayerData(accountId: number, data: Uint8Array): Promise<void> {
    this.#db.prepare(
      "INSERT INTO player_data (account_id, data, updated_at) VALUES (?, ?, ?) " +
        "ON CONFLICT (account_id) DO UPDATE SET data = excluded.data, " +
        "updated_at = excluded.updated_at",
    ).run(accountId, data, Date.now());
    return Promise.resolve();
  }

  close(): Promise<void> {
    if (this.#db.isOpen) this.#db.close();
    return Promise.resolve();
  }
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
