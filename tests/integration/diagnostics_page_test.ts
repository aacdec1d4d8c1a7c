// The diagnostics page in headless Chromium against a real `--role=all` process: worker colours
// on the map and in the table, moving entity dots, the move-cell action and its migration in
// the event log, an API error shown in the page, and no console errors.
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
  workers: Array<{ id: string; entities: number }>;
  map: { owners: string[] };
}

/** [cell, owner, colour of the cell's rim pixel] for every cell drawn, read from the canvas. */
// The owner's colour is the cell's rim (2 px). Each cell's colour is the most common of eight
// rim pixels (corners and edge midpoints, 1 px in): an entity dot (#111, 1.8 px) drawn over one
// or two of them does not change it.
const READ_CELLS = `(() => {
  const d = globalThis.zsDiag;
  const ctx = document.getElementById("map").getContext("2d");
  const hexAt = (x, y) => {
    const [r, g, b] = ctx.getImageData(Math.floor(x * d.dpr), Math.floor(y * d.dpr), 1, 1).data;
    return "#" + [r, g, b].map((v) => v.toString(16).padStart(2, "0")).join("");
  };
  return d.visibleCells().map((cell) => {
    const box = d.cellBox(cell);
    const xs = [box.x + 1, box.x + box.w / 2, box.x + box.w - 2];
    const ys = [box.y + 1, box.y + box.h / 2, box.y + box.h - 2];
    const votes = new Map();
    for (const x of xs) {
      for (const y of ys) {
        if (x === xs[1] && y === ys[1]) continue; // the middle is the cell's inside, not its rim
        const hex = hexAt(x, y);
        votes.set(hex, (votes.get(hex) ?? 0) + 1);
      }
    }
    const [hex] = [...votes].sort((a, b) => b[1] - a[1])[0];
    return [cell, d.owners[cell], hex];
  });
})()`;

type CellPixel = [number, string, string];

function diag<T>(page: Page, expression: string): Promise<T> {
  return page.evaluate(`globalThis.zsDiag && (${expression})`) as Promise<T>;
}

/** Waits (bounded) until `expression` evaluated in the page is truthy. */
async function waitInPage(page: Page, expression: string, what: string, timeout = 15_000) {
  try {
    await page.waitForFunction(expression, undefined, { timeout, polling: 100 });
  } catch (error) {
    throw new Error(`Timed out after ${timeout} ms waiting for ${what}`, { cause: error });
  }
}

