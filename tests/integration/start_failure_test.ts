// Start-up failures: a taken port names the role, host and port in one line and exits non-zero.
import assert from "node:assert/strict";
import { TEST_SECRET } from "../../testing/node_process.ts";

const ROOT = new URL("../../", import.meta.url).pathname;

async function run(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  const output = await new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", `${ROOT}main.ts`, ...args],
    cwd: ROOT,
    stdin: "null",
    env: { ZS_SECRET: TEST_SECRET },
    signal: AbortSignal.timeout(30_000),
  }).output();
  const text = (bytes: Uint8Array) => new TextDecoder().decode(bytes);
  return { code: output.code, stdout: text(output.stdout), stderr: text(output.stderr) };
}

Deno.test("a taken HTTP or gRPC port is one line naming role, host and port, exit 1", async () => {
  using taken = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (taken.addr as Deno.NetAddr).port;
  const cases: Array<[string[], string]> = [
    [
      ["--role=coordinator", "--port", String(port), "--grpc-port", "0"],
      `zonescaler: cannot start coordinator: HTTP port 127.0.0.1:${port} is already in use`,
    ],
    [
      ["--role=coordinator", "--port", "0", "--grpc-port", String(port)],
      `zonescaler: cannot start coordinator: gRPC port 127.0.0.1:${port} is already in use`,
    ],
    [
      ["--role=gateway", "--port", String(port), "--storage", ":memory:"],
      `zonescaler: cannot start gateway: HTTP port 127.0.0.1:${port} is already in use`,
    ],
    [
      ["--role=all", "--port", String(port), "--storage", ":memory:"],
      `zonescaler: cannot start all: HTTP port 127.0.0.1:${port} is already in use`,
    ],
  ];
  for (const [args, line] of cases) {
    const result = await run(args);
    assert.equal(result.code, 1, `${args.join(" ")}: ${result.stderr}`);
    const lines = result.stderr.trim().split("\n");
    assert.deepEqual(lines, [line]);
  }
});

Deno.test("an unreachable PostgreSQL is one start-up line without the password", async () => {
  using unused = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (unused.addr as Deno.NetAddr).port;
  unused.close();
  const result = await new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", `${ROOT}main.ts`, "--role=gateway", "--port", "0"],
    cwd: ROOT,
    stdin: "null",
    env: {
      ZS_SECRET: TEST_SECRET,
      ZS_STORAGE_URL: `postgres://zs:hunter2-secret@127.0.0.1:${port}/zonescaler`,
      // Retries for half a second instead of the default 15 s (the schedule is the same).
      ZS_STORAGE_CONNECT_MS: "500",
    },
    signal: AbortSignal.timeout(60_000),
  }).output();
  const stderr = new TextDecoder().decode(result.stderr).trim();
  assert.equal(result.code, 1);
  assert.equal(stderr.split("\n").length, 1, stderr);
  assert.match(
    stderr,
    new RegExp(
      `^zonescaler: cannot start gateway: Cannot open account storage postgres://zs:\\*\\*\\*@127\\.0\\.0\\.1:${port}/zonescaler: `,
    ),
  );
  assert.ok(!stderr.includes("hunter2"), "the password never reaches the output");
});
