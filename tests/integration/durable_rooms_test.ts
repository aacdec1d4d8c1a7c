// Rooms survive the coordinator, with real processes (a coordinator with a state file, two
// workers, a gateway, examples/rooms.ts): instances created over the client protocol, kill -9
// of the coordinator, a restart → SEARCH finds the same instances with the same seats, a second
// player joins one while the player inside keeps playing, a full one stays full, new ids never
// repeat; a pair's standby has the same directory after its takeover; and a state file whose
// instance records are damaged stops start-up with one STATE_INVALID line, exit status 2.
import assert from "node:assert/strict";
import { DatabaseSync } from "node:sqlite";
import type { RoomRow, RoomsMessage, TravelMessage } from "../../src/protocol/client_protocol.ts";
import { type ClusterState, startCluster } from "../../testing/cluster.ts";
import { getJson, TEST_SECRET, until } from "../../testing/node_process.ts";
import { guestToken, TestClient } from "../../testing/ws_client.ts";

const CONFIG = {
  minWorkers: 2,
  heartbeatMs: 250,
  workerTimeoutMs: 1_000,
  standbyTakeoverMs: 1_500,
  rebalance: { enabled: false },
  instances: { emptyGraceMs: 60_000 },
  game: { module: "examples/rooms.ts", options: {} },
};
const ROOT = new URL("../../", import.meta.url).pathname;

type Cluster = Awaited<ReturnType<typeof startCluster>>;
type State = ClusterState & {
  gateways: unknown[];
  coordinator: { index: number; role: string; standby?: { lag: number } };
};

/** Coordinator `slot`'s /api/state. */
const stateAt = (cluster: Cluster, slot: number) =>
  cluster.stateAt(slot) as Promise<ClusterState> as Promise<State>;
type Frame = { op: number; ref?: number; code?: string };

/** The answer (TRAVEL, ROOMS or ERROR) to the request numbered `ref`. */
function answer(client: TestClient, ref: number): Promise<Frame> {
  return client.waitFor(
    `answer to ref ${ref}`,
    () =>
      client.messages.find((m) =>
        (m.op === 15 || m.op === 14 || m.op === 8) && (m as Frame).ref === ref
      ) as Frame | undefined,
  );
}

async function travel(client: TestClient, ref: number): Promise<TravelMessage> {
  const reply = await answer(client, ref);
  assert.equal(reply.op, 15, `TRAVEL for ref ${ref}, got ${JSON.stringify(reply)}`);
  return reply as unknown as TravelMessage;
}

async function search(client: TestClient, ref: number): Promise<RoomRow[]> {
  client.send({ op: 10, ref, limit: 100 });
  const reply = await answer(client, ref);
  assert.equal(reply.op, 14, `ROOMS for ref ${ref}, got ${JSON.stringify(reply)}`);
  return (reply as unknown as RoomsMessage).instances;
}

async function connect(cluster: Cluster, name: string, into: TestClient[]) {
  const gateway = cluster.gateways[0];
  const client = new TestClient(`${gateway.replace("http://", "ws://")}/ws`, "json");
  into.push(client);
  await client.hello({ token: await guestToken(gateway, name) });
  await client.waitFor("first DIFF", () => client.messages.find((m) => m.op === 6));
  return client;
}

/** Every instance as the operator's API lists it, without the fields that grow with time. */
async function directoryAt(cluster: Cluster, slot: number) {
  const page = await getJson<{ instances: Array<Record<string, unknown>>; users: number }>(
    `http://127.0.0.1:${cluster.slots[slot].httpPort}/api/instances?limit=100`,
  );
  return {
    users: page.users,
    instances: page.instances.map(({ ageMs: _a, emptyMs: _e, ...rest }) => rest),
  };
}

