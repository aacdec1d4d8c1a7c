// examples/remote_py: the orbs game, whose logic is a Python grpcio server behind the GameLogic
// service, played through the real protocol by a real node (role all, two worker threads).
import assert from "node:assert/strict";
import type { DiffMessage } from "../../src/protocol/client_protocol.ts";
import { dataIn, type GamePlay, playGame, positionIn } from "../../testing/game_play.ts";
import { getJson, until, writeTestConfig } from "../../testing/node_process.ts";
import { LogicServer } from "../../testing/logic_server.ts";
import { parseMetrics, samples } from "../../testing/prometheus_text.ts";

const ORBS = 200;

async function orbs(
  delayMs = 0,
  script?: string,
): Promise<{ play: GamePlay; logic: LogicServer }> {
  const logic = new LogicServer(0, delayMs, script);
  try {
    const port = await logic.port;
    const config = writeTestConfig({
      role: "all",
      workers: 2,
      minWorkers: 2,
      world: { dims: 2, size: [400, 400], cellSize: 100 },
      aoiRadius: 50,
      ghostMargin: 60,
      game: {
        module: "examples/remote_py/orbs.ts",
        options: { address: `127.0.0.1:${port}`, orbs: ORBS, speed: 30 },
      },
    });
    try {
      return { play: await playGame("examples/remote_py/orbs.ts", "--config", config), logic };
    } finally {
      Deno.removeSync(config);
    }
  } catch (error) {
    await logic.stop();
    throw error;
  }
}

/** Sum of a counter family over every worker of the node. */
async function workerCounter(base: string, name: string): Promise<number> {
  const state = await getJson<{ workers: Array<{ httpAddress: string }> }>(`${base}/api/state`);
  let sum = 0;
  for (const w of state.workers) {
    const text = await (await fetch(`http://${w.httpAddress}/metrics`)).text();
    for (const s of samples(parseMetrics(text), name)) sum += s.value ?? 0;
  }
  return sum;
}

/** Sends `count` INPUTs moving right and waits for the game to have counted each exactly once. */
async function inputsCounted(play: GamePlay, count: number) {
  const { client, entity } = play;
  for (let seq = 1; seq <= count; seq++) client.send({ op: 2, seq, intent: { move: [1, 0] } });
  const counted = await client.waitFor(`the game to count ${count} inputs`, () => {
    for (let i = client.messages.length - 1; i >= 0; i--) {
      const data = dataIn(client.messages[i], entity);
      if (data) return (data.inputs as number) >= count ? data : undefined;
    }
  }, 30_000);
  assert.equal(counted.inputs, count, "each INPUT reached the Python game once");
  return counted;
}

Deno.test({
  name: "a Python logic server plays the game: world start, joins and inputs exactly once",
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    const { play, logic } = await orbs();
    try {
      const { client, entity, base } = play;
      const joined = await client.waitFor("the score the Python onJoin set", () => {
        for (const m of client.messages) {
          const data = dataIn(m, entity);
          if (data?.score !== undefined) return data;
        }
      });
      // The Python onJoin set score 0 and inputs 0. A player that spawned within touching
      // distance of an orb (200 in 400 x 400) may already have scored by its first DIFF.
      const { score, ...rest } = joined;
      assert.deepEqual(rest, { name: "tester", inputs: 0 });
      assert.ok(Number.isInteger(score) && (score as number) >= 0, `score ${score}`);
      const entities = await until("the world-start orbs on the workers", async () => {
        const s = await getJson<{ workers: Array<{ entities: number }> }>(`${base}/api/state`);
        const n = s.workers.reduce((sum, w) => sum + w.entities, 0);
        return n === ORBS + 1 ? n : undefined;
      }, 15_000);
      assert.equal(entities, ORBS + 1, "each orb spawned once, by the worker owning its spot");
      // The orbs drift as the Python server moves them: an orb in view gets position updates.
      await client.waitFor(
        "an orb's position update",
        () =>
          client.messages.some((m) =>
            m.op === 6 && (m as DiffMessage).update.some((u) => u[0] !== entity && u[0] <= ORBS)
          ) || undefined,
      );
      const start = positionIn(client.messages, entity)!;
      await inputsCounted(play, 30);
      const moved = await client.waitFor("the player to move right", () => {
        const at = positionIn(client.messages, entity);
        return at && at[0] > start[0] + 1 ? at : undefined;
      });
      assert.ok(Math.abs(moved[1] - start[1]) < 1e-9, "moved along x only, as the input said");
      // Answered since: a resent or doubled INPUT would push the count past 30.
      const acked = client.diffs;
      await client.waitFor("20 more DIFFs", () => (client.diffs > acked + 20 ? true : undefined));
      const last = client.messages.findLast((m) => dataIn(m, entity) !== undefined)!;
      assert.equal(dataIn(last, entity)!.inputs, 30);
      assert.deepEqual(client.problems, []);
    } finally {
      await play.close();
      await logic.stop();
    }
  },
});

