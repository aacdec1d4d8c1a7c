// Accounts and player data in PostgreSQL, shared by every gateway of a cluster beyond one
// machine: a connection pool (the `postgres` driver), versioned migrations applied at start-up
// under an advisory lock (two gateways may start at once), retries on transient errors.
import postgres from "postgres";
import {
  type AccountColumns,
  accountFromColumns,
  type AccountRecords,
  type AccountRow,
} from "./account_store.ts";

// Each entry moves the schema from version n to n + 1 (table zs_schema_version).
const MIGRATIONS: readonly string[] = [
  `CREATE TABLE accounts (
     id BIGSERIAL PRIMARY KEY,
     username TEXT NOT NULL,
     username_key TEXT NOT NULL UNIQUE,
     salt BYTEA NOT NULL,
     hash BYTEA NOT NULL,
     n INTEGER NOT NULL,
     r INTEGER NOT NULL,
     p INTEGER NOT NULL,
     created_at BIGINT NOT NULL
   )`,
  `CREATE TABLE player_data (
     account_id BIGINT PRIMARY KEY REFERENCES accounts (id),
     data BYTEA NOT NULL,
     updated_at BIGINT NOT NULL
   )`,
];

/** Key of the advisory lock that serialises migrations across gateways. */
const MIGRATION_LOCK = 7_420_001;
/** Connections per gateway. */
export const POOL_SIZE = 10;
/** Attempts of one query when the error is transient (connection lost, server restarting). */
export const QUERY_ATTEMPTS = 4;

// Connection errors and the SQLSTATEs of a server going away or a transaction to retry.
const TRANSIENT = new Set([
  "ECONNREFUSED",
  "ECONNRESET",
  "EPIPE",
  "ETIMEDOUT",
  "CONNECTION_CLOSED",
  "CONNECTION_ENDED",
  "CONNECTION_DESTROYED",
  "CONNECT_TIMEOUT",
  "57P01",
  "57P02",
  "57P03",
  "08000",
  "08003",
  "08006",
  "08001",
  "08004",
  "40001",
  "40P01",
]);

/** True for an error a retry may cure. */
export function isTransient(error: unknown): boolean {
  return TRANSIENT.has(String((error as { code?: unknown })?.code));
}

/** {@linkcode AccountRecords} in PostgreSQL. Open with {@linkcode PostgresAccountRecords.open}. */
export class PostgresAccountRecords implements AccountRecords {
  #sql: postgres.Sql;

  private constructor(sql: postgres.Sql) {
    this.#sql = sql;
  }

  /**
   * Connects (retrying while the server is not up yet, for up to `connectMs`, default 15 s)
   * and applies the migrations this build knows.
   */
  static async open(
    url: string,
    options: { connectMs?: number } = {},
  ): Promise<PostgresAccountRecords> {
    const sql = postgres(url, {
      max: POOL_SIZE,
      onnotice: () => {},
      connect_timeout: 10,
      idle_timeout: 60,
    });
    try {
      await retrying(() => migrate(sql), {
        until: performance.now() + (options.connectMs ?? 15_000),
      });
    } catch (error) {
      await sql.end({ timeout: 1 });
      throw new Error(
        `Cannot open account storage ${redact(url)}: ${(error as Error).message}`,
        { cause: error },
      );
    }
    return new PostgresAccountRecords(sql);
  }

  async find(username: string): Promise<AccountRow | undefined> {
    const rows = await retrying(() =>
      this.#sql<
        AccountColumns[]
      >`SELECT * FROM accounts WHERE username_key = ${username.toLowerCase()}`
    );
    return rows[0] && accountFromColumns(rows[0]);
  }

  async insert(row: Omit<AccountRow, "id">): Promise<number | undefined> {
    const rows = await retrying(() =>
      this.#sql<{ id: string }[]>`
        INSERT INTO accounts (username, username_key, salt, hash, n, r, p, created_at)
        VALUES (${row.username}, ${row.username.toLowerCase()}, ${row.salt}, ${row.hash},
                ${row.n}, ${row.r}, ${row.p}, ${row.createdAt})
        ON CONFLICT (username_key) DO NOTHING
        RETURNING id`
    );
    return rows[0] ? Number(rows[0].id) : undefined;
  }

  async loadPlayerData(accountId: number): Promise<Uint8Array | undefined> {
    const rows = await retrying(() =>
      this.#sql<{ data: Uint8Array }[]>`
        SELECT data FROM player_data WHERE account_id = ${accountId}`
    );
    return rows[0] ? new Uint8Array(rows[0].data) : undefined;
  }

  async savePlayerData(accountId: number, data: Uint8Array): Promise<void> {
    await retrying(() =>
      this.#sql`
        INSERT INTO player_data (account_id, data, updated_at)
        VALUES (${accountId}, ${data}, ${Date.now()})
        ON CONFLICT (account_id) DO UPDATE SET data = EXCLUDED.data, updated_at = EXCLUDED.updated_at`
    );
  }

  async close(): Promise<void> {
    await this.#sql.end({ timeout: 5 });
  }
}

async function migrate(sql: postgres.Sql): Promise<void> {
  await sql.begin(async (tx) => {
    await tx`SELECT pg_advisory_xact_lock(${MIGRATION_LOCK})`;
    await tx`CREATE TABLE IF NOT EXISTS zs_schema_version (version INTEGER NOT NULL)`;
    const rows = await tx<{ version: number }[]>`SELECT version FROM zs_schema_version`;
    const version = rows[0]?.version ?? 0;
    if (version > MIGRATIONS.length) {
      throw new Error(
        `schema version ${version} is newer than this build knows (${MIGRATIONS.length})`,
      );
    }
    for (let step = version; step < MIGRATIONS.length; step++) await tx.unsafe(MIGRATIONS[step]);
    if (rows.length === 0) {
      await tx`INSERT INTO zs_schema_version (version) VALUES (${MIGRATIONS.length})`;
    } else await tx`UPDATE zs_schema_version SET version = ${MIGRATIONS.length}`;
  });
}

/**
 * Runs `work`, again after a growing pause (100 ms doubling, at most 2 s) while its error is
 * transient: up to `attempts` times, or while the next try would start before `until`
 * (a `performance.now()` time).
 */
async function retrying<T>(
  work: () => Promise<T>,
  bound: { attempts: number } | { until: number } = { attempts: QUERY_ATTEMPTS },
): Promise<T> {
  for (let attempt = 1;; attempt++) {
    try {
      return await work();
    } catch (error) {
      const pause = Math.min(2_000, 100 * 2 ** attempt);
      const more = "attempts" in bound
        ? attempt < bound.attempts
        : performance.now() + pause < bound.until;
      if (!more || !isTransient(error)) throw error;
      await new Promise((resolve) => setTimeout(resolve, pause));
    }
  }
}

/** The URL without its password, for messages. */
function redact(url: string): string {
  return url.replace(/\/\/([^:@/]+):[^@/]*@/, "//$1:***@");
}
