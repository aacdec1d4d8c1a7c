// The coordinator's durable state in one embedded SQLite file (node:sqlite, WAL, synchronous
// FULL): an append-only log of state changes numbered from 1, each with the term it was written
// in, and periodic snapshots of the whole state. A file that cannot be read back whole is refused
// with a StateFileError: a coordinator never starts an empty world over a damaged one.
import { DatabaseSync } from "node:sqlite";
import { applyChange, type DurableState, type StateChange } from "./durable_state.ts";
import { parseChange, parseState, StateFileError } from "./durable_state_reader.ts";

/** The format row every state file carries; another SQLite file is not ours to overwrite. */
export const STATE_FORMAT = "zonescaler-coordinator-state/1";

/** One log entry. */
export interface LogEntry {
  index: number;
  term: number;
  change: StateChange;
}

/** The state read back: the latest snapshot with the log after it applied. */
export interface LoadedState {
  state: DurableState;
  /** Index of the last entry applied (0: nothing was ever written). */
  index: number;
  /** Term of that entry. */
  term: number;
}

const SCHEMA = [
  "CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)",
  "CREATE TABLE log (idx INTEGER PRIMARY KEY, term INTEGER NOT NULL, change TEXT NOT NULL)",
  "CREATE TABLE snapshot (idx INTEGER PRIMARY KEY, term INTEGER NOT NULL, state TEXT NOT NULL)",
];

/** A coordinator's state file. `path` ":memory:" keeps it in memory (nothing survives). */
export class StateStore {
  readonly path: string;
  #db: DatabaseSync;
  #cellCount: number;
  #last = { index: 0, term: 0 };
  #snapshotIndex = 0;

  private constructor(path: string, db: DatabaseSync, cellCount: number) {
    this.path = path;
    this.#db = db;
    this.#cellCount = cellCount;
  }

  /** Opens (or creates) the state file of a world of `cellCount` cells; checks it whole. */
  static open(path: string, cellCount: number): StateStore {
    const existed = path !== ":memory:" && fileSize(path);
    if (existed === 0) {
      throw new StateFileError(
        `coordinator state ${path} is empty (truncated?); refusing to start`,
      );
    }
    let db: DatabaseSync | undefined;
    try {
      db = new DatabaseSync(path);
      db.exec("PRAGMA busy_timeout = 5000");
      db.exec("PRAGMA journal_mode = WAL");
      db.exec("PRAGMA synchronous = FULL");
      const check = db.prepare("PRAGMA quick_check").all() as { quick_check: string }[];
      if (check.length !== 1 || check[0].quick_check !== "ok") {
        throw new Error(check.map((row) => row.quick_check).slice(0, 3).join("; "));
      }
      const tables = db.prepare("SELECT name FROM sqlite_master WHERE type = 'table'").all();
      if (tables.length === 0) {
        db.exec("BEGIN");
        for (const statement of SCHEMA) db.exec(statement);
        db.prepare("INSERT INTO meta VALUES ('format', ?), ('cells', ?)").run(
          STATE_FORMAT,
          String(cellCount),
        );
        db.exec("COMMIT");
      }
    } catch (error) {
      db?.close();
      throw new StateFileError(
        `cannot read coordinator state ${path}: ${(error as Error).message}`,
        { cause: error },
      );
    }
    const store = new StateStore(path, db, cellCount);
    try {
      store.#checkFormat();
    } catch (error) {
      db.close();
      throw error;
    }
    return store;
  }