/** Ann in an arena (she keeps walking), Cat and Dan filling a duel: three seats in two rooms. */
async function seatPlayers(cluster: Cluster, clients: TestClient[]) {
  const [ann, cat, dan] = [
    await connect(cluster, "ann", clients),
    await connect(cluster, "cat", clients),
    await connect(cluster, "dan", clients),
  ];
  ann.send({ op: 9, ref: 1, mode: "arena", options: { rounds: 2 }, tags: ["eu"] });
  const arena = (await travel(ann, 1)).instance!.id;
  ann.walk(10);
  cat.send({ op: 9, ref: 1, mode: "duel", tags: ["eu", "ranked"], private: false });
  const duel = (await travel(cat, 1)).instance!.id;
  dan.send({ op: 11, ref: 1, instance: duel });
  await travel(dan, 1);
  return { ann, arena, duel };
}

Deno.test({
  name: "kill -9 of the coordinator and a restart keep every instance, its seats and its owner",
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    const cluster = await startCluster(CONFIG, {
      workers: 2,
      gateways: 1,
      parallel: true,
      durable: true,
      entities: false,
    });
    const clients: TestClient[] = [];
    try {
      const { ann, arena, duel } = await seatPlayers(cluster, clients);
      const eve = await connect(cluster, "eve", clients);
      const before = await search(eve, 1);
      assert.deepEqual(
        before.map((r) => [r.id, r.mode, r.players, r.maxPlayers]),
        [[arena, "arena", 1, 4], [duel, "duel", 2, 2]],
      );
      const directoryBefore = await directoryAt(cluster, 0);
      const [arenaRow, duelRow] = directoryBefore.instances;
      assert.deepEqual(arenaRow.users, [arenaRow.owner], "Ann owns the arena and sits in it");
      assert.equal((duelRow.users as string[]).length, 2);

      assert.ok(cluster.coordinator.signal("SIGKILL"));
      await until(
        "the coordinator to be gone",
        () => Promise.resolve(cluster.coordinator.exitStatus !== undefined || undefined),
      );
      // No coordinator: rooms requests are refused, the player in the instance plays on.
      const atKill = ann.diffs;
      eve.send({ op: 10, ref: 9 });
      assert.equal((await answer(eve, 9)).code, "UNAVAILABLE");
      await ann.waitFor("DIFFs with no coordinator", () => ann.diffs >= atKill + 20 || undefined);
      await cluster.restartCoordinator();
      await until("the workers and the gateway on the restarted coordinator", async () => {
        const s = await stateAt(cluster, 0);
        return s.workers.length === 2 && s.workers.every((w) => w.epoch === s.epoch) &&
            s.gateways.length === 1 || undefined;
      });

      // The same instances, seats, owners, options, workers and creation times.
      assert.deepEqual(await search(eve, 2), before, "SEARCH finds the same instances");
      assert.deepEqual(await directoryAt(cluster, 0), directoryBefore, "the same directory");
      // Ann kept playing inside her instance through it all, on the same connection.
      const diffs = ann.diffs;
      await ann.waitFor("DIFFs after the restart", () => ann.diffs >= diffs + 20 || undefined);
      // A second player joins her arena; both see each other.
      eve.send({ op: 11, ref: 3, instance: arena });
      const joined = await travel(eve, 3);
      assert.equal(joined.instance!.players, 2, "Ann's seat was kept: Eve takes the second");
      await eve.waitFor("Eve sees Ann", () => eve.visible.has(ann.entity!) || undefined);
      await ann.waitFor("Ann sees Eve", () => ann.visible.has(joined.entity) || undefined);
      // The duel's two seats are still taken.
      const bob = await connect(cluster, "bob", clients);
      bob.send({ op: 11, ref: 1, instance: duel });
      assert.equal((await answer(bob, 1)).code, "INSTANCE_FULL");
      // A new instance gets an id none had.
      bob.send({ op: 9, ref: 2, mode: "duel" });
      const fresh = (await travel(bob, 2)).instance!.id;
      assert.ok(!before.some((r) => r.id === fresh), `${fresh} is new`);
      for (const c of [ann, eve, bob]) {
        assert.equal(c.closeEvent, undefined, "no connection lost");
        assert.equal(c.welcomes, 1, "no second WELCOME");
      }
      assert.deepEqual(ann.problems, [], "Ann's stream is consistent");

      // Bad input: the instance records of the state file damaged → one line, exit status 2.
      assert.ok(cluster.coordinator.signal("SIGKILL"));
      await until(
        "the coordinator to be gone again",
        () => Promise.resolve(cluster.coordinator.exitStatus !== undefined || undefined),
      );
      const path = cluster.slots[0].statePath!;
      const db = new DatabaseSync(path);
      const damaged = db.prepare(
        `UPDATE log SET change = json_set(change, '$.instance.players', 'ann')
         WHERE json_extract(change, '$.kind') = 'instance'`,
      ).run().changes;
      db.close();
      assert.ok(Number(damaged) >= 3, `${damaged} instance entries damaged`);
      const output = await new Deno.Command(Deno.execPath(), {
        args: [
          "run",
          "-A",
          `${ROOT}main.ts`,
          "--role=coordinator",
          "--config",
          cluster.config,
          "--port",
          "0",
          "--grpc-port",
          "0",
          "--coordinator-state",
          path,
        ],
        cwd: ROOT,
        stdin: "null",
        env: { ZS_SECRET: TEST_SECRET },
        signal: AbortSignal.timeout(30_000),
      }).output();
      const stderr = new TextDecoder().decode(output.stderr).split("\n").filter((l) => l !== "");
      assert.equal(output.code, 2, stderr.join(" | "));
      assert.equal(stderr.length, 1, stderr.join(" | "));
      assert.match(
        stderr[0],
        /^zonescaler: cannot start coordinator: STATE_INVALID: coordinator state .*: log entry \d+: instance\.players: expected an array$/,
      );
    } finally {
      for (const c of clients) c.close();
      await cluster.close();
    }
  },
});

