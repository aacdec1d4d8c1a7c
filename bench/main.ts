// Benchmark runner: `npm run bench -- [scenario ...] [--quick] [--report]` runs scenarios
// against real processes, writes one JSON report each and regenerates docs/benchmarks.md.
import { parseArgs } from "node:util";
import { describeMachine, machineLine } from "./machine.ts";
import { loadAverage } from "./proc_stats.ts";
import { generatedSection, markdownTable, updateDocs, writeReport } from "./report.ts";
import { type Report, type Scenario, ScenarioContext } from "./scenario.ts";
import { findScenario, SCENARIOS } from "./scenarios.ts";

const ROOT = new URL("../", import.meta.url).pathname;

const USAGE = `Usage: npm run bench -- [scenario ...] [options]

Runs benchmark scenarios against real ZoneScaler processes on 127.0.0.1, writes
<out>/<scenario>.json (quick runs: <scenario>.quick.json) and regenerates the
tables in docs/benchmarks.md. No scenario: all of them. A quick run is a smoke
test: by default it writes to a new temporary directory and leaves the docs
alone, so the tree stays clean.

Scenarios:
${SCENARIOS.map((s) => `  ${s.name.padEnd(16)} ${s.title}`).join("\n")}

Options:
  --quick          small sizes and short windows (a smoke test, not a result)
  --report         only regenerate docs/benchmarks.md from the stored reports
  --out DIR        results directory (default: bench/results; --quick: a temp dir)
  --docs FILE      Markdown file to regenerate, "none" to skip (default: docs/benchmarks.md;
                   --quick: none)
  -h, --help       print this help`;

interface Options {
  names: string[];
  quick: boolean;
  reportOnly: boolean;
  out: string;
  docs: string;
}

function parseOptions(args: string[]): Options | number {
  let parsed;
  try {
    parsed = parseArgs({
      args,
      allowPositionals: true,
      strict: true,
      options: {
        quick: { type: "boolean" },
        report: { type: "boolean" },
        out: { type: "string" },
        docs: { type: "string" },
        help: { type: "boolean", short: "h" },
      },
    });
  } catch (error) {
    console.error(`bench: ${(error as Error).message}\n\n${USAGE}`);
    return 2;
  }
  const { values, positionals } = parsed;
  if (values.help) {
    console.log(USAGE);
    return 0;
  }
  const unknown = positionals.filter((name) => !findScenario(name));
  if (unknown.length > 0) {
    console.error(`bench: unknown scenario ${unknown.join(", ")}\n\n${USAGE}`);
    return 2;
  }
  const quick = values.quick === true;
  return {
    names: positionals,
    quick,
    reportOnly: values.report === true,
    // Quick numbers are no result: keep them out of bench/results and the docs unless asked.
    out: values.out ??
      (quick && !values.report
        ? Deno.makeTempDirSync({ prefix: "zs-bench-quick-" })
        : `${ROOT}bench/results`),
    docs: values.docs ?? (quick ? "none" : `${ROOT}docs/benchmarks.md`),
  };
}

/** How the user started this run, as they would type it again. */
function commandLine(args: string[]): string {
  const rest = args.length > 0 ? ` ${args.join(" ")}` : "";
  if (Deno.env.get("npm_lifecycle_event") !== "bench") return `deno run -A bench/main.ts${rest}`;
  return args.length > 0 ? `npm run bench --${rest}` : "npm run bench";
}

/** Runs one scenario within its time budget; every process it started is stopped afterwards. */
async function runScenario(
  scenario: Scenario,
  options: { quick: boolean; command: string; stop: AbortSignal },
): Promise<Report> {
  const controller = new AbortController();
  const budgetMs = scenario.budgetMs(options.quick);
  const timer = setTimeout(
    () => controller.abort(new Error(`ran out of its ${budgetMs / 1000} s time budget`)),
    budgetMs,
  );
  const onStop = () => controller.abort(new Error("interrupted"));
  options.stop.addEventListener("abort", onStop, { once: true });
  const context = new ScenarioContext({ quick: options.quick, signal: controller.signal });
  const timestamp = new Date().toISOString();
  const load = loadAverage();
  const started = performance.now();
  const aborted = new Promise<never>((_, reject) => {
    controller.signal.addEventListener("abort", () => reject(controller.signal.reason), {
      once: true,
    });
  });
  const running = scenario.run(context);
  running.catch(() => {}); // after an abort it may still fail; that is reported below
  let output: Awaited<typeof running> | undefined;
  let error: string | undefined;
  try {
    output = await Promise.race([running, aborted]);
  } catch (e) {
    error = e instanceof Error ? e.message : String(e);
    context.progress(`${scenario.name} failed: ${error}`);
  } finally {
    clearTimeout(timer);
    options.stop.removeEventListener("abort", onStop);
    controller.abort(new Error("finished"));
    await context.closeAll();
  }
  return {
    scenario: scenario.name,
    title: scenario.title,
    target: scenario.target,
    quick: options.quick,
    machine: describeMachine(),
    command: options.command,
    timestamp,
    durationS: Math.round((performance.now() - started) / 100) / 10,
    loadAverage: load,
    parameters: output?.parameters ?? {},
    results: output?.results ?? context.partial,
    ...(error === undefined ? {} : { error }),
  };
}

async function main(args: string[]): Promise<number> {
  const options = parseOptions(args);
  if (typeof options === "number") return options;
  const stop = new AbortController();
  const onSignal = () => stop.abort();
  Deno.addSignalListener("SIGINT", onSignal);
  Deno.addSignalListener("SIGTERM", onSignal);
  let failed = false;
  try {
    if (!options.reportOnly) {
      const chosen = options.names.length > 0
        ? SCENARIOS.filter((s) => options.names.includes(s.name))
        : SCENARIOS;
      const machine = describeMachine();
      console.error(`bench on ${machineLine(machine)}${options.quick ? " (quick)" : ""}`);
      if (machine.cores <= 2) {
        console.error(
          `note: ${machine.cores} cores: the coordinator, the workers and this harness share them`,
        );
      }
      for (const scenario of chosen) {
        if (stop.signal.aborted) break;
        const report = await runScenario(scenario, {
          quick: options.quick,
          command: commandLine(args),
          stop: stop.signal,
        });
        const path = writeReport(options.out, report);
        failed ||= report.error !== undefined;
        console.log(`\n## ${scenario.name}: ${scenario.title}\n`);
        if (report.error) console.log(`FAILED: ${report.error}\n`);
        try {
          const { table, summary } = scenario.render(report.results);
          if (table.rows.length > 0) console.log(markdownTable(table) + "\n");
          for (const line of summary) console.log(`- ${line}`);
        } catch (error) {
          console.log(`(cannot render the results: ${(error as Error).message})`);
        }
        console.log(`(${path}, ${report.durationS} s)`);
      }
    }
    if (options.docs !== "none") {
      updateDocs(options.docs, generatedSection(SCENARIOS, options.out));
      console.error(`updated ${options.docs}`);
    }
  } finally {
    Deno.removeSignalListener("SIGINT", onSignal);
    Deno.removeSignalListener("SIGTERM", onSignal);
  }
  if (stop.signal.aborted) return 130;
  return failed ? 1 : 0;
}

if (import.meta.main) {
  Deno.exit(await main(Deno.args));
}
