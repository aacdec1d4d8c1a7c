// `--role=bots` against a real `--role=all` process: every simulated client connects, walks and
// gets acknowledged without a single error; bad bots flags exit 2 with one line.
import assert from "node:assert/strict";
import type { BotReport } from "../../src/client/bot_report.ts";
import { getJson, NodeProcess, until } from "../../testing/node_process.ts";

const ROOT = new URL("../../", import.meta.url).pathname;

async function runBots(args: string[], timeoutMs: number) {
  const output = await new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", `${ROOT}main.ts`, "--role=bots", ...args],
    cwd: ROOT,
    stdin: "null",
    signal: AbortSignal.timeout(timeoutMs),
  }).output();
  const text = (bytes: Uint8Array) => new TextDecoder().decode(bytes);
  return { code: output.code, stdout: text(output.stdout), stderr: text(output.stderr) };
}

Deno.test("bad bots flags exit 2 with one line naming the flag", async () => {
  const unknown = await runBots(["--frobnicate"], 30_000);
  assert.equal(unknown.code, 2);
  assert.equal(unknown.stderr.trim(), "CONFIG_INVALID: --frobnicate: unknown flag");
  assert.equal(unknown.stdout, "");
  const clients = await runBots(["--clients", "lots"], 30_000);
  assert.equal(clients.code, 2);
  assert.match(clients.stderr.trim(), /^CONFIG_INVALID: --clients: expected an integer/);
  const help = await runBots(["--help"], 30_000);
  assert.equal(help.code, 0);
  assert.match(help.stdout, /Usage: zonescaler --role=bots/);
});

Deno.test({
  name: "20 bots against role all all connect, get acknowledged and see no error",
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    const dir = Deno.makeTempDirSync({ prefix: "zs-bots-" });
    const node = new NodeProcess("all", [
      "--config",
      "config/all.json",
      "--port",
      "0",
      "--storage",
      `${dir}/accounts.sqlite`,
    ]);
    try {
      const ready = await node.waitFor("all.ready");
      const base = `http://127.0.0.1:${ready.port}`;
      await until("a gateway in GET /gateways", async () => {
        const body = await getJson<{ gateways: unknown[] }>(`${base}/gateways`);
        return body.gateways.length > 0 ? true : undefined;
      });
      const reportPath = `${dir}/report.json`;
      const result = await runBots([
        "--gateway",
        base,
        "--clients",
        "20",
        "--duration",
        "5",
        "--ramp",
        "1",
        "--report",
        reportPath,
      ], 60_000);
      const report: BotReport = JSON.parse(Deno.readTextFileSync(reportPath));
      const context = `${result.stdout}\n${result.stderr}`;
      assert.equal(report.clients, 20);
      assert.equal(report.connected, 20, context);
      assert.equal(report.errors.total, 0, JSON.stringify(report.errors));
      assert.ok(report.snapshots > 0, "DIFFs arrived");
      assert.ok(report.ackLatencyMs.samples > 0, "inputs were acknowledged");
      assert.equal(typeof report.ackLatencyMs.p50, "number");
      assert.equal(typeof report.ackLatencyMs.p99, "number");
      assert.equal(report.connectMs.samples, 20);
      assert.equal(result.code, 0, context);
      assert.match(result.stdout, /bots\s+\d+s\s+connected \d+\/20/, "progress lines");
      assert.match(result.stdout, /bots report/);
    } finally {
      await node.kill();
      Deno.removeSync(dir, { recursive: true });
    }
  },
});