Deno.test({
  name: "a standby that takes over has the same instances, seats and users as the active had",
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    const cluster = await startCluster(CONFIG, {
      workers: 2,
      gateways: 1,
      parallel: true,
      standby: true,
      entities: false,
    });
    const clients: TestClient[] = [];
    try {
      const { ann, arena } = await seatPlayers(cluster, clients);
      const before = await directoryAt(cluster, 0);
      assert.equal(before.instances.length, 2);
      await until("the standby to be caught up", async () => {
        const [a, b] = [await stateAt(cluster, 0), await stateAt(cluster, 1)];
        return a.coordinator.standby?.lag === 0 && b.coordinator.index === a.coordinator.index ||
          undefined;
      });
      assert.ok(cluster.slots[0].process.signal("SIGKILL"));
      await until("the standby to be active with both workers on it", async () => {
        const s = await stateAt(cluster, 1);
        return s.coordinator.role === "active" && s.workers.length === 2 &&
            s.workers.every((w) => w.epoch === s.epoch) && s.gateways.length === 1 || undefined;
      }, 15_000);
      assert.deepEqual(await directoryAt(cluster, 1), before, "the same directory after takeover");
      // Through the new active, a second player joins Ann's arena and she keeps playing.
      const eve = await connect(cluster, "eve", clients);
      eve.send({ op: 11, ref: 1, instance: arena });
      assert.equal((await travel(eve, 1)).instance!.players, 2);
      const diffs = ann.diffs;
      await ann.waitFor("DIFFs after the takeover", () => ann.diffs >= diffs + 10 || undefined);
      await ann.waitFor("Ann sees Eve", () => ann.visible.has(eve.entity!) || undefined);
      assert.equal(ann.closeEvent, undefined);
      assert.equal(ann.welcomes, 1);
    } finally {
      for (const c of clients) c.close();
      await cluster.close();
    }
  },
});
