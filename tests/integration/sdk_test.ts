// The client SDK (GameClient) playing through a real `--role=all` process: login with fail-over
// past a dead server, WELCOME, its own entity moving in the DIFFs, an INPUT payload over the
// limit refused without a close, chat between a msgpack and a JSON client, and a resume after
// the gateway dropped the idle connection (4003), with the same session and entity.
import assert from "node:assert/strict";
import { type ClientClose, GameClient } from "../../mod.ts";
import { getJson, NodeProcess, until, writeTestConfig } from "../../testing/node_process.ts";
import { waitUntil } from "../../testing/wait_until.ts";

function unusedPort(): number {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (listener.addr as Deno.NetAddr).port;
  listener.close();
  return port;
}

Deno.test({
  name: "a GameClient logs in, moves, chats, is refused a big payload, and resumes after a drop",
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    const config = writeTestConfig({
      role: "all",
      workers: 1,
      minWorkers: 1,
      game: { npcs: 10, speed: 60, bumpRadius: 4, bumpCooldownTicks: 20, seed: 2 },
      // The gateway drops a connection silent for 1.5 s: the drop the client resumes from.
      gateway: { idleTimeoutMs: 1_500 },
    });
    const node = new NodeProcess("all", ["--config", config, "--port", "0"]);
    const clients: GameClient[] = [];
    try {
      const ready = await node.waitFor("all.ready");
      const base = `http://127.0.0.1:${ready.port}`;
      await until("a gateway in GET /gateways", async () => {
        const body = await getJson<{ gateways: unknown[] }>(`${base}/gateways`);
        return body.gateways.length > 0 ? true : undefined;
      });
      const ann = new GameClient({
        servers: [`http://127.0.0.1:${unusedPort()}`, base],
        login: { guest: true, name: "Ann" },
        pingMs: 60_000, // no keep-alive: the idle close below is the point
        reconnect: { maxAttempts: 5, baseMs: 100, maxMs: 1000 },
      });
      const bo = new GameClient({
        servers: [base],
        login: { guest: true, name: "Bo" },
        format: "json",
      });
      clients.push(ann, bo);
      const problems: string[] = [];
      const errors: string[] = [];
      const closes: ClientClose[] = [];
      for (const c of clients) {
        c.on("protocolError", (e) => problems.push(`${e.kind}: ${e.message}`));
      }
      ann.on("serverError", (e) => errors.push(e.code));
      ann.on("close", (close) => closes.push(close));

      const welcome = await ann.connect();
      await bo.connect();
      assert.equal(welcome.resumed, false);
      const start = await waitUntil(
        "Ann's own entity",
        () => ann.world.own && { ...ann.world.own },
      );
      assert.equal(start.type, "player");

      // Move towards the middle of the world; the DIFFs show the entity going that way.
      const middle = welcome.world.size[0] / 2;
      const dx = start.x < middle ? 1 : -1;
      const seq = ann.input({ move: [dx, 0], data: { sprint: false } })!;
      await waitUntil("the input applied", () => ann.world.ack >= seq, 10_000);
      await waitUntil("Ann moving", () => Math.sign(ann.world.own!.x - start.x) === dx, 10_000);

      // A payload over 1024 bytes: ERROR BAD_INPUT, no close; the next input is applied.
      const big = ann.input({ move: [0, 0], data: { text: "x".repeat(2000) } })!;
      await waitUntil("BAD_INPUT", () => errors.includes("BAD_INPUT"));
      const stop = ann.input({ move: [0, 0] })!;
      assert.ok(stop > big);
      await waitUntil("the stop applied", () => ann.world.ack === stop, 10_000);
      assert.equal(ann.connected, true);

      // Chat: the JSON client reads what the msgpack client says, and the sender gets it back.
      const heard: string[] = [];
      bo.on("chat", (m) => heard.push(`${m.from}@${m.channel}: ${m.text}`));
      const echoed: string[] = [];
      ann.on("chat", (m) => echoed.push(m.text));
      assert.equal(ann.chat("global", "hello from the SDK"), true);
      await waitUntil("Bo hearing Ann", () => heard.includes("Ann@global: hello from the SDK"));
      await waitUntil("Ann's own line back", () => echoed.includes("hello from the SDK"));

      // Silence: the gateway closes with 4003 IDLE_TIMEOUT; the client resumes by itself.
      const resumed = new Promise<{ session: string; entity: number; resumed: boolean }>((r) =>
        ann.on("welcome", r)
      );
      const before = { ...ann.world.own! };
      const again = await resumed;
      assert.deepEqual(closes.map((c) => [c.code, c.error, c.reconnect]), [[
        4003,
        "IDLE_TIMEOUT",
        true,
      ]]);
      assert.deepEqual(
        [again.resumed, again.session, again.entity],
        [true, welcome.session, welcome.entity],
      );
      await waitUntil("the full DIFF after the resume", () => ann.world.own);
      assert.ok(Math.abs(ann.world.own!.x - before.x) < 1, "the entity waited where it was");
      const next = ann.input({ move: [dx, 0] })!;
      await waitUntil("an input applied after the resume", () => ann.world.ack >= next, 10_000);
      assert.deepEqual(problems, []);
    } finally {
      await Promise.all(clients.map((c) => c.close()));
      await node.kill();
      Deno.removeSync(config);
    }
  },
});