  /** Index and term of the last entry written. */
  get last(): { index: number; term: number } {
    return { ...this.#last };
  }

  /** Reads the state back; undefined when nothing was ever written. */
  load(): LoadedState | undefined {
    const snap = this.#db.prepare(
      "SELECT idx, term, state FROM snapshot ORDER BY idx DESC LIMIT 1",
    ).get() as { idx: number; term: number; state: string } | undefined;
    const entries = this.#read(snap?.idx ?? 0);
    if (!snap) {
      if (entries.length === 0) return undefined;
      throw new StateFileError(
        `coordinator state ${this.path}: log entries without a snapshot to apply them to`,
      );
    }
    const state = parseState(
      decode(snap.state, this.#at(`snapshot ${snap.idx}`)),
      this.#cellCount,
      this.#at(`snapshot ${snap.idx}`),
    );
    let last = { index: snap.idx, term: snap.term };
    for (const entry of entries) {
      if (entry.index !== last.index + 1) {
        throw new StateFileError(
          `coordinator state ${this.path}: log entry ${
            last.index + 1
          } is missing (next is ${entry.index})`,
        );
      }
      applyChange(state, entry.change);
      last = { index: entry.index, term: entry.term };
    }
    this.#last = last;
    this.#snapshotIndex = snap.idx;
    return { state, ...last };
  }

  /** Appends changes in one transaction (durable when it returns); returns the last index. */
  append(changes: readonly StateChange[], term: number): number {
    if (changes.length === 0) return this.#last.index;
    const insert = this.#db.prepare("INSERT INTO log (idx, term, change) VALUES (?, ?, ?)");
    let index = this.#last.index;
    this.#db.exec("BEGIN");
    try {
      for (const change of changes) insert.run(++index, term, JSON.stringify(change));
      this.#db.exec("COMMIT");
    } catch (error) {
      this.#db.exec("ROLLBACK");
      throw error;
    }
    this.#last = { index, term };
    return index;
  }

  /** Appends entries received from the active coordinator, keeping their indexes and terms. */
  appendEntries(entries: readonly LogEntry[]): void {
    const insert = this.#db.prepare("INSERT INTO log (idx, term, change) VALUES (?, ?, ?)");
    this.#db.exec("BEGIN");
    try {
      for (const e of entries) {
        if (e.index !== this.#last.index + 1) {
          throw new StateFileError(
            `log entry ${e.index} does not follow the last applied entry ${this.#last.index}`,
          );
        }
        insert.run(e.index, e.term, JSON.stringify(e.change));
        this.#last = { index: e.index, term: e.term };
      }
      this.#db.exec("COMMIT");
    } catch (error) {
      this.#db.exec("ROLLBACK");
      throw error;
    }
  }

  /**
   * Writes a snapshot of `state` as of the last entry and drops the log before the previous
   * snapshot (a standby further behind than that is sent a snapshot instead).
   */
  snapshot(state: DurableState): void {
    const { index, term } = this.#last;
    this.#db.exec("BEGIN");
    try {
      this.#db.prepare("INSERT OR REPLACE INTO snapshot (idx, term, state) VALUES (?, ?, ?)")
        .run(index, term, JSON.stringify(state));
      this.#db.prepare("DELETE FROM log WHERE idx <= ?").run(this.#snapshotIndex);
      this.#db.prepare("DELETE FROM snapshot WHERE idx < ?").run(this.#snapshotIndex);
      this.#db.exec("COMMIT");
    } catch (error) {
      this.#db.exec("ROLLBACK");
      throw error;
    }
    this.#snapshotIndex = index;
  }

  /** Replaces everything with a snapshot taken at `index` (a standby catching up). */
  reset(state: DurableState, index: number, term: number): void {
    this.#db.exec("BEGIN");
    try {
      this.#db.exec("DELETE FROM log");
      this.#db.exec("DELETE FROM snapshot");
      this.#db.prepare("INSERT INTO snapshot (idx, term, state) VALUES (?, ?, ?)")
        .run(index, term, JSON.stringify(state));
      this.#db.exec("COMMIT");
    } catch (error) {
      this.#db.exec("ROLLBACK");
      throw error;
    }
    this.#last = { index, term };
    this.#snapshotIndex = index;
  }

  /** Entries after `index`, or undefined when they are no longer all in the log. */
  entriesAfter(index: number): LogEntry[] | undefined {
    if (index < this.#oldestLogIndex() - 1) return undefined;
    return this.#read(index);
  }

  /** Term of the entry at `index` (undefined when it is not in the log). */
  termAt(index: number): number | undefined {
    if (index === this.#last.index) return this.#last.term;
    const row = this.#db.prepare("SELECT term FROM log WHERE idx = ?").get(index) as
      | { term: number }
      | undefined;
    if (row) return row.term;
    const snap = this.#db.prepare("SELECT term FROM snapshot WHERE idx = ?").get(index) as
      | { term: number }
      | undefined;
    return snap?.term;
  }

  /** Entries written since the last snapshot. */
  get sinceSnapshot(): number {
    return this.#last.index - this.#snapshotIndex;
  }

  close(): void {
    if (this.#db.isOpen) this.#db.close();
  }

  #oldestLogIndex(): number {
    const row = this.#db.prepare("SELECT MIN(idx) AS idx FROM log").get() as { idx: number | null };
    return row.idx ?? this.#last.index + 1;
  }

  #read(after: number): LogEntry[] {
    const rows = this.#db.prepare("SELECT idx, term, change FROM log WHERE idx > ? ORDER BY idx")
      .all(after) as { idx: number; term: number; change: string }[];
    return rows.map((row) => ({
      index: row.idx,
      term: row.term,
      change: parseChange(
        decode(row.change, this.#at(`log entry ${row.idx}`)),
        this.#cellCount,
        this.#at(`log entry ${row.idx}`),
      ),
    }));
  }

  #at(what: string): string {
    return `coordinator state ${this.path}: ${what}`;
  }

  #checkFormat(): void {
    let rows: { key: string; value: string }[];
    try {
      rows = this.#db.prepare("SELECT key, value FROM meta").all() as typeof rows;
    } catch (error) {
      throw new StateFileError(
        `${this.path} is not a coordinator state file (${(error as Error).message})`,
        { cause: error },
      );
    }
    const meta = new Map(rows.map((r) => [r.key, r.value]));
    if (meta.get("format") !== STATE_FORMAT) {
      throw new StateFileError(
        `${this.path} is not a coordinator state file (format ${meta.get("format") ?? "missing"})`,
      );
    }
    if (meta.get("cells") !== String(this.#cellCount)) {
      throw new StateFileError(
        `coordinator state ${this.path} is of a world of ${meta.get("cells")} cells; ` +
          `this config's world has ${this.#cellCount}`,
      );
    }
  }
}

function decode(text: string, what: string): unknown {
  try {
    return JSON.parse(text);
  } catch (error) {
    throw new StateFileError(`${what} is not valid JSON: ${(error as Error).message}`, {
      cause: error,
    });
  }
}

/** Size of the file at `path`, or false when there is none. */
function fileSize(path: string): number | false {
  try {
    return Deno.statSync(path).size;
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) return false;
    throw error;
  }
}
