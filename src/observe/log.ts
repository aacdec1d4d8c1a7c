// Structured JSON-line logging: one object per line with time, level, role, node and event.
// A bounded ring of recent records feeds the diagnostics page.

/** Severity of a log record, lowest first. */
export type Level = "debug" | "info" | "warn" | "error";

const RANK: Record<Level, number> = { debug: 10, info: 20, warn: 30, error: 40 };

/** One structured log record as written to stdout. */
export interface LogRecord {
  time: string;
  level: Level;
  role: string;
  node: string;
  event: string;
  [field: string]: unknown;
}

/** A record kept in the ring, numbered from 1 in the order it was written. */
export interface NumberedRecord {
  seq: number;
  record: LogRecord;
}

/** Where records go; tests pass a collecting sink instead of stdout. */
export type LogSink = (line: string, record: LogRecord) => void;

const stdoutSink: LogSink = (line) => console.log(line);

/** Options of {@linkcode Logger}. */
export interface LoggerOptions {
  role: string;
  node?: string;
  level?: Level;
  sink?: LogSink;
  /** How many recent records {@linkcode Logger.recent} keeps. */
  ringSize?: number;
}

/**
 * A logger bound to a role and node id. `child()` shares level, sink and ring.
 *
 * @example
 * ```ts
 * import { Logger } from "./log.ts";
 * const lines: string[] = [];
 * const log = new Logger({ role: "worker", node: "w1", sink: (l) => lines.push(l) });
 * log.info("tick.slow", { ms: 31 });
 * if (!lines[0].includes('"event":"tick.slow"')) throw new Error("not logged");
 * ```
 */
export class Logger {
  readonly role: string;
  node: string;
  #shared: { level: Level; sink: LogSink; ring: NumberedRecord[]; ringSize: number; seq: number };

  constructor(options: LoggerOptions) {
    this.role = options.role;
    this.node = options.node ?? "";
    this.#shared = {
      level: options.level ?? "info",
      sink: options.sink ?? stdoutSink,
      ring: [],
      ringSize: options.ringSize ?? 500,
      seq: 0,
    };
  }

  /** A logger for another role or node that writes to the same sink and ring. */
  child(role: string, node = this.node): Logger {
    const logger = new Logger({ role, node });
    logger.#shared = this.#shared;
    return logger;
  }

  /** Changes the minimum level for this logger and its children. */
  setLevel(level: Level): void {
    this.#shared.level = level;
  }

  /** True when records at `level` are written. */
  enabled(level: Level): boolean {
    return RANK[level] >= RANK[this.#shared.level];
  }

  debug(event: string, fields?: Record<string, unknown>): void {
    this.write("debug", event, fields);
  }
  info(event: string, fields?: Record<string, unknown>): void {
    this.write("info", event, fields);
  }
  warn(event: string, fields?: Record<string, unknown>): void {
    this.write("warn", event, fields);
  }
  error(event: string, fields?: Record<string, unknown>): void {
    this.write("error", event, fields);
  }

  /** Most recent records, oldest first. */
  recent(): LogRecord[] {
    return this.#shared.ring.map((r) => r.record);
  }

  /**
   * Records of the ring numbered after `since`, oldest first, at most the newest `limit`.
   *
   * @example
   * ```ts
   * import assert from "node:assert/strict";
   * import { Logger } from "./log.ts";
   * const log = new Logger({ role: "coordinator", sink: () => {} });
   * log.info("a");
   * log.info("b");
   * assert.deepEqual(log.since(1).map((r) => [r.seq, r.record.event]), [[2, "b"]]);
   * ```
   */
  since(since: number, limit = Infinity): NumberedRecord[] {
    const ring = this.#shared.ring;
    // Sequence numbers are consecutive, so the first wanted record's position is arithmetic.
    const first = ring.length === 0 ? 0 : Math.max(0, since + 1 - ring[0].seq);
    const from = Math.max(first, ring.length - limit);
    return from >= ring.length ? [] : ring.slice(from);
  }

  /** Sequence number of the last record written (0 before any). */
  get lastSeq(): number {
    return this.#shared.seq;
  }

  write(level: Level, event: string, fields?: Record<string, unknown>): void {
    if (!this.enabled(level)) return;
    const record: LogRecord = {
      time: new Date().toISOString(),
      level,
      role: this.role,
      node: this.node,
      event,
      ...fields,
    };
    const shared = this.#shared;
    shared.ring.push({ seq: ++shared.seq, record });
    if (shared.ring.length > shared.ringSize) shared.ring.shift();
    shared.sink(formatRecord(record), record);
  }
}

/** One record as a JSON line; errors become `{ name, message, code }`, bigints strings. */
export function formatRecord(record: LogRecord): string {
  return JSON.stringify(record, errorReplacer);
}

function errorReplacer(_key: string, value: unknown): unknown {
  if (value instanceof Error) {
    const coded = value as Error & { code?: unknown };
    return { name: value.name, message: value.message, code: coded.code };
  }
  if (typeof value === "bigint") return value.toString();
  return value;
}
