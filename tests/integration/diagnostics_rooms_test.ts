// The rooms table of the diagnostics page in headless Chromium against a real `--role=all`
// process (two worker threads, examples/rooms.ts): a player's arena is listed with its mode,
// seats, worker and age, the mode filter narrows the table, and the move button moves the room
// to the other worker — the page says so once the directory names it, and the player in the
// room plays on, on the same connection.
import assert from "node:assert/strict";
import type { Browser, Page } from "playwright-core";
import { launchChromium, outputDir, skipBrowserTests } from "../../testing/browser.ts";
import { NodeProcess, TEST_OPERATOR_TOKEN, writeTestConfig } from "../../testing/node_process.ts";
import { guestToken, TestClient } from "../../testing/ws_client.ts";

async function waitInPage(page: Page, expression: string, what: string, timeout = 15_000) {
  try {
    await page.waitForFunction(expression, undefined, { timeout, polling: 100 });
  } catch (error) {
    throw new Error(`Timed out after ${timeout} ms waiting for ${what}`, { cause: error });
  }
}

interface Row {
  id: string;
  mode: string;
  players: number;
  maxPlayers: number;
  worker: string;
}

Deno.test({
  name: "the rooms table lists a room, filters by mode, and its move button moves it live",
  ignore: skipBrowserTests(),
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    const shots = outputDir("diagnostics_rooms");
    const config = writeTestConfig({
      role: "all",
      workers: 2,
      rebalance: { enabled: false },
      game: { module: "examples/rooms.ts", options: {} },
    });
    const node = new NodeProcess("all", ["--config", config, "--port", "0", "--grpc-port", "0"]);
    let client: TestClient | undefined;
    let browser: Browser | undefined;
    try {
      browser = await launchChromium();
      const ready = await node.waitFor("all.ready");
      const api = `http://127.0.0.1:${ready.port}`;
      client = new TestClient(`ws://127.0.0.1:${ready.port}/ws`, "json");
      await client.hello({ token: await guestToken(api, "ann") });
      client.send({ op: 9, ref: 1, mode: "arena", options: { rounds: 2 } });
      await client.waitFor("TRAVEL", () => client!.messages.find((m) => m.op === 15));
      client.walk(10);

      const page = await browser.newPage({ viewport: { width: 1280, height: 1400 } });
      const pageErrors: string[] = [];
      page.on("pageerror", (e) => pageErrors.push(e.message));
      await page.goto(`${api}/?token=${TEST_OPERATOR_TOKEN}`);
      await waitInPage(
        page,
        `(globalThis.zsDiag?.instances ?? []).length === 1 && ` +
          `document.querySelectorAll("#instances-body select.move-to option").length === 1`,
        "the arena listed, with the other worker to move it to",
      );
      const [row] = await page.evaluate("globalThis.zsDiag.instances") as Row[];
      assert.deepEqual([row.mode, row.players, row.maxPlayers], ["arena", 1, 4]);
      const other = row.worker === "w1" ? "w2" : "w1";
      const cells = await page.locator(`#instances-body tr[data-instance="${row.id}"] td`)
        .allTextContents();
      assert.deepEqual(cells.slice(0, 4), [row.id, "arena", "1/4", row.worker]);
      assert.equal(await page.inputValue("#instances-body select.move-to"), other);
      // Its host's row in the workers table has one room box, the other worker's none.
      const boxes = (worker: string) =>
        `document.querySelectorAll('#workers-body tr[data-worker="${worker}"] .room-box').length`;
      await waitInPage(page, `${boxes(row.worker)} === 1 && ${boxes(other)} === 0`, "one box");

      // The mode filter: no duel, then the arena again.
      await page.fill("#instance-mode", "duel");
      await waitInPage(
        page,
        `document.getElementById("instances-body").textContent === "no instance of this mode"`,
        "no duel",
      );
      await page.fill("#instance-mode", "arena");
      await waitInPage(
        page,
        `document.querySelectorAll("#instances-body tr[data-instance]").length === 1`,
        "the arena again",
      );
      await page.screenshot({ path: `${shots}1-rooms.png`, fullPage: true });

      // Move it from the page: the directory names the other worker, the page says so.
      const diffs = client.diffs;
      await page.click("#instances-body button.move");
      await waitInPage(
        page,
        `document.getElementById("instances-status").textContent === "${row.id} moved to ${other}"`,
        "the move confirmed in the page",
      );
      const [after] = await page.evaluate("globalThis.zsDiag.instances") as Row[];
      assert.equal(after.worker, other);
      await waitInPage(page, `${boxes(other)} === 1 && ${boxes(row.worker)} === 0`, "box moved");
      await client.waitFor("DIFFs after the move", () => client!.diffs >= diffs + 20 || undefined);
      assert.equal(client.closedWith, undefined, "the player's connection stays open");
      assert.equal(client.welcomes, 1, "and its session");
      assert.deepEqual(client.problems, []);
      await page.screenshot({ path: `${shots}2-moved.png`, fullPage: true });
      assert.deepEqual(pageErrors, []);
    } finally {
      client?.close();
      await browser?.close();
      await node.kill();
      Deno.removeSync(config);
    }
  },
});
