// testing/peer_process.ts as a child process of a test (a real peer to kill -9 or SIGSTOP by
// its pid), with its JSON lines.
import { forEachLine } from "./node_process.ts";

const ROOT = new URL("../", import.meta.url).pathname;

/** testing/peer_process.ts as a child process, with its JSON lines. */
export class PeerChild {
  readonly child: Deno.ChildProcess;
  readonly lines: Array<Record<string, unknown>> = [];
  readonly stderr: string[] = [];
  #wake = () => {};

  constructor(args: string[]) {
    this.child = new Deno.Command(Deno.execPath(), {
      args: ["run", "-A", `${ROOT}testing/peer_process.ts`, ...args],
      stdout: "piped",
      stderr: "piped",
      stdin: "null",
    }).spawn();
    forEachLine(this.child.stdout, (line) => {
      this.lines.push(JSON.parse(line));
      this.#wake();
    });
    forEachLine(this.child.stderr, (line) => this.stderr.push(line));
  }

  /** The first line with this event, waiting for it up to `timeoutMs`. */
  async waitFor(event: string, timeoutMs = 20_000): Promise<Record<string, unknown>> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const line = this.lines.find((l) => l.event === event);
      if (line) return line;
      if (Date.now() > deadline) {
        throw new Error(`no ${event} from the child; stderr: ${this.stderr.join("\n")}`);
      }
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, 200);
        this.#wake = () => (clearTimeout(timer), resolve());
      });
    }
  }

  /** Stops it with SIGTERM (after SIGCONT) and returns the signal it died of. */
  async stop(): Promise<Deno.CommandStatus> {
    for (const signal of ["SIGCONT", "SIGTERM"] as const) {
      try {
        this.child.kill(signal);
      } catch { /* already gone */ }
    }
    return await this.child.status;
  }
}
