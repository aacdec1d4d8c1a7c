// `snapshotHz` below `tickHz` through the real protocol (docs/protocol.md, WELCOME and DIFF):
// WELCOME says the rate, and after the first full DIFF every DIFF is of a tick divisible by
// tickHz / snapshotHz, one per such tick, carrying the inputs applied since.
import assert from "node:assert/strict";
import { playGame } from "../../testing/game_play.ts";

Deno.test({
  name:
    "at snapshotHz 10 of tickHz 20 a player gets a DIFF of every even tick, and its inputs acked",
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    const config = Deno.makeTempFileSync({ prefix: "zs-snapshot-", suffix: ".json" });
    Deno.writeTextFileSync(
      config,
      JSON.stringify({
        ...JSON.parse(Deno.readTextFileSync("config/all.json")),
        snapshotHz: 10,
      }),
    );
    const play = await playGame("examples/coins.ts", "--config", config);
    try {
      const { client } = play;
      assert.equal(client.welcome!.tickHz, 20);
      assert.equal(client.welcome!.snapshotHz, 10);
      let seq = 0;
      const walk = setInterval(() => {
        client.send({ op: 2, seq: ++seq, intent: { move: [Math.cos(seq / 9), 0.3] } });
      }, 50);
      try {
        await client.waitFor("40 DIFFs", () => (client.diffs >= 40 ? true : undefined));
      } finally {
        clearInterval(walk);
      }
      const diffs = client.messages.flatMap((m) => (m.op === 6 ? [m] : []));
      const after = diffs.slice(1); // the first, full one is of the join's tick
      assert.deepEqual(after.filter((d) => d.tick % 2 !== 0).map((d) => d.tick), []);
      // Never two DIFFs of one tick; a step over 2 is the documented skip of a late worker.
      const steps = after.slice(1).map((d, i) => d.tick - after[i].tick);
      assert.ok(steps.every((s) => s >= 2), `tick steps ${steps}`);
      assert.ok(diffs.at(-1)!.ack > 0, "inputs are acknowledged");
      assert.deepEqual(client.problems, []);
    } finally {
      await play.close();
      Deno.removeSync(config);
    }
  },
});
