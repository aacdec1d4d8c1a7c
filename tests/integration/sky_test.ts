// examples/sky.ts played through the real protocol: a player flies in 3D to the middle of the
// world, where the workers' regions meet, and tags drones with an INPUT payload; tags of drones
// owned by the other worker cross the border both ways, and the player sees its hits rise.
import assert from "node:assert/strict";
import { getJson, until } from "../../testing/node_process.ts";
import { dataIn, playGame, positionIn } from "../../testing/game_play.ts";
import { AUDIT_EVENTS } from "../../testing/cluster.ts";

interface Interaction {
  kind: string;
  remote: boolean;
}

Deno.test({
  name: "the 3D sky game's tags cross a worker border and the player's hits rise in its DIFFs",
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    // The game's own config with the workers' audit logs on: the test reads /api/interactions.
    const config = Deno.makeTempFileSync({ prefix: "zs-sky-", suffix: ".json" });
    const sky = JSON.parse(Deno.readTextFileSync("examples/sky.json"));
    Deno.writeTextFileSync(config, JSON.stringify({ ...sky, auditEvents: AUDIT_EVENTS }));
    const play = await playGame("examples/sky.ts", "--config", config).finally(() =>
      Deno.removeSync(config)
    );
    try {
      const { client, entity } = play;
      assert.equal(client.welcome?.world.dims, 3);
      let seq = 0;
      let tagging = false;
      const steer = setInterval(() => {
        const at = positionIn(client.messages, entity);
        if (!at) return;
        const toward = at.map((v) => 100 - v);
        const distance = Math.hypot(...toward);
        tagging = distance < 10;
        const move = toward.map((d) => distance < 2 ? 0 : d / Math.max(distance, 1)) as [
          number,
          number,
          number,
        ];
        client.send({
          op: 2,
          seq: ++seq,
          intent: { move, ...(tagging ? { data: { tag: true } } : {}) },
        });
      }, 50);
      try {
        const hit = await client.waitFor("own hits > 0", () => {
          for (const m of client.messages) {
            const data = dataIn(m, entity);
            if (data && (data.hits as number) > 0) return data;
          }
        }, 40_000);
        assert.ok((hit.hits as number) > 0);
        const state = await getJson<{ workers: Array<{ httpAddress: string }> }>(
          `${play.base}/api/state`,
        );
        assert.equal(state.workers.length, 2);
        const remote = await until("an interaction issued across the worker border", async () => {
          for (const w of state.workers) {
            const log = await getJson<{ events: Interaction[] }>(
              `http://${w.httpAddress}/api/interactions?since=0`,
            );
            const crossed = log.events.filter((e) => e.kind === "issued" && e.remote);
            if (crossed.length > 0) return crossed.length;
          }
        }, 20_000);
        assert.ok(remote > 0);
        assert.deepEqual(client.problems, []);
      } finally {
        clearInterval(steer);
      }
    } finally {
      await play.close();
    }
  },
});
