// Fault injection against real servers: from the diagnostics page in role `all` (worker threads)
// a kill produces the failover events and the dip in the "workers up" chart; through the API with
// separate processes, cut and heal a link, pause a worker until it is declared down and resume it
// (it is fenced and rejoins), kill one (its process dies of SIGKILL), and refuse callers without
// the operator token.
import assert from "node:assert/strict";
import type { Browser, Page } from "playwright-core";
import { launchChromium, outputDir, skipBrowserTests } from "../../testing/browser.ts";
import { startCluster } from "../../testing/cluster.ts";
import {
  getJson,
  NodeProcess,
  TEST_OPERATOR_TOKEN,
  until,
  writeTestConfig,
} from "../../testing/node_process.ts";

interface Event {
  kind: string;
  worker?: string;
  [k: string]: unknown;
}

async function waitInPage(page: Page, expression: string, what: string, timeout = 15_000) {
  try {
    await page.waitForFunction(expression, undefined, { timeout, polling: 100 });
  } catch (error) {
    throw new Error(`Timed out after ${timeout} ms waiting for ${what}`, { cause: error });
  }
}

const eventIn = (kind: string, worker: string) =>
  `[...document.querySelectorAll("#events li")].some((li) => ` +
  `li.textContent.includes("${kind}") && li.textContent.includes("worker=${worker}"))`;

Deno.test({
  name: "a kill injected from the page (role all) brings failover events and a chart dip",
  ignore: skipBrowserTests(),
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    const shots = outputDir("fault_injection");
    const config = writeTestConfig({
      role: "all",
      workers: 3,
      minWorkers: 3,
      workerTimeoutMs: 1_000,
      heartbeatMs: 250,
      rebalance: { enabled: false },
    });
    const node = new NodeProcess("all", ["--config", config, "--port", "0", "--grpc-port", "0"]);
    let browser: Browser | undefined;
    try {
      browser = await launchChromium();
      const ready = await node.waitFor("all.ready");
      const api = `http://127.0.0.1:${ready.port}`;
      await until("three workers to own entities", async () => {
        const s = await getJson<{ workers: Array<{ entities: number }> }>(`${api}/api/state`);
        return s.workers.length === 3 && s.workers.every((w) => w.entities > 0) || undefined;
      });
      const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
      const consoleErrors: string[] = [];
      page.on("pageerror", (e) => consoleErrors.push(`page error: ${e.message}`));
      page.on("dialog", (d) => void d.accept());
      await page.goto(`${api}/?token=${TEST_OPERATOR_TOKEN}`);
      await waitInPage(
        page,
        "globalThis.zsDiag?.history?.cluster.workersUp.at(-1) === 3",
        "the workers-up chart at 3",
      );
      await waitInPage(page, `document.querySelectorAll("#fault-worker option").length === 3`, "3");

      await page.selectOption("#fault-worker", "w2");
      const answer = page.waitForResponse((r) => r.url().endsWith("/api/workers/w2/faults"));
      await page.click('button[data-fault="kill"]');
      assert.equal((await answer).status(), 202);
      await node.waitFor("thread.killed");
      await waitInPage(page, eventIn("fault.injected", "w2"), "fault.injected in the event log");
      await waitInPage(page, eventIn("worker.down", "w2"), "w2 down in the event log");
      await waitInPage(
        page,
        `[...document.querySelectorAll("#events li")].some((li) => ` +
          `li.textContent.includes("promoted"))`,
        "a backup promoted in the event log",
      );
      await waitInPage(
        page,
        "globalThis.zsDiag.history.cluster.workersUp.at(-1) === 2",
        "the workers-up chart to dip to 2",
      );
      const up = await page.evaluate("globalThis.zsDiag.history.cluster.workersUp") as number[];
      assert.ok(up.indexOf(3) < up.lastIndexOf(2), `3 then 2 workers up: ${up.join(",")}`);
      assert.match(await page.textContent("#fault-status") ?? "", /kill w2: done/);
      await waitInPage(
        page,
        `[...document.querySelectorAll("#fault-worker option")].some((o) => ` +
          `o.textContent === "w2 (down)")`,
        "w2 offered as down",
      );
      await page.selectOption("#fault-worker", "w2");
      await page.click('button[data-fault="pause"]');
      await waitInPage(
        page,
        `document.getElementById("fault-status").textContent.includes("Cannot pause w2: it is down")`,
        "the refusal to pause a down worker in the page",
      );
      await page.screenshot({ path: `${shots}1-killed.png`, fullPage: true });
      assert.deepEqual(consoleErrors, []);
    } finally {
      await browser?.close();
      await node.kill();
      Deno.removeSync(config);
    }
  },
});

