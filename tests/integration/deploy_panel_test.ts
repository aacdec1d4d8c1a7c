// The deploy panel (static/deploys.html) in Chromium against a real cluster: it lists the
// versions with their nodes and cells, starts a deploy from its form, pauses and resumes it
// with its buttons, and shows the new version live with every cell; while the deploy is paused
// half way the diagnostics map, coloured by version, draws each version's cells in its colour.
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

/**
 * The diagnostics map in the "version" colour mode over a world split between 0.1.0 (w1, w2)
 * and 0.2.0 (w3, w4): most cells of each version show its colour inside (an entity dot may
 * cover the pixel read), the two colours differ, and the version legend shows them with the
 * cells each version owns.
 */
async function mapByVersion(browser: Browser, api: string, errors: string[]): Promise<void> {
  const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
  page.on("pageerror", (e) => errors.push(e.message));
  try {
    await page.goto(`${api}/?token=${TEST_OPERATOR_TOKEN}`);
    await waitInPage(
      page,
      `globalThis.zsDiag?.owners.some((o) => o === "w3" || o === "w4")`,
      "the map drawn with cells on 0.2.0",
    );
    await page.selectOption("#colour-by", "version");
    await waitInPage(page, `!document.querySelector("#version-legend").hidden`, "the legend");
    // A string, evaluated in the page (this file is type-checked without the DOM library).
    const { owners, insides, legend } = await page.evaluate(`(() => {
      const diag = globalThis.zsDiag;
      return {
        owners: diag.owners,
        insides: diag.owners.map((_, cell) => diag.cellInside(cell)),
        legend: [...document.querySelectorAll("#version-legend li")].map((li) => ({
          version: li.dataset.version,
          text: li.textContent,
          colour: li.querySelector(".key").style.background,
        })),
      };
    })()`) as {
      owners: string[];
      insides: string[];
      legend: Array<{ version: string; text: string; colour: string }>;
    };
    const versionOf = (owner: string) => owner === "w3" || owner === "w4" ? "0.2.0" : "0.1.0";
    const common = (version: string) => {
      const seen = new Map<string, number>();
      const cells = owners.filter((o) => versionOf(o) === version).length;
      owners.forEach((o, cell) => {
        if (versionOf(o) === version) seen.set(insides[cell], (seen.get(insides[cell]) ?? 0) + 1);
      });
      const [colour, n] = [...seen].sort((a, b) => b[1] - a[1])[0];
      assert.ok(n * 2 > cells, `${version}: ${n} of ${cells} cells in one colour`);
      return { colour, cells };
    };
    const a = common("0.1.0"), b = common("0.2.0");
    assert.notEqual(a.colour, b.colour, "the two versions are told apart");
    assert.deepEqual(legend, [
      {
        version: "0.1.0",
        text: `0.1.0: ${a.cells} cells`,
        colour: `rgb(${a.colour.replaceAll(",", ", ")})`,
      },
      {
        version: "0.2.0",
        text: `0.2.0: ${b.cells} cells`,
        colour: `rgb(${b.colour.replaceAll(",", ", ")})`,
      },
    ]);
  } finally {
    await page.close();
  }
}

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
      await waitInPage(page, `globalThis.zsDeploys.state?.current?.moves >= 2`, "cells moving");
      await page.click("#deploy-pause");
      await waitInPage(page, `globalThis.zsDeploys.state?.current?.state === "paused"`, "paused");
      assert.match(await page.textContent("#deploy-run") ?? "", /paused/);
      await mapByVersion(browser, cluster.api, errors);
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
