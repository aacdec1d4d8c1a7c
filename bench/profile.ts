// Profiles a worker under benchmark load: a coordinator and N workers as in the scenarios, the
// first worker started with the inspector; after a warm-up, a CPU profile of that worker is
// recorded and summarized. Used to explain a missed target (docs/benchmarks.md).
//
//   deno run -A bench/profile.ts [--entities 20000] [--workers 1] [--warmup 10] [--seconds 10]
//                                [--out worker.cpuprofile] [--fault-tolerance none]
import { parseArgs } from "node:util";
import { coordinatorArgs, NodeProcess, until, workerArgs } from "../testing/node_process.ts";
import { type CpuProfile, recordProfile, summarizeProfile } from "./cpu_profile.ts";
import { markdownTable } from "./report.ts";
import { benchConfig } from "./world.ts";

const ROOT = new URL("../", import.meta.url).pathname;

/** Starts a worker with `--inspect=127.0.0.1:0`; `wsUrl` resolves with its inspector's URL. */
function startInspectedWorker(args: string[]) {
  const child = new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", "--inspect=127.0.0.1:0", `${ROOT}main.ts`, ...args],
    cwd: ROOT,
    stdin: "null",
    stdout: "null",
    stderr: "piped",
  }).spawn();
  const found = Promise.withResolvers<string>();
  (async () => {
    let text = "";
    for await (const chunk of child.stderr.pipeThrough(new TextDecoderStream())) {
      text += chunk;
      const url = /Debugger listening on (ws:\/\/\S+)/.exec(text)?.[1];
      if (url) found.resolve(url);
    }
    found.reject(new Error(`worker exited before its inspector listened: ${text}`));
  })();
  found.promise.catch(() => {}); // awaited later; do not let an early exit go unhandled
  return { child, wsUrl: found.promise };
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    args: Deno.args,
    options: {
      entities: { type: "string", default: "20000" },
      workers: { type: "string", default: "1" },
      warmup: { type: "string", default: "10" },
      seconds: { type: "string", default: "10" },
      out: { type: "string" },
      top: { type: "string", default: "25" },
      "fault-tolerance": { type: "string" },
    },
  });
  const entities = Number(values.entities), workers = Number(values.workers);
  const configPath = Deno.makeTempFileSync({ prefix: "zs-profile-", suffix: ".json" });
  Deno.writeTextFileSync(
    configPath,
    JSON.stringify(benchConfig({
      workers,
      npcs: entities,
      faultTolerance: values["fault-tolerance"] as "replica" | "pool" | "none" | undefined,
    })),
  );
  const coordinator = new NodeProcess("coordinator", coordinatorArgs(configPath));
  const others: NodeProcess[] = [];
  let inspected: Deno.ChildProcess | undefined;
  try {
    const listening = await coordinator.waitFor("coordinator.listening");
    const argsOf = (n: number) =>
      workerArgs(configPath, Number(listening.grpcPort), "--node-id", `w${n}`);
    const first = startInspectedWorker(argsOf(1));
    inspected = first.child;
    for (let n = 2; n <= workers; n++) others.push(new NodeProcess(`w${n}`, argsOf(n)));
    const api = `http://127.0.0.1:${listening.httpPort}/api/state`;
    await until("the cluster reporting every entity", async () => {
      const s = await (await fetch(api)).json() as { workers: Array<{ entities: number }> };
      const total = s.workers.reduce((n, w) => n + w.entities, 0);
      return s.workers.length === workers && total === entities ? s : undefined;
    }, 60_000);
    console.error(`warming up ${values.warmup} s, then profiling w1 for ${values.seconds} s`);
    await new Promise((r) => setTimeout(r, Number(values.warmup) * 1000));
    const profile: CpuProfile = await recordProfile(await first.wsUrl, {
      ms: Number(values.seconds) * 1000,
    });
    if (values.out) {
      Deno.writeTextFileSync(values.out, JSON.stringify(profile));
      console.error(`wrote ${values.out} (open it in Chrome DevTools → Performance)`);
    }
    const { busyMs, functions } = summarizeProfile(profile);
    const wallMs = (profile.endTime - profile.startTime) / 1000;
    console.log(
      `w1 with ${entities} entities on ${workers} worker(s): busy ${busyMs} ms of ${
        Math.round(wallMs)
      } ms (${Math.round((busyMs / wallMs) * 100)} % of a core)\n`,
    );
    const top = Number(values.top);
    const rows = (list: typeof functions) =>
      list.slice(0, top).map((
        f,
      ) => [f.name, f.location, f.totalPct.toFixed(1), f.selfPct.toFixed(1)]);
    const columns = ["function", "location", "total %", "self %"];
    console.log("By total time (function and its callees):\n");
    console.log(markdownTable({ columns, rows: rows(functions) }));
    console.log("\nBy self time:\n");
    console.log(
      markdownTable({ columns, rows: rows([...functions].sort((a, b) => b.selfPct - a.selfPct)) }),
    );
  } finally {
    try {
      inspected?.kill("SIGKILL");
      await inspected?.status;
    } catch { /* gone */ }
    await Promise.all([coordinator, ...others].map((p) => p.kill()));
    Deno.removeSync(configPath);
  }
}

if (import.meta.main) await main();
