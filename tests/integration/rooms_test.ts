// Rooms through the real protocol, on one all-in-one node (coordinator, two worker threads,
// gateway) running examples/rooms.ts: create → search → join → both see each other → leave →
// the empty instance is destroyed after its grace; quick-join fills instances and opens new
// ones; two players race for the last seat; travel keeps the session and the entity's data;
// every refusal has its documented code and the session goes on.
import assert from "node:assert/strict";
import type {
  DiffMessage,
  ErrorMessage,
  RoomsMessage,
  ServerMessage,
  TravelMessage,
} from "../../src/protocol/client_protocol.ts";
import { NodeProcess, writeTestConfig } from "../../testing/node_process.ts";
import { guestToken, TestClient } from "../../testing/ws_client.ts";
import { parseBotArgs } from "../../src/client/bot_options.ts";
import { runBotSwarm } from "../../src/client/bot_swarm.ts";

const GRACE_MS = 600;

type Frame = ServerMessage & { ref?: number };

/** The answer (TRAVEL, ROOMS or ERROR) to the request numbered `ref`. */
function answer(client: TestClient, ref: number, timeoutMs = 10_000): Promise<Frame> {
  return client.waitFor(
    `answer to ref ${ref}`,
    () =>
      client.messages.find((m) =>
        (m.op === 15 || m.op === 14 || m.op === 8) && (m as Frame).ref === ref
      ) as Frame | undefined,
    timeoutMs,
  );
}

async function travel(client: TestClient, ref: number): Promise<TravelMessage> {
  const reply = await answer(client, ref);
  assert.equal(reply.op, 15, `TRAVEL for ref ${ref}, got ${JSON.stringify(reply)}`);
  return reply as TravelMessage;
}

async function refusal(client: TestClient, ref: number, code: string): Promise<ErrorMessage> {
  const reply = await answer(client, ref);
  assert.equal(reply.op, 8, `ERROR ${code} for ref ${ref}, got ${JSON.stringify(reply)}`);
  assert.equal((reply as ErrorMessage).code, code);
  return reply as ErrorMessage;
}

/** The first full DIFF after message index `from`, and its index. */
function fullDiffAfter(client: TestClient, from: number): Promise<DiffMessage> {
  return client.waitFor(
    "a full DIFF",
    () =>
      client.messages.slice(from + 1).find((m) => m.op === 6 && (m as DiffMessage).full) as
        | DiffMessage
        | undefined,
  );
}

/** The data of entity `id` as the client last saw it. */
function dataOf(client: TestClient, id: number): Record<string, unknown> | undefined {
  let data: Record<string, unknown> | undefined;
  for (const m of client.messages) {
    if (m.op !== 6) continue;
    const d = m as DiffMessage;
    if (d.full) data = undefined;
    for (const e of d.enter) if (e[0] === id) data = e[5];
    for (const u of d.update) if (u[0] === id && u[4]) data = u[4];
  }
  return data;
}

/** A PING answered by PONG: the session is alive on the same connection. */
async function alive(client: TestClient): Promise<void> {
  const t = Math.random();
  client.send({ op: 4, t });
  await client.waitFor("PONG", () => client.messages.find((m) => m.op === 7 && m.t === t));
  assert.equal(client.closedWith, undefined, "the connection stays open");
}