Deno.test({
  name: "cut, heal, pause, resume and kill through the API work on separate processes",
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    const cluster = await startCluster(
      { workerTimeoutMs: 1_000, heartbeatMs: 250, minWorkers: 3 },
      {
        workers: 3,
        parallel: true,
      },
    );
    try {
      const { api, post } = cluster;
      const s = await cluster.state();
      const http = Object.fromEntries(s.workers.map((w) => [w.id, `http://${w.httpAddress}`]));
      const links = async (id: string) =>
        (await getJson<{ links: string[] }>(`${http[id]}/api/state`)).links.sort();
      const events = async () => (await cluster.state()).events as Event[];
      await until(
        "w1 linked to w2 and w3",
        async () => (await links("w1")).join() === "w2,w3" || undefined,
      );

      // Without the operator token: refused by the coordinator and by the worker itself.
      for (const url of [`${api}/api/workers/w1/faults`, `${http.w1}/api/faults`]) {
        const response = await fetch(url, { method: "POST", body: '{"action":"kill"}' });
        const body = await response.json();
        assert.deepEqual([response.status, body.error.code], [401, "UNAUTHENTICATED"], url);
      }

      // Cut w1–w2: the link goes and stays down, the other stays; heal: it comes back.
      assert.equal(
        (await post("/api/workers/w1/faults", { action: "cut", peer: "w2" })).status,
        202,
      );
      await until(
        "w1's link to w2 cut",
        async () => (await links("w1")).join() === "w3" || undefined,
      );
      await cluster.processOf("w2").waitFor("link.down");
      assert.deepEqual(await links("w1"), ["w3"], "w2 cannot dial back in while cut");
      assert.equal(
        (await post("/api/workers/w1/faults", { action: "heal", peer: "w2" })).status,
        202,
      );
      await until(
        "w1's link to w2 back",
        async () => (await links("w1")).join() === "w2,w3" || undefined,
      );

      // Pause w3: frozen (its tick stops) until declared down; resumed, it is fenced and rejoins.
      assert.equal((await post("/api/workers/w3/faults", { action: "pause" })).status, 202);
      await until(
        "w3 declared down",
        async () =>
          (await events()).some((e) => e.kind === "worker.down" && e.worker === "w3") || undefined,
      );
      const frozen = (await getJson<{ tick: number }>(`${http.w3}/api/state`)).tick;
      assert.equal((await getJson<{ tick: number }>(`${http.w3}/api/state`)).tick, frozen);
      assert.equal((await post("/api/workers/w3/faults", { action: "resume" })).status, 202);
      await cluster.processOf("w3").waitFor("worker.fenced");
      await cluster.processOf("w3").waitFor("worker.rejoined");
      await until(
        "the coordinator to see w3 rejoin",
        async () =>
          (await events()).some((e) => e.kind === "worker.rejoined" && e.worker === "w3") ||
          undefined,
      );

      // Kill w2: its process dies of SIGKILL and the coordinator declares it down.
      assert.equal((await post("/api/workers/w2/faults", { action: "kill" })).status, 202);
      const w2 = cluster.processOf("w2");
      await until("w2's process to exit", () => Promise.resolve(w2.exitStatus));
      assert.equal(w2.exitStatus?.signal, "SIGKILL");
      await until(
        "w2 declared down",
        async () =>
          (await events()).some((e) => e.kind === "worker.down" && e.worker === "w2") || undefined,
      );
      const killed = (await events()).filter((e) => e.kind === "fault.injected");
      assert.deepEqual(killed.map((e) => `${e.worker}:${e.action}`), [
        "w1:cut",
        "w1:heal",
        "w3:pause",
        "w3:resume",
        "w2:kill",
      ]);
      const [status] = [(await post("/api/workers/w2/faults", { action: "kill" })).status];
      assert.equal(status, 409, "a down worker cannot be given a fault");
    } finally {
      await cluster.close();
    }
  },
});
