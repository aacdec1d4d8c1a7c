// A Python GameLogic server (examples/remote_py/logic_server.py, or another script that prints
// the same {"event": "logic.listening", "port": N} line) as a child process, for the tests and
// the remote-logic bench.
const ROOT = new URL("../", import.meta.url).pathname;

/** A GameLogic server in Python as a child process, stopped by its pid. */
export class LogicServer {
  readonly child: Deno.ChildProcess;
  readonly port: Promise<number>;
  readonly stderr: string[] = [];

  constructor(port: number, delayMs = 0, script = "examples/remote_py/logic_server.py") {
    const child = new Deno.Command("python3", {
      args: [`${ROOT}${script}`, "--port", String(port), "--delay-ms", String(delayMs)],
      stdout: "piped",
      stderr: "piped",
      stdin: "null",
    }).spawn();
    this.child = child;
    void (async () => {
      for await (const line of child.stderr.pipeThrough(new TextDecoderStream())) {
        this.stderr.push(line);
      }
    })();
    this.port = (async () => {
      const lines = child.stdout.pipeThrough(new TextDecoderStream()).getReader();
      let text = "";
      const deadline = AbortSignal.timeout(30_000);
      while (!text.includes("\n")) {
        if (deadline.aborted) throw new Error(`no logic.listening: ${this.stderr.join("")}`);
        const { value, done } = await lines.read();
        if (done) throw new Error(`logic server exited: ${this.stderr.join("")}`);
        text += value;
      }
      void lines.cancel();
      return JSON.parse(text.split("\n")[0]).port as number;
    })();
  }

  get pid(): number {
    return this.child.pid;
  }

  async stop(): Promise<void> {
    try {
      this.child.kill("SIGKILL");
    } catch { /* already gone */ }
    await this.child.status;
  }
}