Deno.test({
  name: "rooms: lifecycle, matchmaking, the last seat, travel and refusals over the protocol",
  sanitizeOps: false,
  sanitizeResources: false,
  async fn(t) {
    const config = writeTestConfig({
      role: "all",
      workers: 2,
      instances: { emptyGraceMs: GRACE_MS, maxPlayers: 100 },
      gateway: { instanceOpsPerSecond: 2, instanceOpsBurst: 10 },
      game: { module: "examples/rooms.ts", options: {} },
    });
    const node = new NodeProcess("rooms", [
      "--config",
      config,
      "--port",
      "0",
      "--storage",
      ":memory:",
    ]);
    const clients: TestClient[] = [];
    try {
      const ready = await node.waitFor("all.ready", 60_000);
      const base = `http://127.0.0.1:${ready.port}`;
      const connect = async (name: string) => {
        const client = new TestClient(`ws://127.0.0.1:${ready.port}/ws`, "json");
        clients.push(client);
        await client.hello({ token: await guestToken(base, name) });
        await client.waitFor("first DIFF", () => client.messages.find((m) => m.op === 6));
        return client;
      };
      const ann = await connect("ann");
      const bob = await connect("bob");
      let instance = "";
      let annWorld = { x: 0, y: 0 };

      await t.step(
        "create → search finds it → a second player joins → both see each other",
        async () => {
          // Ann scores twice in the world: her data must travel with her.
          ann.send({ op: 2, seq: 1, intent: { move: [0, 0], action: "score" } });
          ann.send({ op: 2, seq: 2, intent: { move: [0, 0], action: "score" } });
          await ann.waitFor(
            "score 2 in the world",
            () => dataOf(ann, ann.entity!)?.score === 2 ? true : undefined,
          );
          const worldEntity = ann.entity!;
          annWorld = ann.visible.get(worldEntity)!;
          const before = ann.messages.length;
          ann.send({
            op: 9,
            ref: 1,
            mode: "arena",
            options: { rounds: 2 },
            tags: ["eu", "ranked"],
          });
          const moved = await travel(ann, 1);
          assert.equal(moved.place, "instance");
          assert.equal(moved.reason, "create");
          assert.deepEqual(moved.size, [200, 200]);
          assert.notEqual(moved.entity, worldEntity, "a new entity in the instance's space");
          instance = moved.instance!.id;
          assert.equal(moved.instance!.mode, "arena");
          const full = await fullDiffAfter(ann, ann.messages.indexOf(moved));
          assert.ok(
            full.enter.some((e) => e[0] === moved.entity),
            "Ann sees herself",
          );
          const flag = full.enter.find((e) => e[1] === "flag");
          assert.deepEqual(flag?.[5], { rounds: 2 }, "onCreate spawned the flag with the options");
          assert.equal(dataOf(ann, moved.entity)?.score, 2, "the score travelled with her");
          assert.equal(dataOf(ann, moved.entity)?.place, "arena", "ctx.instance told the game");
          assert.ok(ann.messages.slice(before).every((m) => m.op !== 5), "no new WELCOME");

          bob.send({ op: 10, ref: 2, mode: "arena", tags: ["eu"], open: true });
          const found = await answer(bob, 2) as RoomsMessage;
          assert.equal(found.op, 14);
          assert.deepEqual(found.instances.map((i) => [i.id, i.players, i.maxPlayers]), [[
            instance,
            1,
            4,
          ]]);
          bob.send({ op: 10, ref: 3, mode: "arena", tags: ["us"] });
          assert.deepEqual((await answer(bob, 3) as RoomsMessage).instances, []);

          bob.send({ op: 11, ref: 4, instance });
          const joined = await travel(bob, 4);
          assert.equal(joined.instance!.id, instance);
          await bob.waitFor("Bob sees Ann", () => bob.visible.has(moved.entity) || undefined);
          await ann.waitFor("Ann sees Bob", () => ann.visible.has(joined.entity) || undefined);
          assert.equal(ann.welcomes, 1);
          assert.equal(bob.welcomes, 1);
        },
      );

      await t.step("instance chat reaches the instance only", async () => {
        const carl = await connect("carl");
        ann.send({ op: 3, channel: "instance", text: "gl hf" });
        await bob.waitFor(
          "instance chat",
          () =>
            bob.messages.find((m) => m.op === 3 && m.text === "gl hf" && m.channel === "instance"),
        );
        carl.send({ op: 3, channel: "instance", text: "hello?" });
        await carl.waitFor(
          "NOT_ALLOWED",
          () => carl.errors.find((e) => e.code === "NOT_ALLOWED") ? true : undefined,
        );
        await alive(carl);
        assert.ok(!carl.messages.some((m) => m.op === 3 && m.text === "gl hf"));
      });

      await t.step(
        "leave puts players back where they left the world, with their data",
        async () => {
          const inWorld = ann.messages.findLast((m) => m.op === 15)!;
          ann.send({ op: 2, seq: 3, intent: { move: [0, 0], action: "score" } });
          await ann.waitFor(
            "score 3 in the instance",
            () => dataOf(ann, ann.entity!)?.score === 3 ? true : undefined,
          );
          assert.ok(inWorld);
          ann.send({ op: 12, ref: 5 });
          const back = await travel(ann, 5);
          assert.equal(back.place, "world");
          assert.equal(back.reason, "leave");
          assert.deepEqual(back.size, [400, 400]);
          const home = await fullDiffAfter(ann, ann.messages.indexOf(back));
          const at = home.enter.find((e) => e[0] === back.entity)!;
          assert.deepEqual([at[2], at[3]], [annWorld.x, annWorld.y], "where she left the world");
          assert.equal(dataOf(ann, back.entity)?.score, 3);
          assert.equal(dataOf(ann, back.entity)?.place, "world");
          await alive(ann);
          // Leaving again is not allowed: she is in the world.
          ann.send({ op: 12, ref: 6 });
          await refusal(ann, 6, "NOT_ALLOWED");
        },
      );

      await t.step("the last one out leaves it empty: destroyed after its grace", async () => {
        const leftAt = Date.now();
        bob.send({ op: 12, ref: 7 });
        await travel(bob, 7);
        const destroyed = await node.waitFor("instance.destroyed", 10_000);
        assert.equal(destroyed.instance, instance);
        assert.ok(Date.now() - leftAt >= GRACE_MS, "not before its grace");
        await node.waitFor("instance.disposed", 10_000);
        bob.send({ op: 11, ref: 8, instance });
        await refusal(bob, 8, "INSTANCE_NOT_FOUND");
        await alive(bob);
      });

      await t.step("quick-join fills instances to their max and opens new ones", async () => {
        const q = [await connect("q1"), await connect("q2"), await connect("q3")];
        const rooms: string[] = [];
        for (const [n, client] of q.entries()) {
          client.send({ op: 11, ref: 20 + n, mode: "duel" });
          rooms.push((await travel(client, 20 + n)).instance!.id);
        }
        assert.equal(rooms[0], rooms[1], "the second fills the first duel");
        assert.notEqual(rooms[2], rooms[0], "the third opens a new one");
        q[0].send({ op: 10, ref: 30, mode: "duel" });
        const listed = (await answer(q[0], 30) as RoomsMessage).instances;
        assert.deepEqual(listed.map((i) => i.players), [2, 1]);

        // Last seat of the second duel: two players race for it; exactly one wins.
        const [r1, r2] = [await connect("r1"), await connect("r2")];
        r1.send({ op: 11, ref: 40, instance: rooms[2] });
        r2.send({ op: 11, ref: 40, instance: rooms[2] });
        const [a1, a2] = [await answer(r1, 40), await answer(r2, 40)];
        const ops = [a1.op, a2.op].sort((a, b) => a - b);
        assert.deepEqual(ops, [8, 15], "one TRAVEL, one ERROR");
        const loser = a1.op === 8 ? a1 : a2;
        assert.equal((loser as ErrorMessage).code, "INSTANCE_FULL");
        await alive(a1.op === 8 ? r1 : r2);
        // A full instance refuses by id too.
        const late = await connect("late");
        late.send({ op: 11, ref: 41, instance: rooms[0] });
        await refusal(late, 41, "INSTANCE_FULL");
      });

      await t.step("bad requests get their documented code and the session goes on", async () => {
        const eve = await connect("eve");
        eve.send({ op: 9, ref: 50, mode: "nope" });
        await refusal(eve, 50, "UNKNOWN_MODE");
        eve.send({ op: 9, ref: 51, mode: "arena", options: { rounds: 99 } });
        assert.match((await refusal(eve, 51, "BAD_OPTIONS")).message, /rounds must be/);
        eve.send({ op: 9, ref: 52, mode: "arena", options: { pad: "x".repeat(2000) } });
        assert.match(
          (await refusal(eve, 52, "BAD_OPTIONS")).message,
          /more than the maximum of 1024/,
        );
        eve.send({ op: 9, ref: 53, mode: "duel", maxPlayers: 3 });
        await refusal(eve, 53, "BAD_OPTIONS");
        eve.send({ op: 11, ref: 54, mode: "duel", version: "0" });
        await refusal(eve, 54, "WRONG_VERSION");
        // Someone else's instance cannot be destroyed by Eve.
        const { instances } = await (async () => {
          eve.send({ op: 10, ref: 55, mode: "duel" });
          return await answer(eve, 55) as RoomsMessage;
        })();
        eve.send({ op: 13, ref: 56, instance: instances[0].id });
        await refusal(eve, 56, "NOT_ALLOWED");
        await alive(eve);
        assert.equal(eve.closedWith, undefined);
        assert.deepEqual(eve.problems, []);
      });

      await t.step("a create flood is rate-limited, and the session goes on", async () => {
        const flood = await connect("flood");
        for (let ref = 60; ref < 90; ref++) flood.send({ op: 9, ref, mode: "nope" });
        await flood.waitFor(
          "RATE_LIMITED",
          () => flood.messages.find((m) => m.op === 8 && m.code === "RATE_LIMITED"),
        );
        const refs = (code: string) =>
          flood.messages.filter((m) => m.op === 8 && m.code === code).length;
        await flood.waitFor(
          "30 answers",
          () => refs("RATE_LIMITED") + refs("UNKNOWN_MODE") === 30 ? true : undefined,
        );
        assert.ok(
          refs("UNKNOWN_MODE") <= 12,
          `burst of 10 (+ refill), got ${refs("UNKNOWN_MODE")}`,
        );
        await alive(flood);
      });

      await t.step(
        "a session resumed while in an instance is still in it, and can LEAVE",
        async () => {
          const pat = await connect("pat");
          pat.send({ op: 11, ref: 80, mode: "duel" });
          const inside = await travel(pat, 80);
          pat.close();
          await pat.closed;
          const again = new TestClient(`ws://127.0.0.1:${ready.port}/ws`, "json");
          clients.push(again);
          const welcome = await again.hello({ resumeToken: inside.resumeToken });
          assert.equal(welcome.resumed, true);
          assert.equal(welcome.entity, inside.entity, "the TRAVEL's token names the new entity");
          await again.waitFor("full DIFF", () => again.messages.find((m) => m.op === 6));
          // The directory knows the session is in an instance, whichever gateway resumed it.
          again.send({ op: 12, ref: 81 });
          assert.equal((await travel(again, 81)).place, "world");
          await alive(again);
        },
      );

      await t.step("the owner destroys an instance: everyone in it travels home", async () => {
        const [o1, o2] = [await connect("o1"), await connect("o2")];
        o1.send({ op: 9, ref: 70, mode: "arena" });
        const made = await travel(o1, 70);
        o2.send({ op: 11, ref: 71, instance: made.instance!.id });
        await travel(o2, 71);
        o1.send({ op: 13, ref: 72, instance: made.instance!.id });
        const rows = await answer(o1, 72) as RoomsMessage;
        assert.equal(rows.op, 14);
        for (const client of [o1, o2]) {
          const home = await client.waitFor(
            "TRAVEL home",
            () =>
              client.messages.find((m) => m.op === 15 && m.reason === "destroyed") as
                | TravelMessage
                | undefined,
          );
          assert.equal(home.place, "world");
          await fullDiffAfter(client, client.messages.indexOf(home));
          await alive(client);
        }
      });

      await t.step(
        "bots --scenario instances: quick-join, stay, leave, again, without errors",
        async () => {
          const report = await runBotSwarm(parseBotArgs([
            "--role=bots",
            "--gateway",
            base,
            "--clients",
            "6",
            "--duration",
            "4",
            "--ramp",
            "0.5",
            "--scenario",
            "instances",
            "--mode",
            "duel",
            "--stay",
            "0.5",
          ]));
          assert.equal(report.connected, 6);
          assert.ok(report.rooms, "the report has the instances figures");
          assert.ok(
            report.rooms.joins >= 6,
            `every bot joined at least once: ${report.rooms.joins}`,
          );
          assert.ok(report.rooms.leaves >= 1);
          assert.equal(report.rooms.joinMs.samples, report.rooms.joins);
          assert.deepEqual(report.rooms.failed, {});
          assert.equal(report.errors.total, 0, JSON.stringify(report.errors));
        },
      );

      for (const [n, client] of clients.entries()) {
        assert.deepEqual(client.problems, [], `the DIFF stream of client ${n} stays consistent`);
      }
    } finally {
      for (const client of clients) client.close();
      await node.stop();
      Deno.removeSync(config);
    }
  },
});