Deno.test({
  name: "late logic replies never hold a tick back; they are counted and inputs still count once",
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    // Each reply 80 ms late at 20 Hz: the server answers slower than the worker ticks.
    const { play, logic } = await orbs(80);
    try {
      await inputsCounted(play, 10);
      const late = await until(
        "late replies in zs_game_logic_late_replies_total",
        async () => {
          const n = await workerCounter(play.base, "zs_game_logic_late_replies_total");
          return n > 0 ? n : undefined;
        },
        15_000,
      );
      assert.ok(late > 0, "a reply came after the next tick had run without it");
      assert.deepEqual(play.client.problems, []);
    } finally {
      await play.close();
      await logic.stop();
    }
  },
});

Deno.test({
  name: "a killed logic server stops no tick; a new one on its port takes over from a reset",
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    const { play, logic } = await orbs();
    let second: LogicServer | undefined;
    try {
      const { client } = play;
      await inputsCounted(play, 5);
      const port = await logic.port;
      await logic.stop();
      const diffs = client.diffs;
      await client.waitFor(
        "DIFFs with the logic server gone",
        () => client.diffs > diffs + 20 ? true : undefined,
      );
      second = new LogicServer(port);
      await second.port;
      // The new server knows nothing of the old one's counts: the reset gives it the entity
      // with its data, and it counts on from there.
      for (let seq = 6; seq <= 8; seq++) client.send({ op: 2, seq, intent: { move: [0, 1] } });
      const resumed = await client.waitFor("inputs counted by the new server", () => {
        for (let i = client.messages.length - 1; i >= 0; i--) {
          const data = dataIn(client.messages[i], play.entity);
          if (data) return (data.inputs as number) >= 8 ? data : undefined;
        }
      }, 30_000);
      assert.equal(resumed.inputs, 8);
      const reconnects = await workerCounter(play.base, "zs_game_logic_reconnects_total");
      assert.ok(reconnects > 0, `reconnects counted (${reconnects})`);
    } finally {
      await play.close();
      await logic.stop();
      await second?.stop();
    }
  },
});

Deno.test({
  name: "replies a worker must refuse are GAME_ERRORs; the player plays on and keeps its data",
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    const { play, logic } = await orbs(0, "tests/integration/fixtures/bad_logic_server.py");
    try {
      const errors = await until("GAME_ERRORs counted", async () => {
        const state = await getJson<{ workers: Array<{ httpAddress: string }> }>(
          `${play.base}/api/state`,
        );
        let n = 0;
        for (const w of state.workers) {
          const text = await (await fetch(`http://${w.httpAddress}/metrics`)).text();
          n += samples(parseMetrics(text), "zs_errors_total", { code: "GAME_ERROR" })
            .reduce((sum, s) => sum + (s.value ?? 0), 0);
        }
        return n > 0 ? n : undefined;
      }, 15_000);
      assert.ok(errors > 0);
      const { client } = play;
      const diffs = client.diffs;
      await client.waitFor("DIFFs go on", () => (client.diffs > diffs + 10 ? true : undefined));
      const seen = client.messages.map((m) => dataIn(m, play.entity)).filter((d) => d);
      assert.deepEqual(
        [...new Set(seen.map((d) => JSON.stringify(d)))],
        [JSON.stringify({ name: "tester" })],
        "no refused data replaced the player's",
      );
      assert.equal(client.visible.size, 1, "no dragon, no orb with an id over 2^32");
      assert.deepEqual(client.problems, []);
    } finally {
      await play.close();
      await logic.stop();
    }
  },
});
