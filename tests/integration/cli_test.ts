// The command line: --help, --version, and bad configuration exiting 2 with one clear line.
import assert from "node:assert/strict";

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

function tempConfig(value: unknown): string {
  const path = Deno.makeTempFileSync({ suffix: ".json" });
  Deno.writeTextFileSync(path, typeof value === "string" ? value : JSON.stringify(value));
  return path;
}

Deno.test("--help prints usage and --version the version, both exiting 0", async () => {
  const help = await run(["--help"]);
  assert.equal(help.code, 0);
  assert.match(help.stdout, /Usage: zonescaler/);
  assert.match(help.stdout, /--grpc-port/);
  const version = await run(["--version"]);
  assert.equal(version.code, 0);
  assert.match(version.stdout, /^zonescaler \d+\.\d+\.\d+\n$/);
});

Deno.test("a bad configuration exits 2 with one line naming the field", async () => {
  const cases: Array<[unknown, RegExp]> = [
    [{ bogus: 1 }, /^CONFIG_INVALID: bogus: unknown key$/],
    [{ port: "80" }, /^CONFIG_INVALID: port: /],
    [{ port: 70000 }, /^CONFIG_INVALID: port: .*70000$/],
    [
      { aoiRadius: 50, ghostMargin: 40 },
      /^CONFIG_INVALID: ghostMargin: must be >= aoiRadius \(50\), got 40$/,
    ],
    [
      { world: { dims: 2, size: [100, 100], cellSize: 10, depth: 3 } },
      /^CONFIG_INVALID: world\.depth: unknown key$/,
    ],
    ["{ not json", /^CONFIG_INVALID: --config: .* is not valid JSON/],
  ];
  for (const [value, expected] of cases) {
    const path = tempConfig(value);
    try {
      const result = await run(["--config", path]);
      assert.equal(result.code, 2, `exit status for ${JSON.stringify(value)}`);
      const lines = result.stderr.trim().split("\n");
      assert.equal(lines.length, 1, `one line: ${result.stderr}`);
      assert.match(lines[0], expected);
      assert.equal(result.stdout, "");
    } finally {
      Deno.removeSync(path);
    }
  }
  const missing = await run(["--config", "/nonexistent/zs.json"]);
  assert.equal(missing.code, 2);
  assert.match(
    missing.stderr.trim(),
    /^CONFIG_INVALID: --config: cannot read "\/nonexistent\/zs\.json"/,
  );
  const flag = await run(["--port", "abc"]);
  assert.equal(flag.code, 2);
  assert.match(flag.stderr.trim(), /^CONFIG_INVALID: --port: expected an integer, got "abc"$/);
  const unknown = await run(["--frobnicate"]);
  assert.equal(unknown.code, 2);
  assert.match(unknown.stderr.trim(), /^CONFIG_INVALID: .*frobnicate/);
  const noSecret = await run(["--role=worker"]);
  assert.equal(noSecret.code, 2);
  assert.match(noSecret.stderr.trim(), /^CONFIG_INVALID: secret: required/);
});
