// Persistent player data through the real protocol: examples/coins.ts marks `score` persistent;
// a registered player's score is saved to its account when its entity is removed and is back
// in its data at the next login; another account starts from nothing.
import assert from "node:assert/strict";
import { DatabaseSync } from "node:sqlite";
import { decode } from "../../src/protocol/msgpack.ts";
import { dataIn, playGame } from "../../testing/game_play.ts";
import { until, writeTestConfig } from "../../testing/node_process.ts";
import { accountToken, TestClient } from "../../testing/ws_client.ts";

/** The score saved for `username` in the node's SQLite account store, if any. */
function savedScore(path: string, username: string): number | undefined {
  const db = new DatabaseSync(path, { readOnly: true });
  try {
    const row = db.prepare(
      "SELECT p.data FROM player_data p JOIN accounts a ON a.id = p.account_id WHERE a.username = ?",
    ).get(username) as { data: Uint8Array } | undefined;
    return row ? (decode(row.data) as { score?: number }).score : undefined;
  } finally {
    db.close();
  }
}

/** The player's own score as the latest DIFF carrying its data says. */
function scoreOf(client: TestClient, entity: number): number | undefined {
  for (let i = client.messages.length - 1; i >= 0; i--) {
    const data = dataIn(client.messages[i], entity);
    if (data) return data.score as number;
  }
}

Deno.test({
  name: "a registered player's persistent score is saved when it leaves and back at its next login",
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    const dir = Deno.makeTempDirSync({ prefix: "zs-player-data-" });
    const storage = `${dir}/accounts.sqlite`;
    const config = writeTestConfig({
      role: "all",
      workers: 2,
      minWorkers: 2,
      world: { dims: 2, size: [1000, 1000], cellSize: 100 },
      aoiRadius: 50,
      ghostMargin: 60,
      // Removed (and saved) 300 ms after the connection drops; no periodic save in the test.
      gateway: { resumeGraceMs: 300, playerSaveMs: 3_600_000 },
      game: { module: "examples/coins.ts", options: { coins: 5000 } },
    });
    const play = await playGame("examples/coins.ts", "--config", config, "--storage", storage);
    const clients: TestClient[] = [];
    try {
      const ws = `${play.base.replace("http", "ws")}/ws`;
      const ann = new TestClient(ws);
      clients.push(ann);
      const first = await ann.hello({
        token: await accountToken(play.base, "ann", "correct horse", true),
      });
      await ann.waitFor("ann's score", () => scoreOf(ann, first.entity));
      // Walk to the nearest coin in sight until two are picked up (more than a player can find
      // standing on its spawn point in its first tick), then stand still. The circle walked
      // before passes about 3.8 coins on average (5,000 on 1000 × 1000, a band 6 wide), too
      // few to be sure of two, and a full run once timed out; ann sees some 40 at AOI 50.
      let seq = 0;
      const walk = setInterval(() => {
        const self = ann.visible.get(first.entity);
        // None in sight (yet): a circle.
        let move: [number, number] = [Math.cos(seq / 20), Math.sin(seq / 20)];
        let best = Infinity;
        for (const [id, e] of ann.visible) {
          if (id === first.entity || !self) continue;
          const dx = e.x - self.x, dy = e.y - self.y, d = Math.hypot(dx, dy);
          if (d > 0 && d < best) (best = d, move = [dx / d, dy / d]);
        }
        ann.send({ op: 2, seq: ++seq, intent: { move } });
      }, 50);
      try {
        await ann.waitFor(
          "a picked-up coin",
          () => (scoreOf(ann, first.entity)! > 1) || undefined,
          30_000,
        );
      } finally {
        clearInterval(walk);
      }
      const stop = ++seq;
      ann.send({ op: 2, seq: stop, intent: { move: [0, 0] } });
      await ann.waitFor(
        "the stop acknowledged",
        () => ann.messages.some((m) => m.op === 6 && m.ack >= stop) || undefined,
      );
      const diffs = ann.diffs;
      await ann.waitFor("5 more DIFFs", () => (ann.diffs > diffs + 5 ? true : undefined));
      const score = scoreOf(ann, first.entity)!;
      assert.ok(score > 1);
      assert.equal(savedScore(storage, "ann"), undefined, "nothing saved while ann plays");

      ann.close();
      const saved = await until("ann's score saved to her account", () => {
        const s = savedScore(storage, "ann");
        return Promise.resolve(s === undefined ? undefined : s);
      }, 15_000);
      assert.equal(saved, score, "the score at the moment ann's entity was removed");

      const again = new TestClient(ws);
      clients.push(again);
      const second = await again.hello({
        token: await accountToken(play.base, "ann", "correct horse"),
      });
      const restored = await again.waitFor(
        "ann's restored score",
        () => scoreOf(again, second.entity),
      );
      // Back in her data at the next login: the saved score, or one more when a coin lies
      // under the new spawn point (picked up in the first tick, as for cyd below); a lost
      // score would start from 0 or 1 (score is at least 2).
      assert.ok(
        restored === score || restored === score + 1,
        `back in her data at the next login: ${restored}, saved ${score}`,
      );

      const cyd = new TestClient(ws);
      clients.push(cyd);
      const third = await cyd.hello({
        token: await accountToken(play.base, "cyd", "battery staple", true),
      });
      // A new account starts from nothing: 0, or 1 for a coin right under its spawn point.
      const fresh = await cyd.waitFor("cyd's score", () => scoreOf(cyd, third.entity));
      assert.ok(
        fresh === 0 || fresh === 1,
        `cyd starts from nothing, not ann's ${score} (${fresh})`,
      );
      for (const c of clients) assert.deepEqual(c.problems, []);
    } finally {
      for (const c of clients) c.close();
      await play.close();
      Deno.removeSync(config);
      Deno.removeSync(dir, { recursive: true });
    }
  },
});
