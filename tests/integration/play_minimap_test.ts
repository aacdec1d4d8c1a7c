// The /play client's minimap, worker read-out, entity data on hover and logout in headless
// Chromium against a real `--role=all` process (the current worker changes after a border
// crossing and matches the worker that really owns the player), and /play on a coordinator
// without its own gateway (separate processes): sent on to a gateway's /play, where login
// works and no dead diagnostics link is shown.
import assert from "node:assert/strict";
import type { Browser, Page } from "playwright-core";
import { launchChromium, outputDir, skipBrowserTests } from "../../testing/browser.ts";
import { startCluster } from "../../testing/cluster.ts";
import { getJson, NodeProcess, until, writeTestConfig } from "../../testing/node_process.ts";

async function waitInPage(page: Page, expression: string, what: string, timeout = 15_000) {
  try {
    await page.waitForFunction(expression, undefined, { timeout, polling: 100 });
  } catch (error) {
    throw new Error(`Timed out after ${timeout} ms waiting for ${what}`, { cause: error });
  }
}

function zs<T>(page: Page, expression: string): Promise<T> {
  return page.evaluate(`(() => { const zs = globalThis.zs; return ${expression}; })()`) as Promise<
    T
  >;
}

async function login(page: Page, url: string, name: string): Promise<void> {
  await page.goto(url);
  await page.fill("#name", name);
  await page.click("#login-button");
  await waitInPage(
    page,
    "globalThis.zs.connected && globalThis.zs.entity(globalThis.zs.ownId) !== null",
    `${name} connected`,
  );
}

interface Positions {
  workers: Array<{ id: string; entities: Array<[number, number, number, number, number]> }>;
}

Deno.test({
  name: "/play shows the minimap and the current worker, which follows a border crossing",
  ignore: skipBrowserTests(),
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    const shots = outputDir("play_minimap");
    // 2x1 cells: one per worker, the border at x = 100.
    const config = writeTestConfig({
      role: "all",
      workers: 2,
      rebalance: { enabled: false },
      world: { dims: 2, size: [200, 100], cellSize: 100 },
      aoiRadius: 30,
      ghostMargin: 40,
      game: { npcs: 20, speed: 40, bumpRadius: 4, bumpCooldownTicks: 20, seed: 2 },
    });
    const node = new NodeProcess("all", ["--config", config, "--port", "0"]);
    let browser: Browser | undefined;
    try {
      const ready = await node.waitFor("all.ready");
      const base = `http://127.0.0.1:${ready.port}`;
      browser = await launchChromium();
      const page = await browser.newPage({ viewport: { width: 1280, height: 800 } });
      const problems: string[] = [];
      page.on("pageerror", (e) => problems.push(e.message));
      await login(page, `${base}/play`, "Walker");
      await waitInPage(page, "globalThis.zs.worker !== ''", "the current worker shown");
      assert.equal(await page.isVisible("#diagnostics"), true, "the coordinator serves /");
      const owners = (await getJson<{ map: { owners: string[] } }>(`${base}/api/state`)).map
        .owners;
      assert.equal(new Set(owners).size, 2);

      // The minimap draws each cell in its owner's colour and the player on it.
      const pixels = await page.evaluate(`(() => {
        const c = document.getElementById("minimap"), ctx = c.getContext("2d");
        const at = (x, y) => [...ctx.getImageData(x, y, 1, 1).data.slice(0, 3)].join(",");
        return { w: c.width, h: c.height, left: at(20, 20), right: at(c.width - 20, 20) };
      })()`) as { w: number; h: number; left: string; right: string };
      assert.deepEqual([pixels.w, pixels.h], [200, 100], "the world's aspect");
      assert.notEqual(pixels.left, pixels.right, "two owners, two colours");
      assert.match(await page.textContent("#legend") ?? "", /w1.*w2/);

      // Walk across the border; the worker shown changes and is the one that owns the player.
      const first = await zs<string>(page, "zs.worker");
      const own = await zs<{ x: number }>(page, "zs.entity(zs.ownId)");
      const key = own.x < 100 ? "ArrowRight" : "ArrowLeft";
      await page.keyboard.down(key);
      await waitInPage(
        page,
        `globalThis.zs.worker !== "" && globalThis.zs.worker !== "${first}"`,
        "the worker shown to change after the crossing",
        20_000,
      );
      await page.keyboard.up(key);
      const now = await zs<string>(page, "zs.worker");
      assert.match(await page.textContent("#worker") ?? "", new RegExp(`on worker ${now}`));
      const id = await zs<number>(page, "zs.ownId");
      const ownerOf = async () => {
        const p = await getJson<Positions>(`${base}/api/entities`);
        return p.workers.find((w) => w.entities.some((e) => e[0] === id))?.id;
      };
      // A handoff completes within a tick of the crossing: wait for it, bounded.
      await until(
        `${now} to own the player's entity`,
        async () => (await ownerOf()) === now || undefined,
      );
      await page.screenshot({ path: `${shots}1-crossed.png` });

      // Hovering an entity shows its data; the own entity carries the player's name.
      const box = (await page.locator("#world").boundingBox())!;
      await page.mouse.move(box.x + box.width / 2, box.y + box.height / 2);
      await waitInPage(page, "globalThis.zs.inspected !== null", "the entity read-out");
      assert.match(
        (await zs<string>(page, "zs.inspected"))!,
        /^player #\d+ at \d+, \d+\nname: "Walker"/,
      );

      // Log out: the socket closes, the session is forgotten and the login form is back.
      await page.click("#logout");
      await waitInPage(page, "globalThis.zs.connected === false", "disconnected");
      assert.equal(await page.isVisible("#login"), true);
      assert.equal(await page.isVisible("#map-panel"), false);
      await waitInPage(
        page,
        `document.getElementById("message").textContent === "logged out"`,
        "the page to say so once the socket closed",
      );
      assert.equal(await zs<number | null>(page, "zs.session"), null, "the session is forgotten");
      assert.deepEqual(problems, []);
    } finally {
      await browser?.close();
      await node.kill();
      Deno.removeSync(config);
    }
  },
});

Deno.test({
  name: "/play on a coordinator of separate processes goes to a gateway, where login works",
  ignore: skipBrowserTests(),
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    const cluster = await startCluster({}, { workers: 2, gateways: 1, parallel: true });
    let browser: Browser | undefined;
    try {
      const redirect = await fetch(`${cluster.api}/play`, { redirect: "manual" });
      await redirect.body?.cancel();
      assert.equal(redirect.status, 307);
      assert.equal(redirect.headers.get("location"), `${cluster.gateways[0]}/play`);
      const world = await getJson<{ cells: number[]; owners: string[] }>(
        `${cluster.gateways[0]}/world`,
      );
      assert.deepEqual(world.cells, [4, 4, 1]);
      assert.equal(world.owners.length, 16);
      browser = await launchChromium();
      const page = await browser.newPage({ viewport: { width: 1280, height: 800 } });
      const problems: string[] = [];
      page.on("pageerror", (e) => problems.push(e.message));
      await login(page, `${cluster.api}/play`, "Visitor");
      assert.equal(new URL(page.url()).origin, cluster.gateways[0], "now on the gateway");
      await waitInPage(page, "globalThis.zs.worker !== ''", "the current worker shown");
      assert.equal(await page.isVisible("#diagnostics"), false, "no link to a page not served");
      assert.deepEqual(problems, []);
    } finally {
      await browser?.close();
      await cluster.close();
    }
  },
});
