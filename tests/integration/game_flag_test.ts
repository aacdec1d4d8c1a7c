// `--game`: a path that does not load, a module without a defineGame default export, or options
// the game refuses exit 2 with one line; a worker of another game is refused at registration.
import assert from "node:assert/strict";
import {
  coordinatorArgs,
  NodeProcess,
  workerArgs,
  writeTestConfig,
} from "../../testing/node_process.ts";

const ROOT = new URL("../../", import.meta.url).pathname;

async function run(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  const output = await new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", `${ROOT}main.ts`, ...args],
    cwd: ROOT,
    stdin: "null",
    signal: AbortSignal.timeout(30_000),
  }).output();
  const text = (bytes: Uint8Array) => new TextDecoder().decode(bytes);
  return { code: output.code, stdout: text(output.stdout), stderr: text(output.stderr) };
}

Deno.test("a --game that cannot be loaded or configured exits 2 with one line", async () => {
  const options = writeTestConfig({ game: { options: { coins: 10, bogus: 1 } } });
  const cases: Array<[string[], RegExp]> = [
    [
      ["--game", "examples/no_such_game.ts"],
      /^CONFIG_INVALID: game\.module: cannot import "examples\/no_such_game\.ts": /,
    ],
    [
      ["--game", "tests/integration/fixtures/not_a_game.ts"],
      /^CONFIG_INVALID: game\.module: ".*not_a_game\.ts" has no default export made by defineGame/,
    ],
    [
      ["--config", options, "--game", "examples/coins.ts"],
      /^CONFIG_INVALID: game\.options\.bogus: unknown key$/,
    ],
  ];
  try {
    for (const [args, expected] of cases) {
      const result = await run(["--port", "0", ...args]);
      assert.equal(result.code, 2, `exit status for ${args.join(" ")}: ${result.stderr}`);
      const lines = result.stderr.trim().split("\n");
      assert.equal(lines.length, 1, `one line: ${result.stderr}`);
      assert.match(lines[0], expected);
      assert.equal(result.stdout, "");
    }
  } finally {
    Deno.removeSync(options);
  }
});

Deno.test({
  name: "a worker running another game than the coordinator is refused at registration",
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    const config = writeTestConfig({ minWorkers: 1, game: {} });
    const coordinator = new NodeProcess("coordinator", coordinatorArgs(config));
    let worker: NodeProcess | undefined;
    try {
      const ready = await coordinator.waitFor("coordinator.listening");
      worker = new NodeProcess(
        "worker",
        workerArgs(config, ready.grpcPort as number, "--game", "examples/coins.ts"),
      );
      const status = await worker.exited();
      assert.equal(status.code, 1);
      const lines = worker.stderr.filter((line) => line.trim() !== "");
      assert.equal(lines.length, 1, `one line: ${lines.join("\n")}`);
      assert.match(
        lines[0],
        /GAME_MISMATCH: the worker runs game coins@1 but the cluster runs demo@1/,
      );
      const refused = await coordinator.waitFor("worker.refused");
      assert.match(String(refused.reason), /GAME_MISMATCH/);
    } finally {
      await worker?.kill();
      await coordinator.stop();
      Deno.removeSync(config);
    }
  },
});
