// A helper process of a benchmark that is not a ZoneScaler node (those are NodeProcess in
// testing/node_process.ts): a bot process or the peer server, run with Deno or Node.
// Keeps its JSON stdout lines and the tail of stderr, and always stops it.
import { forEachLine } from "../testing/node_process.ts";
import type { Closable } from "./scenario.ts";

const ROOT = new URL("../", import.meta.url).pathname;
/** Lines of stderr kept for error messages. */
const STDERR_TAIL = 20;

/** How to run a script: Deno (with -A) or Node, its path relative to the repository root. */
export type Runtime = "deno" | "node";

/** A running script; `close()` kills it if it still runs. */
export class ScriptProcess implements Closable {
  readonly name: string;
  readonly child: Deno.ChildProcess;
  readonly lines: Array<Record<string, unknown>> = [];
  readonly stderr: string[] = [];
  readonly status: Promise<Deno.CommandStatus>;

  constructor(name: string, runtime: Runtime, script: string, args: string[]) {
    this.name = name;
    const command = runtime === "deno"
      ? new Deno.Command(Deno.execPath(), {
        args: ["run", "-A", `${ROOT}${script}`, ...args],
        cwd: ROOT,
        stdin: "null",
        stdout: "piped",
        stderr: "piped",
      })
      : new Deno.Command("node", {
        args: [`${ROOT}${script}`, ...args],
        cwd: ROOT,
        stdin: "null",
        stdout: "piped",
        stderr: "piped",
      });
    this.child = command.spawn();
    this.status = this.child.status;
    forEachLine(this.child.stdout, (line) => {
      try {
        const parsed = JSON.parse(line);
        if (typeof parsed === "object" && parsed !== null) this.lines.push(parsed);
      } catch {
        // progress text, not a record
      }
    });
    forEachLine(this.child.stderr, (line) => {
      this.stderr.push(line);
      if (this.stderr.length > STDERR_TAIL) this.stderr.shift();
    });
  }

  /** The process id (for /proc sampling). */
  get pid(): number {
    return this.child.pid;
  }

  /** Resolves with the first stdout record whose `event` is `event`; throws after timeoutMs. */
  async waitForEvent(
    event: string,
    options: { timeoutMs: number; signal: AbortSignal },
  ): Promise<Record<string, unknown>> {
    const deadline = Date.now() + options.timeoutMs;
    let exited = false;
    this.status.then(() => (exited = true));
    while (Date.now() < deadline) {
      options.signal.throwIfAborted();
      const line = this.lines.find((l) => l.event === event);
      if (line) return line;
      if (exited) break;
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    throw new Error(
      `${this.name}: no "${event}" within ${options.timeoutMs} ms${
        exited ? " (it exited)" : ""
      }; ` +
        `stderr: ${this.stderr.join("\n")}`,
    );
  }

  /** Waits for the process to exit by itself; kills it after `timeoutMs`. */
  async finished(timeoutMs: number): Promise<Deno.CommandStatus> {
    let timer: ReturnType<typeof setTimeout> | undefined;
    const late = new Promise<"late">((
      resolve,
    ) => (timer = setTimeout(() => resolve("late"), timeoutMs)));
    const result = await Promise.race([this.status, late]);
    clearTimeout(timer);
    if (result !== "late") return result;
    await this.close();
    throw new Error(
      `${this.name} did not finish within ${timeoutMs} ms; stderr: ${this.stderr.join("\n")}`,
    );
  }

  /** Kills the process if it still runs and waits for it. */
  async close(): Promise<void> {
    try {
      this.child.kill("SIGKILL");
    } catch {
      // already exited
    }
    await this.status;
  }
}