Deno.test({
  name: "the diagnostics page shows the live map, workers, events and moves a cell",
  ignore: skipBrowserTests(),
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    const shots = outputDir("diagnostics_page");
    // No rebalancer: only the test's own move changes ownership.
    const config = writeTestConfig({ role: "all", workers: 2, rebalance: { enabled: false } });
    const node = new NodeProcess("all", ["--config", config, "--port", "0", "--grpc-port", "0"]);
    let browser: Browser | undefined;
    try {
      browser = await launchChromium();
      const ready = await node.waitFor("all.ready");
      const api = `http://127.0.0.1:${ready.port}`;
      await until("both workers to own entities", async () => {
        const s = await getJson<ClusterState>(`${api}/api/state`);
        return s.workers.length === 2 && s.workers.every((w) => w.entities > 0) ? s : undefined;
      });

      const page = await browser.newPage({ viewport: { width: 1280, height: 800 } });
      const consoleErrors: string[] = [];
      page.on("console", (m) => m.type() === "error" && consoleErrors.push(m.text()));
      page.on("pageerror", (e) => consoleErrors.push(`page error: ${e.message}`));
      page.on("dialog", (d) => void d.accept());
      await page.goto(`${api}/?token=${TEST_OPERATOR_TOKEN}`);
      assert.equal(new URL(page.url()).search, "", "the token leaves the address bar");
      await page.reload(); // the tab keeps the token: the move below still answers 202

      // Every worker's colour on the map and a row per worker.
      await waitInPage(
        page,
        "globalThis.zsDiag?.frames > 0 && globalThis.zsDiag.dots.length > 0 && " +
          "Object.keys(globalThis.zsDiag.colours).length === 2",
        "the map with two workers and entity dots",
      );
      const colours = await diag<Record<string, string>>(page, "globalThis.zsDiag.colours");
      assert.deepEqual(Object.keys(colours).sort(), ["w1", "w2"]);
      assert.notEqual(colours.w1, colours.w2);
      const cells = await diag<CellPixel[]>(page, READ_CELLS);
      assert.equal(cells.length, 16, "a 4x4 world draws 16 cells");
      const matching = cells.filter(([, owner, hex]) => hex === colours[owner]);
      assert.equal(matching.length, 16, `cells drawn in their owner's colour: ${matching.length}`);
      for (const id of ["w1", "w2"]) {
        assert.ok(matching.some(([, owner]) => owner === id), `${id}'s colour is on the map`);
      }
      const rows = await page.$$eval(
        "#workers-body tr",
        (trs) =>
          trs.map((tr) => [(tr as unknown as { dataset: { worker: string } }).dataset.worker]),
      );
      assert.deepEqual(rows.flat().sort(), ["w1", "w2"]);
      const swatches = await page.$$eval(
        "#workers-body tr .swatch",
        (spans) =>
          spans.map((s) => (s as unknown as { style: { background: string } }).style.background),
      );
      assert.equal(swatches.length, 2);
      const { gateways } = await getJson<{ gateways?: Array<{ id: string }> }>(`${api}/api/state`);
      if (gateways && gateways.length > 0) {
        await waitInPage(
          page,
          `document.querySelectorAll("#gateways-body tr[data-gateway]").length === ` +
            `${gateways.length}`,
          "a row per gateway",
        );
      } else {
        assert.match(await page.textContent("#gateways-body") ?? "", /no gateways/);
      }
      await page.screenshot({ path: `${shots}1-initial.png` });

      // Entity dots move between two screenshots.
      const before = await diag<Array<[number, number, number]>>(page, "globalThis.zsDiag.dots");
      const frames = await diag<number>(page, "globalThis.zsDiag.frames");
      await waitInPage(page, `globalThis.zsDiag.frames >= ${frames + 2}`, "two more updates");
      const after = await diag<Array<[number, number, number]>>(page, "globalThis.zsDiag.dots");
      const was = new Map(before.map(([id, x, y]) => [id, `${x},${y}`]));
      const moved = after.filter(([id, x, y]) => was.has(id) && was.get(id) !== `${x},${y}`);
      assert.ok(moved.length > 0, "some entity dots moved");
      await page.screenshot({ path: `${shots}2-later.png` });

      // The event log shows the cluster's history.
      await waitInPage(
        page,
        `document.getElementById("events").textContent.includes("map.assigned")`,
        "map.assigned in the event log",
      );
      assert.match(await page.textContent("#events-status") ?? "", /live/);
      await waitInPage(
        page,
        `document.getElementById("logs").textContent.includes("coordinator.listening")`,
        "coordinator log lines",
      );

      // Move a cell of w1 to w2 from the page.
      const [cell] = cells.find(([, owner]) => owner === "w1")!;
      const box = await diag<{ x: number; y: number; w: number; h: number }>(
        page,
        `globalThis.zsDiag.cellBox(${cell})`,
      );
      const canvas = (await page.locator("#map").boundingBox())!;
      await page.mouse.click(canvas.x + box.x + box.w / 2, canvas.y + box.y + box.h / 2);
      await waitInPage(page, `globalThis.zsDiag.selected === ${cell}`, "the clicked cell selected");
      assert.match(
        await page.textContent("#selected-cell") ?? "",
        new RegExp(`^cell ${cell} \\(.*\\) x .* · w1 · `),
      );
      await page.selectOption("#move-to", "w2");
      const answer = page.waitForResponse((r) => r.url().endsWith(`/api/cells/${cell}/move`));
      await page.click("#move");
      const status = (await answer).status();
      assert.equal(status, 202, `POST /api/cells/${cell}/move answered ${status}`);
      await waitInPage(
        page,
        `globalThis.zsDiag.owners[${cell}] === "w2"`,
        `cell ${cell} to be shown as w2's`,
      );
      await waitInPage(
        page,
        `[...document.querySelectorAll("#events li")].some((li) => ` +
          `li.textContent.includes("cell.migrated") && li.textContent.includes("cell=${cell} "))`,
        "the migration in the event log",
        20_000,
      );
      await page.click("#clear-selection");
      await waitInPage(page, "globalThis.zsDiag.selected === null", "the selection cleared");
      assert.equal(await page.isVisible("#selection"), false, "the move panel closes");
      // The sampled corner pixel can lie under an entity's dot for a few redraws (NPCs walk).
      await waitInPage(
        page,
        `(${READ_CELLS}).find(([c]) => c === ${cell})?.[2] === ${JSON.stringify(colours.w2)}`,
        `cell ${cell} drawn in w2's colour`,
      );
      await page.screenshot({ path: `${shots}3-moved.png` });

      assert.deepEqual(consoleErrors, [], "no console errors");

      // An API refusal is shown in the page with the API's own message.
      await page.route("**/api/workers/w1/drain", (route) =>
        route.fulfill({
          status: 409,
          contentType: "application/json",
          body: JSON.stringify({
            error: { code: "CONFLICT", message: "Cannot drain w1: it is the last worker" },
          }),
        }));
      await page.click('#workers-body tr[data-worker="w1"] button.drain');
      await waitInPage(
        page,
        `document.getElementById("action-status").textContent.includes("it is the last worker")`,
        "the API's error message in the page",
      );
      assert.match(await page.getAttribute("#action-status", "class") ?? "", /error/);
      await page.screenshot({ path: `${shots}4-refused.png` });
      assert.ok(
        consoleErrors.every((e) => /status of 409/.test(e)),
        `only the refused request is reported: ${consoleErrors.join("; ")}`,
      );
    } finally {
      await browser?.close();
      await node.kill();
      Deno.removeSync(config);
    }
  },
});
