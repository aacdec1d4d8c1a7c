// The diagnostics map's legend, hover and entity inspector in headless Chromium against a real
// `--role=all` process with one player connected: the hover names the cell's coordinates and
// its load breakdown, the player is drawn apart from the NPCs, a click on it opens the inspector
// (owner, ghosts, player, data), the colour modes change the cells' insides, and /api/entity
// answers bad parameters with a clear 4xx JSON error.
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
import { guestToken, TestClient } from "../../testing/ws_client.ts";

async function waitInPage(page: Page, expression: string, what: string, timeout = 15_000) {
  try {
    await page.waitForFunction(expression, undefined, { timeout, polling: 100 });
  } catch (error) {
    throw new Error(`Timed out after ${timeout} ms waiting for ${what}`, { cause: error });
  }
}

Deno.test({
  name: "the map has a legend, a hover with coordinates and load, players apart, an inspector",
  ignore: skipBrowserTests(),
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    const shots = outputDir("diagnostics_map");
    const config = writeTestConfig({ role: "all", workers: 2, rebalance: { enabled: false } });
    const node = new NodeProcess("all", ["--config", config, "--port", "0", "--grpc-port", "0"]);
    let client: TestClient | undefined;
    let browser: Browser | undefined;
    try {
      browser = await launchChromium();
      const ready = await node.waitFor("all.ready");
      const api = `http://127.0.0.1:${ready.port}`;
      client = new TestClient(`ws://127.0.0.1:${ready.port}/ws`);
      await client.opened();
      const welcome = await client.hello({ token: await guestToken(api, "inspectme") });
      const id = welcome.entity;

      // /api/entity: the player's record from its owner; bad parameters are 400, unknown 404.
      const found = await until("the player's entity on a worker", async () => {
        const r = await getJson<{ owner: string | null; entity: { player?: { name: string } } }>(
          `${api}/api/entity?id=${id}`,
        );
        return r.owner ? r : undefined;
      });
      assert.equal(found.entity.player?.name, "inspectme");
      for (const query of ["", "id=-1", "id=x", "id=1.5", "id=1&max=2"]) {
        const response = await fetch(`${api}/api/entity?${query}`);
        const body = await response.json();
        assert.deepEqual([response.status, body.error.code], [400, "BAD_REQUEST"], query);
      }
      const unknown = await fetch(`${api}/api/entity?id=999999999`);
      assert.deepEqual([unknown.status, (await unknown.json()).error.code], [404, "NOT_FOUND"]);

      const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
      const pageErrors: string[] = [];
      page.on("pageerror", (e) => pageErrors.push(e.message));
      await page.goto(`${api}/?token=${TEST_OPERATOR_TOKEN}`);
      await waitInPage(
        page,
        `globalThis.zsDiag?.dots.some((d) => d[0] === ${id} && d[3] === 1)`,
        "the player drawn as a player",
      );
      const dots = await page.evaluate("globalThis.zsDiag.dots") as number[][];
      assert.ok(dots.filter((d) => d[3] === 0).length > 100, "the NPCs drawn as NPCs");
      assert.match(await page.textContent("#legend") ?? "", /player.*/);

      // Hover a cell: its coordinates, extent, owner and load breakdown.
      const canvas = (await page.locator("#map").boundingBox())!;
      const box = await page.evaluate("globalThis.zsDiag.cellBox(5)") as {
        x: number;
        y: number;
        w: number;
        h: number;
      };
      await page.mouse.move(canvas.x + box.x + box.w / 2, canvas.y + box.y + box.h / 2);
      const hover = await page.evaluate("globalThis.zsDiag.hover") as string;
      assert.match(
        hover,
        /^cell 5 \(1, 1\) x 100–200 y 100–200 · w[12] · \d+ entities \(\d+ players\) · \d+ interactions\/s · load [\d.]+$/,
        hover,
      );

      // Click the player: the inspector shows its owner, session and data.
      const [, px, py] = dots.find((d) => d[0] === id)!;
      const latest = await page.evaluate(
        `globalThis.zsDiag.dots.find((d) => d[0] === ${id})`,
      ) as number[];
      await page.mouse.click(canvas.x + (latest?.[1] ?? px), canvas.y + (latest?.[2] ?? py));
      await waitInPage(page, "globalThis.zsDiag.inspected !== null", "the inspector filled");
      const text = await page.textContent("#inspector") ?? "";
      assert.match(text, new RegExp(`player #${id}`));
      assert.match(text, new RegExp(`owner${found.owner}`));
      assert.match(text, /inspectme via g1/);
      assert.match(text, /data\.name"inspectme"/);
      await page.screenshot({ path: `${shots}1-inspector.png` });

      // Colour modes change what the cells show inside.
      const owner = await page.evaluate("globalThis.zsDiag.cellInside(5)");
      await page.selectOption("#colour-by", "load");
      const load = await page.evaluate("globalThis.zsDiag.cellInside(5)");
      assert.notEqual(load, owner, "load heat is drawn unlike the owner shade");
      await page.selectOption("#colour-by", "backup");
      const backup = await page.evaluate("globalThis.zsDiag.cellInside(5)");
      assert.notEqual(backup, load);
      assert.deepEqual(pageErrors, []);
    } finally {
      client?.close();
      await browser?.close();
      await node.kill();
      Deno.removeSync(config);
    }
  },
});
