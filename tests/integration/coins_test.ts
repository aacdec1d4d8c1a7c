// examples/coins.ts played through the real protocol: walking picks up coins, and the player's
// score reaches its client in DIFF updates while it stays on one worker.
import assert from "node:assert/strict";
import type { DiffMessage } from "../../src/protocol/client_protocol.ts";
import { dataIn, playGame } from "../../testing/game_play.ts";

Deno.test({
  name: "the coins game's score changes in the player's own DIFFs as it picks up coins",
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    const play = await playGame("examples/coins.ts");
    try {
      const { client, entity } = play;
      const joined = await client.waitFor("own entity with its score", () => {
        for (const m of client.messages) {
          const data = dataIn(m, entity);
          if (data) return data;
        }
      });
      // Usually 0; a coin under the spawn point may already be picked up in the first tick.
      const first = joined.score as number;
      assert.ok(Number.isInteger(first) && first >= 0 && first <= 1, `first score ${first}`);
      // Walk in a circle (so the player stays near its spawn, on one worker), one input a tick.
      let seq = 0;
      const walk = setInterval(() => {
        const angle = seq / 20;
        client.send({ op: 2, seq: ++seq, intent: { move: [Math.cos(angle), Math.sin(angle)] } });
      }, 50);
      try {
        const scored = await client.waitFor("a DIFF update carrying a higher score", () => {
          for (const m of client.messages) {
            const data = dataIn(m, entity);
            if (data && (data.score as number) > first) return { data, diff: m as DiffMessage };
          }
        }, 30_000);
        assert.ok(
          scored.diff.update.some((u) => u[0] === entity && u[4]),
          "the score came in an update, not a re-enter",
        );
        const fulls = client.messages.filter((m) => m.op === 6 && (m as DiffMessage).full);
        assert.equal(fulls.length, 1, "no worker took the player over (only the first full DIFF)");
        assert.deepEqual(client.problems, []);
      } finally {
        clearInterval(walk);
      }
    } finally {
      await play.close();
    }
  },
});
