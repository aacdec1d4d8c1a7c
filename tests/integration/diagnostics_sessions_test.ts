// The sessions table of the diagnostics page in headless Chromium against a real `--role=all`
// process with a `--role=bots` process beside it: the table lists the bots with their worker,
// cell and reported ping, the search narrows it, a kick from the page closes a test client with
// 4009 KICKED after ERROR KICKED, and /api/sessions and the kick answer bad parameters with a
// clear 4xx JSON error.
import assert from "node:assert/strict";
import type { Browser, Page } from "playwright-core";
import { launchChromium, outputDir, skipBrowserTests } from "../../testing/browser.ts";
import {
  getJson,
  NodeProcess,
  OPERATOR_HEADERS,
  TEST_OPERATOR_TOKEN,
  until,
  writeTestConfig,
} from "../../testing/node_process.ts";
import { guestToken, TestClient } from "../../testing/ws_client.ts";

async function waitInPage(page: Page, expression: string, what: string, timeout = 15_000) {
  try {
    await page.waitForFunction(expression, undefined, { timeout, polling: 100 });
  } catch (error) {
    throw new Error(`Timed out after ${timeout} ms waiting for ${what}`, { cause: error });
  }
}

interface Row {
  name: string;
  gateway: string;
  worker: string;
  cell: number;
  rttMs: number | null;
  bytesPerS: number;
}

async function errorOf(response: Response): Promise<[number, string]> {
  const body = await response.json();
  return [response.status, body.error?.code];
}

Deno.test({
  name: "the sessions table lists the bots, searches, and a kick closes a client with 4009",
  ignore: skipBrowserTests(),
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    const shots = outputDir("diagnostics_sessions");
    const config = writeTestConfig({ role: "all", workers: 2, rebalance: { enabled: false } });
    const node = new NodeProcess("all", ["--config", config, "--port", "0", "--grpc-port", "0"]);
    let bots: NodeProcess | undefined;
    let client: TestClient | undefined;
    let browser: Browser | undefined;
    try {
      browser = await launchChromium();
      const ready = await node.waitFor("all.ready");
      const api = `http://127.0.0.1:${ready.port}`;
      bots = new NodeProcess("bots", [
        "--role=bots",
        "--gateway",
        api,
        "--clients",
        "3",
        "--duration",
        "120",
        "--ramp",
        "0",
        "--ping",
        "0.3",
        "--name",
        "bot",
      ]);
      client = new TestClient(`ws://127.0.0.1:${ready.port}/ws`);
      await client.opened();
      await client.hello({ token: await guestToken(api, "victim") });
      // The bytes the gateway writes to these clients reach the history (its heartbeats).
      const rate = await until("a gateway's bytes/s in /api/history", async () => {
        const h = await getJson<
          { gateways: Array<{ series: { bytesPerS: Array<number | null> } }> }
        >(
          `${api}/api/history?seconds=30`,
        );
        const best = Math.max(0, ...h.gateways.flatMap((g) => g.series.bytesPerS.map(Number)));
        return best > 0 ? best : undefined;
      }, 15_000);
      assert.ok(rate > 0);

      // Bad parameters: 400/405/404/401 with a JSON error, nothing kicked.
      for (const query of ["limit=0", "limit=501", "limit=x", `q=${"a".repeat(65)}`, "who=1"]) {
        const got = await errorOf(await fetch(`${api}/api/sessions?${query}`));
        assert.deepEqual(got, [400, "BAD_REQUEST"], query);
      }
      const kick = (id: string, body: string, headers: HeadersInit = OPERATOR_HEADERS) =>
        fetch(`${api}/api/sessions/${id}/kick`, { method: "POST", headers, body });
      assert.deepEqual(await errorOf(await kick("x", "{}")), [400, "BAD_REQUEST"]);
      assert.deepEqual(await errorOf(await kick("x", '{"gateway":"g9"}')), [404, "NOT_FOUND"]);
      assert.deepEqual(await errorOf(await kick("x", '{"gateway":"g1"}')), [404, "NOT_FOUND"]);
      assert.deepEqual(await errorOf(await kick("x", '{"gateway":"g1"}', {})), [
        401,
        "UNAUTHENTICATED",
      ]);
      const posted = await fetch(`${api}/api/sessions`, {
        method: "POST",
        headers: OPERATOR_HEADERS,
      });
      assert.deepEqual(await errorOf(posted), [405, "METHOD_NOT_ALLOWED"]);
      const direct = await fetch(`${api}/api/gateway/sessions?limit=0`);
      assert.deepEqual(await errorOf(direct), [400, "BAD_REQUEST"], "the gateway's own route");

      const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
      const pageErrors: string[] = [];
      page.on("pageerror", (e) => pageErrors.push(e.message));
      page.on("dialog", (d) => void d.accept());
      await page.goto(`${api}/?token=${TEST_OPERATOR_TOKEN}`);
      // Every bot with its worker and cell, and the ping its PINGs report.
      await waitInPage(
        page,
        `(() => { const s = globalThis.zsDiag?.sessions ?? []; ` +
          `return ["bot-1", "bot-2", "bot-3", "victim"].every((n) => s.some((r) => r.name === n)) ` +
          `&& s.filter((r) => r.name.startsWith("bot-")).every((r) => r.rttMs !== null); })()`,
        "the bots and the test client listed, the bots with a ping",
        30_000,
      );
      const rows = await page.evaluate("globalThis.zsDiag.sessions") as Row[];
      const bot = rows.find((r) => r.name === "bot-1")!;
      assert.equal(bot.gateway, "g1");
      assert.match(bot.worker, /^w[12]$/);
      assert.ok(bot.cell >= 0 && bot.cell < 16, `cell ${bot.cell}`);
      assert.ok(bot.bytesPerS > 0, "DIFFs are flowing to the bot");
      assert.equal(await page.locator("#sessions-body tr[data-session]").count(), 4);
      await page.screenshot({ path: `${shots}1-sessions.png`, fullPage: true });

      // Search, then kick the test client from the page.
      await page.fill("#session-search", "vict");
      await waitInPage(
        page,
        `document.querySelectorAll("#sessions-body tr[data-session]").length === 1`,
        "one row for the search",
      );
      assert.match(await page.textContent("#sessions-body") ?? "", /victim/);
      await page.click("#sessions-body button.kick");
      const closed = await client.closed;
      assert.deepEqual(closed, { code: 4009, reason: "KICKED" });
      assert.ok(client.errors.some((e) => e.code === "KICKED"), "ERROR KICKED before the close");
      await waitInPage(
        page,
        `document.getElementById("sessions-status").textContent === "kicked victim"`,
        "the kick confirmed in the page",
      );
      await waitInPage(
        page,
        `document.querySelectorAll("#sessions-body tr[data-session]").length === 0`,
        "the kicked session gone from the table",
      );
      assert.equal(bots.exitStatus, undefined, "the bots are still running");
      assert.deepEqual(pageErrors, []);
    } finally {
      client?.close();
      await browser?.close();
      await bots?.kill();
      await node.kill();
      Deno.removeSync(config);
    }
  },
});
