// The diagnostics page's history and honest state in headless Chromium against a real
// `--role=all` process: charts whose points change over time with a hover read-out, a move
// banner that clears once the move is done, a draining worker never offered as a move target,
// a drained worker in the "left" list, no horizontal overflow at 800 px, /api/history's bad
// parameters, and "coordinator unreachable" in the header once the process is gone.
import assert from "node:assert/strict";
import type { Browser, Page } from "playwright-core";
import { launchChromium, outputDir, skipBrowserTests } from "../../testing/browser.ts";
import {
  getJson,
  NodeProcess,
  TEST_OPERATOR_TOKEN,
  until,
  writeTestConfig,
} from "../../testing/node_process.ts";

interface ClusterState {
  workers: Array<{ id: string; entities: number; state: string }>;
  map: { owners: string[] };
}

async function waitInPage(page: Page, expression: string, what: string, timeout = 15_000) {
  try {
    await page.waitForFunction(expression, undefined, { timeout, polling: 100 });
  } catch (error) {
    throw new Error(`Timed out after ${timeout} ms waiting for ${what}`, { cause: error });
  }
}

const text = async (page: Page, selector: string) => (await page.textContent(selector)) ?? "";

Deno.test({
  name: "history charts change over time; banners, move targets, left list and outages are honest",
  ignore: skipBrowserTests(),
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    const shots = outputDir("diagnostics_history");
    const config = writeTestConfig({
      role: "all",
      workers: 3,
      minWorkers: 3,
      rebalance: { enabled: false },
    });
    const node = new NodeProcess("all", ["--config", config, "--port", "0", "--grpc-port", "0"]);
    let browser: Browser | undefined;
    try {
      browser = await launchChromium();
      const ready = await node.waitFor("all.ready");
      const api = `http://127.0.0.1:${ready.port}`;
      const state = await until("three workers to own entities", async () => {
        const s = await getJson<ClusterState>(`${api}/api/state`);
        return s.workers.length === 3 && s.workers.every((w) => w.entities > 0) ? s : undefined;
      });

      // Bad parameters of the endpoint the charts use: a clear 400 JSON error.
      for (const query of ["seconds=0", "seconds=901", "seconds=abc", "window=5"]) {
        const response = await fetch(`${api}/api/history?${query}`);
        const body = await response.json();
        assert.equal(response.status, 400, query);
        assert.equal(body.error.code, "BAD_REQUEST", query);
      }

      const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
      const consoleErrors: string[] = [];
      page.on("console", (m) => m.type() === "error" && consoleErrors.push(m.text()));
      page.on("pageerror", (e) => consoleErrors.push(`page error: ${e.message}`));
      page.on("dialog", (d) => void d.accept());
      await page.goto(`${api}/?token=${TEST_OPERATOR_TOKEN}`);

      // Charts: points for every worker, and new points as time goes on.
      await waitInPage(
        page,
        "globalThis.zsDiag?.chartPoints.entities >= 6 && globalThis.zsDiag.history.workers.length === 3",
        "entity charts with points of three workers",
      );
      const first = await page.evaluate(
        "({ last: globalThis.zsDiag.history.times.at(-1), points: globalThis.zsDiag.chartPoints })",
      ) as { last: number; points: Record<string, number> };
      for (const field of ["tickP99Ms", "entities", "load", "ghosts", "handoffsPerS"]) {
        assert.ok(first.points[field] > 0, `chart ${field} has points: ${first.points[field]}`);
      }
      await waitInPage(
        page,
        `globalThis.zsDiag.history.times.at(-1) > ${first.last} && ` +
          `globalThis.zsDiag.chartPoints.entities > ${first.points.entities}`,
        "a later sample with more points",
      );
      const polylines = await page.$$eval(
        '[data-chart="entities"] polyline',
        (lines) => lines.map((l) => l.getAttribute("points")),
      );
      assert.ok(polylines.length >= 3, `a line per worker: ${polylines.length}`);
      // Hover: a read-out with the time and each worker's value; the legend names them.
      const svg = (await page.locator('[data-chart="entities"] svg').boundingBox())!;
      await page.mouse.move(svg.x + svg.width * 0.95, svg.y + svg.height / 2);
      const readout = await text(page, '[data-chart="entities"] .readout');
      assert.match(readout, /^\d\d:\d\d:\d\d · w1 \d+ · w2 \d+ · w3 \d+$/, readout);
      assert.match(await text(page, '[data-chart="entities"] .legend'), /w1.*w2.*w3/);
      await page.screenshot({ path: `${shots}1-charts.png`, fullPage: true });

      // Move a cell: the banner says so while it moves, then says it is done, then clears.
      const cell = state.map.owners.indexOf("w1");
      await page.evaluate(`globalThis.zsDiag.select(${cell})`);
      await page.selectOption("#move-to", "w2");
      await page.click("#move");
      await waitInPage(
        page,
        `document.getElementById("action-status").textContent === "cell ${cell} moved to w2"`,
        "the move banner to say the move finished",
        20_000,
      );
      await waitInPage(
        page,
        `document.getElementById("action-status").textContent === ""`,
        "the finished move's banner to clear",
      );

      // Drain w3: while it drains it is never a move target; once gone it is in the left list.
      await page.click('#workers-body tr[data-worker="w3"] button.drain');
      await waitInPage(
        page,
        `document.querySelector('#workers-body tr[data-worker="w3"]')?.className === "state-draining" || ` +
          `document.querySelector('#left-body tr[data-worker="w3"]') !== null`,
        "w3 draining or gone",
      );
      const targets = await page.$$eval("#move-to option", (os) => os.map((o) => o.textContent));
      assert.ok(!targets.some((t) => t?.startsWith("w3")), `w3 offered: ${targets.join(", ")}`);
      await waitInPage(
        page,
        `document.getElementById("action-status").textContent.startsWith("worker w3 drained")`,
        "the drain banner to say it finished",
        30_000,
      );
      await waitInPage(
        page,
        `document.querySelector('#left-body tr[data-worker="w3"]') !== null`,
        "w3 in the left list",
        30_000,
      );
      assert.match(await text(page, '[data-chart="entities"] .legend'), /w3 \(left\)/);

      // 800 px wide: nothing runs off the page.
      await page.setViewportSize({ width: 800, height: 900 });
      const overflow = await page.evaluate(
        "document.documentElement.scrollWidth - document.documentElement.clientWidth",
      );
      assert.equal(overflow, 0, "no horizontal scrolling at 800 px");
      await page.screenshot({ path: `${shots}2-800px.png`, fullPage: true });
      assert.deepEqual(consoleErrors, [], "no console errors");

      // The coordinator goes away: the header says so and keeps saying so.
      await node.kill();
      await waitInPage(
        page,
        `document.getElementById("connection").textContent.startsWith("coordinator unreachable")`,
        "coordinator unreachable in the header",
      );
      const logsTried = await page.evaluate("globalThis.zsDiag.refreshes") as number;
      await waitInPage(page, `globalThis.zsDiag.refreshes >= ${logsTried + 2}`, "two more polls");
      assert.match(await text(page, "#connection"), /^coordinator unreachable/);
      assert.equal(await text(page, "#logs-status"), "", "no secondary error over it");
      assert.equal(await page.evaluate("document.body.classList.contains('stale')"), true);
    } finally {
      await browser?.close();
      await node.kill();
      Deno.removeSync(config);
    }
  },
});
