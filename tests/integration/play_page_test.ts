// The /play browser client in headless Chromium against a real `--role=all` process: two players
// log in, walk until they see each other, one moves and the other sees it, one chats and the
// other reads it. Screenshots go to test-output/play_page/.
import assert from "node:assert/strict";
import type { Browser, Page } from "playwright-core";
import { launchChromium, outputDir, skipBrowserTests } from "../../testing/browser.ts";
import { getJson, NodeProcess, until, writeTestConfig } from "../../testing/node_process.ts";

interface Seen {
  id: number;
  type: string;
  x: number;
  y: number;
  name: string | null;
}

/** A small world, so two players who spawn at random find each other in a few seconds. */
const WORLD = { dims: 2, size: [240, 240], cellSize: 100 };

/** Waits (bounded) until `expression` evaluated in the page is truthy. */
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

/** The page's own entity as it sees it, and its view of entity `id`. */
async function views(page: Page, id: number | null): Promise<{ own: Seen; other: Seen | null }> {
  return await zs(page, `({ own: zs.entity(zs.ownId), other: zs.entity(${id}) })`);
}

async function play(browser: Browser, base: string, name: string): Promise<Page> {
  const page = await (await browser.newContext({ viewport: { width: 1280, height: 800 } }))
    .newPage();
  const problems: string[] = [];
  page.on("pageerror", (error) => problems.push(error.message));
  page.on("console", (m) => m.type() === "error" && problems.push(m.text()));
  await page.goto(`${base}/play`);
  await page.fill("#name", name);
  await page.click("#login-button");
  await waitInPage(
    page,
    "globalThis.zs.connected && globalThis.zs.entity(globalThis.zs.ownId) !== null",
    `${name} connected and seeing its own entity (${problems.join("; ")})`,
  );
  return page;
}

/** The arrow keys that walk from `from` towards `to` (screen y grows downwards, like world y). */
function keysToward(from: { x: number; y: number }, to: { x: number; y: number }): string[] {
  const keys: string[] = [];
  if (to.x - from.x > 3) keys.push("ArrowRight");
  if (from.x - to.x > 3) keys.push("ArrowLeft");
  if (to.y - from.y > 3) keys.push("ArrowDown");
  if (from.y - to.y > 3) keys.push("ArrowUp");
  return keys;
}

/** Holds exactly `keys` on `page`, releasing the others it held. */
async function hold(page: Page, held: Set<string>, keys: string[]): Promise<void> {
  for (const key of [...held]) {
    if (!keys.includes(key)) (await page.keyboard.up(key), held.delete(key));
  }
  for (const key of keys) {
    if (!held.has(key)) (await page.keyboard.down(key), held.add(key));
  }
}

Deno.test({
  name: "two /play pages see each other move and chat",
  ignore: skipBrowserTests(),
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    const shots = outputDir("play_page");
    const dir = Deno.makeTempDirSync({ prefix: "zs-play-" });
    const config = writeTestConfig({
      role: "all",
      workers: 2,
      world: WORLD,
      aoiRadius: 50,
      ghostMargin: 60,
      game: { npcs: 30, speed: 40, bumpRadius: 4, bumpCooldownTicks: 20, seed: 2 },
    });
    const node = new NodeProcess("all", [
      "--config",
      config,
      "--port",
      "0",
      "--storage",
      `${dir}/accounts.sqlite`,
    ]);
    let browser: Browser | undefined;
    try {
      const ready = await node.waitFor("all.ready");
      const base = `http://127.0.0.1:${ready.port}`;
      await until("a gateway in GET /gateways", async () => {
        const body = await getJson<{ gateways: unknown[] }>(`${base}/gateways`);
        return body.gateways.length > 0 ? true : undefined;
      });
      browser = await launchChromium();
      const a = await play(browser, base, "Alice");
      const b = await play(browser, base, "Bob");
      const idA = await zs<number>(a, "zs.ownId");
      const idB = await zs<number>(b, "zs.ownId");
      assert.notEqual(idA, idB);

      // Walk towards each other until each sees the other, close by.
      const heldA = new Set<string>(), heldB = new Set<string>();
      await until("Alice and Bob to meet", async () => {
        const [va, vb] = [await views(a, idB), await views(b, idA)];
        const close = Math.hypot(va.own.x - vb.own.x, va.own.y - vb.own.y) < 15;
        if (va.other && vb.other && close) return true;
        await hold(a, heldA, keysToward(va.own, vb.own));
        await hold(b, heldB, keysToward(vb.own, va.own));
        return undefined;
      }, 30_000);
      await hold(a, heldA, []);
      await hold(b, heldB, []);
      const seenByB = (await views(b, idA)).other;
      assert.ok(seenByB, "Bob sees Alice");
      assert.equal(seenByB.type, "player");
      assert.equal(seenByB.name, "Alice");
      assert.equal((await views(a, idB)).other?.name, "Bob");

      // Alice walks (away from the nearer edge); Bob sees her position change.
      await waitInPage(b, "true", "a settled frame", 1_000);
      const before = (await views(b, idA)).other!;
      const key = before.x < WORLD.size[0] / 2 ? "ArrowRight" : "ArrowLeft";
      await a.keyboard.down(key);
      try {
        await waitInPage(
          b,
          `(() => { const e = globalThis.zs.entity(${idA});
            return e !== null && Math.abs(e.x - ${before.x}) > 2; })()`,
          "Bob to see Alice move",
          10_000,
        );
      } finally {
        await a.keyboard.up(key);
      }
      await a.screenshot({ path: `${shots}alice.png` });

      // Alice chats on the global channel; Bob reads it, in the page and in zs.chat.
      await a.fill("#chat-text", "hello from Alice");
      await a.press("#chat-text", "Enter");
      await waitInPage(
        b,
        `globalThis.zs.chat.some((c) => c.text === "hello from Alice" && c.from === "Alice")`,
        "Bob to receive Alice's chat line",
      );
      const line = await b.textContent("#chat-lines");
      assert.match(line ?? "", /\[global\] Alice: hello from Alice/);
      await waitInPage(
        a,
        `globalThis.zs.chat.some((c) => c.text === "hello from Alice")`,
        "Alice to see her own line (the delivery confirmation)",
      );
      await b.screenshot({ path: `${shots}bob.png` });

      for (const page of [a, b]) {
        assert.deepEqual(await zs(page, "zs.errors"), [], "no ERROR frames");
        assert.deepEqual(await zs(page, "zs.closes"), [], "no unexpected closes");
        assert.equal(await zs(page, "zs.contradictions"), 0, "the DIFF stream is consistent");
        assert.match(
          (await page.textContent("#status")) ?? "",
          /tick \d+ · ping \d+ ms · \d+ entities/,
        );
      }
    } finally {
      await browser?.close();
      await node.kill();
      Deno.removeSync(dir, { recursive: true });
      Deno.removeSync(config);
    }
  },
});
