// Test harness: starts ZoneScaler nodes as real OS processes, reads their JSON log lines,
// waits (bounded) for events, and always stops them.
import { Grid } from "../src/world/grid.ts";

const ROOT = new URL("../", import.meta.url).pathname;

/** One parsed log line. */
export type LogLine = Record<string, unknown> & { event?: string };

/** A started node process. */
export class NodeProcess {
  readonly name: string;
  readonly child: Deno.ChildProcess;
  readonly lines: LogLine[] = [];
  readonly stderr: string[] = [];
  #waiters = new Set<() => void>();
  #status: Promise<Deno.CommandStatus>;
  #output: Promise<unknown>;
  /** The exit status once the process has exited; undefined while it runs. */
  exitStatus: Deno.CommandStatus | undefined;

  /**
   * Starts `main.ts` with `args`. `options.cpus` (a taskset list, "0" or "0,1") starts it
   * under `taskset -c`, so it and every thread it makes run only on those cores (benchmarks);
   * `options.inspect` starts it with its inspector on a free loopback port
   * ({@linkcode NodeProcess.inspectorUrl}).
   */
  constructor(
    name: string,
    args: string[],
    env: Record<string, string> = {},
    options: { cpus?: string; inspect?: boolean } = {},
  ) {
    this.name = name;
    const inspect = options.inspect ? ["--inspect=127.0.0.1:0"] : [];
    const command = [Deno.execPath(), "run", "-A", ...inspect, `${ROOT}main.ts`, ...args];
    // taskset execs the command: the child's pid is still the program's own.
    if (options.cpus !== undefined) command.unshift("taskset", "-c", options.cpus);
    this.child = new Deno.Command(command[0], {
      args: command.slice(1),
      cwd: ROOT,
      stdout: "piped",
      stderr: "piped",
      stdin: "null",
      env,
    }).spawn();
    this.#status = this.child.status;
    this.#status.then((status) => {
      this.exitStatus = status;
      this.#wake();
    });
    const stdout = forEachLine(this.child.stdout, (line) => {
      try {
        this.lines.push(JSON.parse(line));
      } catch {
        this.lines.push({ event: "raw", line });
      }
      this.#wake();
    });
    const stderr = forEachLine(this.child.stderr, (line) => {
      this.stderr.push(line);
      this.#wake();
    });
    this.#output = Promise.all([stdout, stderr]).catch(() => {}); // a read error ends the lines
  }

  /**
   * Resolves with the exit status once the process exited and every line it wrote was read
   * (`child.status` can resolve before the last stderr lines are in `stderr`).
   */
  async exited(): Promise<Deno.CommandStatus> {
    const [status] = await Promise.all([this.#status, this.#output]);
    return status;
  }

  /** The inspector's WebSocket URL of a process started with `inspect` (throws after timeoutMs). */
  inspectorUrl(timeoutMs = 30_000): Promise<string> {
    return new Promise((resolve, reject) => {
      const check = () => {
        for (const line of this.stderr) {
          const url = /Debugger listening on (ws:\/\/\S+)/.exec(line)?.[1];
          if (url) {
            clearTimeout(timer);
            this.#waiters.delete(check);
            resolve(url);
          }
        }
      };
      const timer = setTimeout(() => {
        this.#waiters.delete(check);
        reject(new Error(`${this.name}: no inspector URL within ${timeoutMs} ms`));
      }, timeoutMs);
      this.#waiters.add(check);
      check();
    });
  }

  #wake(): void {
    for (const wake of this.#waiters) wake();
  }

  /** Resolves with the first log line with this event (already seen or future), or throws after timeoutMs. */
  waitFor(event: string, timeoutMs = 30_000): Promise<LogLine> {
    return new Promise((resolve, reject) => {
      const check = () => {
        const line = this.lines.find((l) => l.event === event);
        if (line) {
          clearTimeout(timer);
          this.#waiters.delete(check);
          resolve(line);
        }
      };
      const timer = setTimeout(() => {
        this.#waiters.delete(check);
        reject(
          new Error(
            `${this.name}: no "${event}" log line within ${timeoutMs} ms; stderr: ${
              this.stderr.join("\n")
            }`,
          ),
        );
      }, timeoutMs);
      this.#waiters.add(check);
      check();
    });
  }

  /** Sends a signal and resolves with the exit status, or throws after timeoutMs (then kills). */
  async stop(signal: Deno.Signal = "SIGTERM", timeoutMs = 10_000): Promise<Deno.CommandStatus> {
    try {
      this.child.kill(signal);
    } catch {
      // already exited
    }
    let timer: ReturnType<typeof setTimeout> | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => {
        try {
          this.child.kill("SIGKILL");
        } catch { /* gone */ }
        reject(new Error(`${this.name} did not exit within ${timeoutMs} ms of ${signal}`));
      }, timeoutMs);
    });
    try {
      return await Promise.race([this.#status, timeout]);
    } finally {
      clearTimeout(timer);
    }
  }

  /** Sends `signal` (SIGKILL, SIGSTOP, SIGCONT, ...) without waiting; false if it had exited. */
  signal(signal: Deno.Signal): boolean {
    try {
      this.child.kill(signal);
      return true;
    } catch {
      return false;
    }
  }

  /**
   * Lines of stderr that show the process aborted or crashed rather than exited (a failed
   * native assertion, a heap corruption report, a fatal signal, a Rust panic).
   */
  crashLines(): string[] {
    return this.stderr.filter((line) =>
      /Assertion|free\(\)|SIGSEGV|SIGABRT|Segmentation fault|panicked|double free/.test(line)
    );
  }

  /** Kills the process if it still runs and waits for it (for cleanup in finally blocks). */
  async kill(): Promise<void> {
    try {
      this.child.kill("SIGKILL");
    } catch { /* gone */ }
    await this.#status;
  }
}

