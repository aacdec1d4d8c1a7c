// The whole suite, `npm test`, in three stages. First the tests that start no cluster
// (everything outside tests/integration/, doc examples included), in parallel, one deno test
// process per file, DENO_JOBS at a time (default: the core count). Then tests/integration/ in
// two lanes side by side, each running its files one after the other: the tests whose clusters
// time failures, handoffs, rebalancing and deploys (the default for a new file), and beside
// them the lighter ones listed in LIGHT (browser pages, one-node games, CLI and config checks,
// restarts), which mostly wait on I/O; the suite uses about 0.7 of a core run serially, so the
// two lanes fit two cores. Last, alone, the bench smoke test, which loads the machine with
// every benchmark scenario. Each lane's output goes through as it is (prefixed with the lane's
// name while two run at once); the last line sums them in deno test's own summary format
// (`ok | N passed (S steps) | M failed (time)`), which .ci/run reads.

/** One lane: a name and the arguments after `deno test`. */
interface Lane {
  name: string;
  args: string[];
}

const INTEGRATION = "tests/integration/";
/** Integration tests that share the cores well: they mostly wait on a browser, a node or I/O. */
export const LIGHT: ReadonlySet<string> = new Set([
  "all_role_test.ts",
  "body_limit_test.ts",
  "bots_test.ts",
  "cli_test.ts",
  "coins_test.ts",
  "compose_test.ts",
  "coordinator_restart_test.ts",
  "deploy_game_version_test.ts",
  "deploy_panel_test.ts",
  "diagnostics_history_test.ts",
  "diagnostics_map_test.ts",
  "diagnostics_page_test.ts",
  "diagnostics_rooms_test.ts",
  "diagnostics_sessions_test.ts",
  "durable_rooms_test.ts",
  "failover_silence_test.ts",
  "game_flag_test.ts",
  "game_input_test.ts",
  "grafana_dashboard_test.ts",
  "observability_test.ts",
  "operator_auth_test.ts",
  "play_minimap_test.ts",
  "play_page_test.ts",
  "player_data_test.ts",
  "remote_logic_test.ts",
  "room_regions_test.ts",
  "rooms_test.ts",
  "sdk_test.ts",
  "shared_accounts_test.ts",
  "sky_test.ts",
  "snapshot_rate_test.ts",
  "start_failure_test.ts",
  "tls_cluster_test.ts",
]);
/** Runs alone at the end: it starts every benchmark scenario. */
const ALONE = "bench_smoke_test.ts";

/**
 * The stages of the suite: the lanes of a stage run at the same time, stages one after the
 * other. `files` are the names in tests/integration/.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * const stages = suiteStages(["a_test.ts", "cli_test.ts", "bench_smoke_test.ts"]);
 * assert.deepEqual(stages.map((s) => s.map((l) => l.name)), [
 *   ["unit"],
 *   ["integration", "integration-light"],
 *   ["integration-bench"],
 * ]);
 * assert.deepEqual(stages[1][1].args.slice(-1), ["tests/integration/cli_test.ts"]);
 * ```
 */
export function suiteStages(files: readonly string[]): Lane[][] {
  const unit: Lane = {
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
  };
  const sorted = [...files].sort();
  const paths = (keep: (file: string) => boolean) =>
    sorted.filter(keep).map((f) => `${INTEGRATION}${f}`);
  const lane = (name: string, list: string[]): Lane[] =>
    list.length ? [{ name, args: ["-A", "--doc", ...list] }] : [];
  return [
    [unit],
    [
      ...lane("integration", paths((f) => f !== ALONE && !LIGHT.has(f))),
      ...lane("integration-light", paths((f) => LIGHT.has(f))),
    ],
    lane("integration-bench", paths((f) => f === ALONE)),
  ].filter((stage) => stage.length > 0);
}

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

/**
 * Runs one lane, passing its output through (each line prefixed with `prefix` when given, so
 * two lanes at once stay readable); resolves with its exit code and its output.
 */
async function runLane(args: string[], prefix = ""): Promise<{ code: number; output: string }> {
  const child = new Deno.Command(Deno.execPath(), {
    args: ["test", ...args],
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const decoder = new TextDecoder();
  const encoder = new TextEncoder();
  let output = "";
  const pass = async (stream: ReadableStream<Uint8Array>, to: typeof Deno.stdout) => {
    let partial = "";
    for await (const chunk of stream) {
      const text = decoder.decode(chunk, { stream: true });
      output += text;
      if (!prefix) {
        await to.write(chunk);
        continue;
      }
      const lines = (partial + text).split("\n");
      partial = lines.pop()!;
      if (lines.length) {
        await to.write(encoder.encode(lines.map((l) => `${prefix}${l}\n`).join("")));
      }
    }
    if (prefix && partial) await to.write(encoder.encode(`${prefix}${partial}\n`));
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
  const files = [...Deno.readDirSync(INTEGRATION)]
    .filter((e) => e.isFile && e.name.endsWith("_test.ts"))
    .map((e) => e.name);
  for (const stage of suiteStages(files)) {
    await Promise.all(stage.map(async (lane) => {
      const laneStart = performance.now();
      const run = await runLane(lane.args, stage.length > 1 ? `[${lane.name}] ` : "");
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
    }));
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
