// Role `all` (worker threads in one process) drained through the API, thread after thread, then
// stopped with SIGTERM: the process must exit 0 and never print a native crash (issue 11: such
// drains aborted the whole process in 7 of 23 tries on node:http2).
import { NodeProcess, until, writeTestConfig } from "./node_process.ts";
import { CRASH_LINE } from "./fault_cycles.ts";

/** The outcome of one run. */
export interface AllRoleDrainRun {
  drained: string[];
  failed: string[];
  code: number | null;
  signal: string | null;
  crashLines: string[];
}

/** Starts role all with `workers` threads, drains all but one of them, then sends SIGTERM. */
export async function drainAllRole(workers: number): Promise<AllRoleDrainRun> {
  const config = writeTestConfig({ role: "all", workers, minWorkers: 1 });
  const node = new NodeProcess("all", ["--config", config, "--port", "0", "--grpc-port", "0"]);
  const run: AllRoleDrainRun = {
    drained: [],
    failed: [],
    code: null,
    signal: null,
    crashLines: [],
  };
  try {
    const ready = await node.waitFor("all.ready");
    const api = `http://127.0.0.1:${ready.port}`;
    for (let n = 2; n <= workers; n++) {
      const id = `w${n}`;
      try {
        const response = await fetch(`${api}/api/workers/${id}/drain`, {
          method: "POST",
          signal: AbortSignal.timeout(5_000),
        });
        const body = await response.text();
        if (!response.ok) throw new Error(`drain ${id}: ${response.status} ${body}`);
        await until(`${id} drained`, () =>
          Promise.resolve(
            node.lines.some((l) => l.event === "thread.drained" && l.worker === id) || undefined,
          ), 30_000);
        run.drained.push(id);
      } catch (error) {
        run.failed.push((error as Error).message);
      }
    }
    const status = await node.stop("SIGTERM", 30_000);
    run.code = status.code;
    run.signal = status.signal;
  } finally {
    await node.kill();
    Deno.removeSync(config);
    run.crashLines = node.stderr.filter((l) => CRASH_LINE.test(l));
  }
  return run;
}
