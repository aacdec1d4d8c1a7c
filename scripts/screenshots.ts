// Regenerates the README's screenshots (docs/diagnostics.png, docs/play.png) from a real run:
// `--role=all` with three workers, a few bots, a cell moved and a player walking, shot in
// headless Chromium once the history charts hold half a minute of samples.
//   npm run screenshots
import { launchChromium } from "../testing/browser.ts";
import {
  getJson,
  NodeProcess,
  OPERATOR_HEADERS,
  TEST_OPERATOR_TOKEN,
  until,
  writeTestConfig,
} from "../testing/node_process.ts";

const DOCS = new URL("../docs/", import.meta.url).pathname;
/** Samples of history the charts should show (one a second). */
const HISTORY_SECONDS = 30;

const config = writeTestConfig({ role: "all", workers: 3, minWorkers: 3 });
const node = new NodeProcess("all", ["--config", config, "--port", "0", "--grpc-port", "0"]);
let bots: NodeProcess | undefined;
const browser = await launchChromium();
try {
  const ready = await node.waitFor("all.ready");
  const api = `http://127.0.0.1:${ready.port}`;
  bots = new NodeProcess("bots", [
    "--role=bots",
    "--gateway",
    api,
    "--clients",
    "8",
    "--duration",
    "300",
    "--ping",
    "1",
  ]);
  const state = await until("three workers with entities", async () => {
    const s = await getJson<{ workers: Array<{ entities: number }>; map: { owners: string[] } }>(
      `${api}/api/state`,
    );
    return s.workers.length === 3 && s.workers.every((w) => w.entities > 0) ? s : undefined;
  });
  // One migration, so the events and the migrations chart have something to show.
  const cell = state.map.owners.indexOf("w1");
  await fetch(`${api}/api/cells/${cell}/move`, {
    method: "POST",
    headers: OPERATOR_HEADERS,
    body: JSON.stringify({ to: "w2" }),
  }).then((r) => r.body?.cancel());

  const play = await browser.newPage({ viewport: { width: 1280, height: 880 } });
  await play.goto(`${api}/play`);
  await play.fill("#name", "Ada");
  await play.click("#login-button");
  await play.waitForFunction("globalThis.zs?.worker", undefined, { timeout: 15_000 });
  // A short walk towards the world's middle, so the shot shows movement away from the edge.
  const start = await play.evaluate("globalThis.zs.entity(globalThis.zs.ownId)") as { x: number };
  const [key, sign] = start.x < 200 ? ["ArrowRight", 1] : ["ArrowLeft", -1];
  await play.keyboard.down(key);
  await play.waitForFunction(
    `(globalThis.zs.entity(globalThis.zs.ownId).x - ${start.x}) * ${sign} > 30`,
    undefined,
    { timeout: 15_000 },
  );
  await play.keyboard.up(key);

  const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
  await page.goto(`${api}/?token=${TEST_OPERATOR_TOKEN}`);
  await page.waitForFunction(
    `globalThis.zsDiag?.history?.times.length >= ${HISTORY_SECONDS}`,
    undefined,
    { timeout: (HISTORY_SECONDS + 30) * 1000, polling: 500 },
  );
  await page.screenshot({ path: `${DOCS}diagnostics.png`, fullPage: true });
  const world = (await play.locator("#world").boundingBox())!;
  await play.mouse.move(world.x + world.width / 2, world.y + world.height / 2);
  await play.screenshot({ path: `${DOCS}play.png` });
  console.log(`wrote ${DOCS}diagnostics.png and ${DOCS}play.png`);
} finally {
  await browser.close();
  await bots?.kill();
  await node.kill();
  Deno.removeSync(config);
}
