// The whole suite, `npm test`, in two lanes: the tests that start no cluster (everything outside
// tests/integration/, doc examples included) run in parallel, one deno test process per file,
// DENO_JOBS at a time (default: the core count); then tests/integration/ runs one file after
// the other, because its clusters and timing bounds must not share the cores with each other.
// Both lanes' output goes through as it is; the last line sums them in deno test's own summary
// format (`ok | N passed (S steps) | M failed (time)`), which .ci/run reads.

/** One lane: the arguments after `deno test`. */
const LANES: ReadonlyArray<{ name: string; args: string[] }> = [
  {
    name: "unit",
    args: [
      "-A",
      "--doc",
      "--parallel",
      "--ignore=**/integration",
      "mod.ts",
      "src/",
      "tests/",
      "testing/",
    ],
  },
  { name: "integration", args: ["-A", "--doc", "tests/integration/"] },
];

/** Counts of one deno test summary line. */
export interface Summary {
  passed: number;
  steps: number;
  failed: number;
  ignored: number;
}

const SUMMARY =
  /(?:ok|FAILED) \| (\d+) passed(?: \((\d+) steps?\))? \| (\d+) failed(?: \| (\d+) ignored)?/;

/**
 * The counts of the last summary line in deno test output (colours stripped), or undefined when
 * there is none (the run failed before testing, e.g. on a type error).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * const out = "running 1 test from ./a_test.ts\nok | 545 passed (41 steps) | 0 failed (7m16s)\n";
 * assert.deepEqual(parseSummary(out), { passed: 545, steps: 41, failed: 0, ignored: 0 });
 * assert.equal(parseSummary("error: Type checking failed\n"), undefined);
 * ```
 */
export function parseSummary(output: string): Summary | undefined {
  // deno-lint-ignore no-control-regex
  const lines = output.replace(/\x1b\[[0-9;]*m/g, "").split("\n");
  for (let i = lines.length - 1; i >= 0; i--) {
    const m = SUMMARY.exec(lines[i]);
    if (m) {
      return {
        passed: Number(m[1]),
        steps: Number(m[2] ?? 0),
        failed: Number(m[3]),
        ignored: Number(m[4] ?? 0),
      };
    }
  }
  return undefined;
}

/** Runs one lane, passing its output through; resolves with its exit code and its output. */
async function runLane(args: string[]): Promise<{ code: number; output: string }> {
  const child = new Deno.Command(Deno.execPath(), {
    args: ["test", ...args],
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const decoder = new TextDecoder();
  let output = "";
  const pass = async (stream: ReadableStream<Uint8Array>, to: typeof Deno.stdout) => {
    for await (const chunk of stream) {
      await to.write(chunk);
      output += decoder.decode(chunk, { stream: true });
    }
  };
  await Promise.all([pass(child.stdout, Deno.stdout), pass(child.stderr, Deno.stderr)]);
  const { code } = await child.status;
  return { code, output };
}

function duration(ms: number): string {
  const s = Math.round(ms / 1000);
  return s >= 60 ? `${Math.floor(s / 60)}m${s % 60}s` : `${s}s`;
}

async function main(): Promise<number> {
  const started = performance.now();
  const total: Summary = { passed: 0, steps: 0, failed: 0, ignored: 0 };
  let code = 0;
  for (const lane of LANES) {
    const laneStart = performance.now();
    const run = await runLane(lane.args);
    const summary = parseSummary(run.output);
    if (summary) {
      for (const key of ["passed", "steps", "failed", "ignored"] as const) {
        total[key] += summary[key];
      }
    }
    // A lane that failed without a failed test (a type error, a crash) still fails the suite.
    if (run.code !== 0 && (summary?.failed ?? 0) === 0) total.failed++;
    if (run.code !== 0) code = 1;
    console.log(
      `lane ${lane.name}: exit ${run.code} in ${duration(performance.now() - laneStart)}`,
    );
  }
  const steps = total.steps > 0 ? ` (${total.steps} steps)` : "";
  const ignored = total.ignored > 0 ? ` | ${total.ignored} ignored` : "";
  console.log(
    `\n${total.failed === 0 && code === 0 ? "ok" : "FAILED"} | ${total.passed} passed${steps} | ` +
      `${total.failed} failed${ignored} (${duration(performance.now() - started)})`,
  );
  return code;
}

if (import.meta.main) Deno.exit(await main());
