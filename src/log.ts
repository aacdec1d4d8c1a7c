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
  #shared: { level: Level; sink: LogSink; ring: LogRecord[]; ringSize: number };

  constructor(options: LoggerOptions) {
    this.role = options.role;
    this.node = options.node ?? "";
    this.#shared = {
      level: options.level ?? "info",
      sink: options.sink ?? stdoutSink,
      ring: [],
      ringSize: options.ringSize ?? 500,
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
  recent(): readonly LogRecord[] {
    return this.#shared.ring;
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
    shared.ring.push(record);
    if (shared.ring.length > shared.ringSize) shared.ring.shift();
    shared.sink(JSON.stringify(record, errorReplacer), record);
  }
}

function errorReplacer(_key: string, value: unknown): unknown {
  if (value instanceof Error) {
    const coded = value as Error & { code?: unknown };
    return { name: value.name, message: value.message, code: coded.code };
  }
  if (typeof value === "bigint") return value.toString();
  return value;
}
