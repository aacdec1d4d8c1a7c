// INPUT payloads reach the game's onInput; a payload over the limit or not plain data is
// refused with BAD_INPUT while the session goes on; a game that throws in onTick is logged with
// its stack and counted, and the tick (sync, diffs, other hooks) goes on.
import assert from "node:assert/strict";
import { encode } from "../../src/protocol/msgpack.ts";
import { getJson, until } from "../../testing/node_process.ts";
import { dataIn, playGame } from "../../testing/game_play.ts";

Deno.test({
  name: "INPUT payloads reach onInput, bad ones get BAD_INPUT and the session and tick go on",
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    const play = await playGame("tests/integration/fixtures/faulty_game.ts");
    try {
      const { client, entity, node } = play;
      let seq = 0;
      const lastPayload = (value: string) =>
        client.waitFor(`own data.last = ${value}`, () => {
          for (const m of client.messages) {
            const data = dataIn(m, entity);
            if (data && JSON.stringify(data.last) === value) return data;
          }
        });
      client.send({ op: 2, seq: ++seq, intent: { move: [0, 0], data: { step: 1 } } });
      await lastPayload('{"step":1}');

      // Over the limit: 2000 bytes of msgpack.
      client.send({ op: 2, seq: ++seq, intent: { move: [0, 0], data: "x".repeat(2000) } });
      const tooBig = await client.waitFor("BAD_INPUT for the big payload", () => client.errors[0]);
      assert.equal(tooBig.code, "BAD_INPUT");
      assert.match(
        tooBig.message,
        /INPUT\.intent\.data is \d+ bytes, more than the maximum of 1024/,
      );
      // The session goes on: the next input is applied.
      client.send({ op: 2, seq: ++seq, intent: { move: [0, 0], data: { step: 2 } } });
      await lastPayload('{"step":2}');
      assert.equal(client.closedWith, undefined, "the connection stayed open");

      // onTick threw every tick: logged with the game's stack, counted, and ticks go on.
      const logged = await node.waitFor("game.error");
      assert.equal(logged.hook, "onTick");
      assert.match(String(logged.stack), /faulty_game\.ts/);
      const state = await getJson<{ workers: Array<{ httpAddress: string }> }>(
        `${play.base}/api/state`,
      );
      const counted = await until("the GAME_ERROR metric", async () => {
        let total = 0;
        for (const w of state.workers) {
          const text = await (await fetch(`http://${w.httpAddress}/metrics`)).text();
          const match = /zs_errors_total\{[^}]*code="GAME_ERROR"\} (\d+)/.exec(text);
          total += match ? Number(match[1]) : 0;
        }
        return total > 0 ? total : undefined;
      });
      assert.ok(counted > 0);
      const ticksBefore = client.lastTick;
      await client.waitFor(
        "DIFFs 20 ticks later",
        () => client.lastTick >= ticksBefore + 20 ? true : undefined,
      );
      assert.deepEqual(client.problems, []);
      // A msgpack extension (a timestamp) is refused by the frame reader wherever it sits, as
      // for any frame (docs/protocol.md): BAD_FRAME naming the field, and the connection closes.
      client.socket.send(
        encode({ op: 2, seq: ++seq, intent: { move: [0, 0], data: new Date(0) } }),
      );
      const notPlain = await client.waitFor("BAD_FRAME for the Date", () => client.errors[1]);
      assert.equal(notPlain.code, "BAD_FRAME");
      assert.match(notPlain.message, /intent\.data must not be an extension type/);
      assert.equal((await client.closed).code, 1007);
    } finally {
      await play.close();
    }
  },
});
