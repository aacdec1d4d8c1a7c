// The deploy panel (static/deploys.html) in Chromium against a real cluster: it lists the
// versions with their nodes and cells, starts a deploy from its form, pauses and resumes it
// with its buttons, and shows the new version live with every cell.
import assert from "node:assert/strict";
import type { Browser, Page } from "playwright-core";
import { launchChromium, skipBrowserTests } from "../../testing/browser.ts";
import { startCluster } from "../../testing/cluster.ts";
import { TEST_OPERATOR_TOKEN } from "../../testing/node_process.ts";

/** Waits (bounded) until `expression` evaluated in the page is truthy. */
async function waitInPage(page: Page, expression: string, what: string, timeout = 20_000) {
  try {
    await page.waitForFunction(expression, undefined, { timeout, polling: 100 });
  } catch (error) {
    throw new Error(`Timed out after ${timeout} ms waiting for ${what}`, { cause: error });
  }
}

const versionState = (version: string, state: string) =>
  `[...document.querySelectorAll("#versions-body tr")].some((tr) => ` +
  `tr.dataset.version === "${version}" && tr.dataset.state === "${state}")`;

Deno.test({
  name: "the deploy panel lists versions, starts, pauses and resumes a deploy, and shows it live",
  ignore: skipBrowserTests(),
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    const cluster = await startCluster(
      { rebalance: { enabled: false }, deploy: { cellsPerSecond: 2 } },
      { workers: 2, parallel: true },
    );
    let browser: Browser | undefined;
    try {
      await cluster.startWorker("w3", { ZS_VERSION: "0.2.0" });
      await cluster.startWorker("w4", { ZS_VERSION: "0.2.0" });
      browser = await launchChromium();
      const page = await browser.newPage();
      const errors: string[] = [];
      page.on("pageerror", (e) => errors.push(e.message));
      await page.goto(`${cluster.api}/deploys.html?token=${TEST_OPERATOR_TOKEN}`);
      await waitInPage(
        page,
        `${versionState("0.1.0", "live")} && ${versionState("0.2.0", "staged")}`,
        "both versions listed",
      );
      assert.equal(await page.isDisabled("#deploy-pause"), true, "nothing to pause yet");
      await page.fill("#deploy-version", "0.2.0");
      await page.click("#deploy-start");
      await waitInPage(page, versionState("0.2.0", "rolling_out"), "the deploy running");
      await waitInPage(page, `!document.querySelector("#deploy-pause").disabled`, "pause enabled");
      await page.click("#deploy-pause");
      await waitInPage(page, `globalThis.zsDeploys.state?.current?.state === "paused"`, "paused");
      assert.match(await page.textContent("#deploy-run") ?? "", /paused/);
      await page.click("#deploy-resume");
      await waitInPage(page, versionState("0.2.0", "live"), "0.2.0 live", 30_000);
      const rows = await page.$$eval(
        "#versions-body tr",
        (trs) => trs.map((tr) => [...tr.querySelectorAll("td")].map((td) => td.textContent)),
      );
      assert.deepEqual(rows[0].slice(0, 2), ["0.2.0", "live"]);
      assert.equal(rows[0][5], "16", "every cell on 0.2.0");
      assert.deepEqual(errors, []);
      // A refused start shows the API's message.
      await page.fill("#deploy-version", "9.9.9");
      await page.click("#deploy-start");
      await waitInPage(
        page,
        `document.querySelector("#deploy-message").textContent.includes("no live worker")`,
        "the refusal shown",
      );
    } finally {
      await browser?.close();
      await cluster.close();
    }
  },
});