/** Calls `onLine` for every non-empty line of a text stream, until it ends. */
export async function forEachLine(
  stream: ReadableStream<Uint8Array>,
  onLine: (line: string) => void,
): Promise<void> {
  let buffer = "";
  for await (const chunk of stream.pipeThrough(new TextDecoderStream())) {
    buffer += chunk;
    let at: number;
    while ((at = buffer.indexOf("\n")) >= 0) {
      const line = buffer.slice(0, at);
      buffer = buffer.slice(at + 1);
      if (line.trim()) onLine(line);
    }
  }
  if (buffer.trim()) onLine(buffer);
}

/** Command-line flags of a coordinator process on free ports (HTTP and gRPC), then `extra`. */
export function coordinatorArgs(configPath: string, ...extra: string[]): string[] {
  return [
    "--role=coordinator",
    "--config",
    configPath,
    "--port",
    "0",
    "--grpc-port",
    "0",
    ...extra,
  ];
}

/**
 * Command-line flags of a worker process joining the coordinator at 127.0.0.1:grpcPort (or at
 * the given "host:port[,host:port]" of a pair).
 */
export function workerArgs(
  configPath: string,
  coordinator: number | string,
  ...extra: string[]
): string[] {
  return [
    "--role=worker",
    "--config",
    configPath,
    "--coordinator",
    typeof coordinator === "number" ? `127.0.0.1:${coordinator}` : coordinator,
    "--port",
    "0",
    "--grpc-port",
    "0",
    ...extra,
  ];
}

/** GET a JSON document with a bounded wait. */
export async function getJson<T = Record<string, unknown>>(
  url: string,
  timeoutMs = 5_000,
): Promise<T> {
  const response = await fetch(url, { signal: AbortSignal.timeout(timeoutMs) });
  const body = await response.json();
  if (!response.ok) throw new Error(`GET ${url}: ${response.status} ${JSON.stringify(body)}`);
  return body as T;
}

/** Polls `probe` until it returns a value other than undefined, or throws after timeoutMs. */
export async function until<T>(
  what: string,
  probe: () => Promise<T | undefined>,
  timeoutMs = 30_000,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let lastError: unknown;
  while (Date.now() < deadline) {
    try {
      const value = await probe();
      if (value !== undefined) return value;
    } catch (error) {
      lastError = error;
    }
    await new Promise((r) => setTimeout(r, 200));
  }
  throw new Error(`Timed out after ${timeoutMs} ms waiting for ${what}`, { cause: lastError });
}

/** A config file in a temp dir for a small, busy test world; returns its path. */
export function writeTestConfig(overrides: Record<string, unknown> = {}): string {
  const path = Deno.makeTempFileSync({ prefix: "zs-test-", suffix: ".json" });
  Deno.writeTextFileSync(
    path,
    JSON.stringify({
      secret: TEST_SECRET,
      operatorToken: TEST_OPERATOR_TOKEN,
      host: "127.0.0.1",
      advertiseHost: "127.0.0.1",
      logLevel: "info",
      minWorkers: 2,
      world: TEST_WORLD,
      tickHz: 20,
      aoiRadius: 20,
      ghostMargin: 30,
      heartbeatMs: 500,
      workerTimeoutMs: 3_000,
      game: { npcs: 300, speed: 60, bumpRadius: 8, bumpCooldownTicks: 5, seed: 3 },
      // Tests that restart a coordinator give it a file of their own (testing/cluster.ts).
      coordinatorState: ":memory:",
      ...overrides,
    }),
  );
  return path;
}

/** Cluster secret of test configs. */
export const TEST_SECRET = "integration-test-secret";
/** Operator token of test configs (the control API's `Authorization: Bearer`). */
export const TEST_OPERATOR_TOKEN = "integration-operator-token";
/** The header carrying {@linkcode TEST_OPERATOR_TOKEN}. */
export const OPERATOR_HEADERS: Readonly<Record<string, string>> = Object.freeze({
  authorization: `Bearer ${TEST_OPERATOR_TOKEN}`,
});
/** World of test configs: 4×4 cells so the two regions share a long border. */
export const TEST_WORLD = { dims: 2 as const, size: [400, 400], cellSize: 100 };
/** The grid of {@linkcode TEST_WORLD}. */
export const testGrid = (): Grid => new Grid(TEST_WORLD);
