// Rooms that outlive their worker, with real processes (a coordinator, three workers, a gateway,
// examples/rooms.ts): two players in an arena (its flag spawned by onCreate), the operator
// moves it to another worker, then SIGTERM of its worker drains it onto a third, then kill -9
// of that one fails it over to the backup that mirrored it. At each step the same entities
// (ids, types) live on exactly one worker, the directory names that worker, and both players
// keep their session and connection and receive DIFFs with no tick missing beyond those the
// workers declared missed. Bad move requests get their codes.
import assert from "node:assert/strict";
import type { TravelMessage } from "../../src/protocol/client_protocol.ts";
import { startCluster } from "../../testing/cluster.ts";
import { getJson, OPERATOR_HEADERS, until } from "../../testing/node_process.ts";
import { guestToken, TestClient } from "../../testing/ws_client.ts";
import { assertNoMissedTick } from "../../testing/missed_ticks.ts";

const CONFIG = {
  minWorkers: 3,
  heartbeatMs: 250,
  workerTimeoutMs: 1_000,
  faultTolerance: { mode: "replica", replicationTicks: 2 },
  rebalance: { enabled: false },
  instances: { emptyGraceMs: 60_000 },
  game: { module: "examples/rooms.ts", options: {} },
};

type Cluster = Awaited<ReturnType<typeof startCluster>>;
interface InstanceView {
  host: string;
  owned: number[];
  players: number[];
  mirrored: number;
}
interface WorkerView {
  id: string;
  instances: Record<string, InstanceView>;
}

/** Each live worker's own view of instance `id`, by worker. */
async function views(cluster: Cluster, id: string): Promise<Map<string, InstanceView>> {
  const state = await cluster.state();
  const out = new Map<string, InstanceView>();
  for (const w of state.workers) {
    if (w.state === "down" || w.state === "fenced") continue;
    try {
      const view = await getJson<WorkerView>(`http://${w.httpAddress}/api/state`);
      if (view.instances[id]) out.set(w.id, view.instances[id]);
    } catch {
      // A worker that just exited (drained) is no host.
    }
  }
  return out;
}

/** The directory's worker for instance `id` (/api/instances). */
async function directoryWorker(cluster: Cluster, id: string): Promise<string | undefined> {
  const page = await getJson<{ instances: Array<{ id: string; worker: string }> }>(
    `${cluster.api}/api/instances?limit=100`,
  );
  return page.instances.find((i) => i.id === id)?.worker;
}

/**
 * Waits until `host` alone owns instance `id`, with exactly `entities` (sorted ids), nothing
 * in flight, and the directory naming it.
 */
async function hostedBy(cluster: Cluster, id: string, host: string, entities: number[]) {
  let seen = "";
  try {
    await until(`instance ${id} on ${host} alone`, async () => {
      const all = await views(cluster, id);
      seen = JSON.stringify([...all]);
      const owners = [...all].filter(([, v]) => v.owned.length > 0);
      if (owners.length !== 1 || owners[0][0] !== host) return undefined;
      if (await directoryWorker(cluster, id) !== host) return undefined;
      return [...owners[0][1].owned].sort((a, b) => a - b).join() === entities.join() || undefined;
    }, 15_000);
  } catch (error) {
    throw new Error(`${(error as Error).message}; workers' views: ${seen}`, { cause: error });
  }
}

/** Both players received `more` DIFFs since `marks`, on their first connection. */
async function bothPlay(players: TestClient[], more = 20) {
  const marks = players.map((p) => p.diffs);
  for (const [n, p] of players.entries()) {
    await p.waitFor(`${more} more DIFFs`, () => p.diffs >= marks[n] + more || undefined);
    assert.equal(p.welcomes, 1, "no second WELCOME: the same session");
    assert.equal(p.closedWith, undefined, "the same connection");
    assert.deepEqual(p.problems, [], "a consistent stream");
  }
}

async function post(cluster: Cluster, path: string, body: unknown, headers = OPERATOR_HEADERS) {
  const response = await fetch(`${cluster.api}${path}`, {
    method: "POST",
    headers,
    body: JSON.stringify(body),
  });
  return { status: response.status, body: await response.json() };
}

Deno.test({
  name:
    "a room moves live, drains with its worker and fails over to its backup; its players play on",
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    const cluster = await startCluster(CONFIG, {
      workers: 3,
      gateways: 1,
      parallel: true,
      entities: false,
    });
    const players: TestClient[] = [];
    try {
      const gateway = cluster.gateways[0];
      for (const name of ["ann", "bob"]) {
        const client = new TestClient(`${gateway.replace("http://", "ws://")}/ws`, "json");
        players.push(client);
        await client.hello({ token: await guestToken(gateway, name) });
      }
      const [ann, bob] = players;
      ann.send({ op: 9, ref: 1, mode: "arena", options: { rounds: 2 } });
      const room = (await ann.waitFor("TRAVEL", () =>
        ann.messages.find((m) => m.op === 15)) as TravelMessage).instance!.id;
      bob.send({ op: 11, ref: 1, instance: room });
      await bob.waitFor("TRAVEL", () =>
        bob.messages.find((m) => m.op === 15));
      for (const p of players) p.walk(10);
      await bothPlay(players, 10);
      const first = (await directoryWorker(cluster, room))!;
      const start = (await views(cluster, room)).get(first)!;
      const entities = [...start.owned].sort((a, b) => a - b);
      assert.equal(entities.length, 3, "two players and the arena's flag");
      assert.deepEqual(
        [...start.players].sort(),
        [ann.entity, bob.entity].sort(),
        "the players' entities",
      );

      // --- Bad move requests: each has its code, nothing moves ---
      const path = `/api/instances/${room}/move`;
      assert.equal((await post(cluster, path, { worker: "w1" }, {})).status, 401);
      const unknown = await post(cluster, "/api/instances/i404/move", { worker: "w1" });
      assert.deepEqual([unknown.status, unknown.body.error.code], [404, "INSTANCE_NOT_FOUND"]);
      const noWorker = await post(cluster, path, { worker: "w9" });
      assert.deepEqual([noWorker.status, noWorker.body.error.code], [404, "NOT_FOUND"]);
      const longId = await post(cluster, `/api/instances/${"i".repeat(65)}/move`, { worker: "w1" });
      assert.deepEqual([longId.status, longId.body.error.code], [400, "BAD_REQUEST"]);
      const badKey = await post(cluster, path, { to: "w1" });
      assert.deepEqual([badKey.status, badKey.body.error.code], [400, "BAD_REQUEST"]);
      const same = await post(cluster, path, { worker: first });
      assert.deepEqual([same.status, same.body.error.code], [409, "CONFLICT"]);
      assert.equal(await directoryWorker(cluster, room), first);

      // --- The operator moves it: one transfer, the same entities on the new worker ---
      const second = ["w1", "w2", "w3"].find((w) => w !== first)!;
      const moved = await post(cluster, path, { worker: second });
      assert.equal(moved.status, 202, JSON.stringify(moved.body));
      assert.deepEqual([moved.body.from, moved.body.to], [first, second]);
      await hostedBy(cluster, room, second, entities);
      await bothPlay(players);
      // One transfer per cell of the room (200 × 200 in cells of 100), all in one tick.
      const accepted = cluster.processOf(second).lines.filter((l) =>
        l.event === "migration.accepted" && l.instance === room
      );
      assert.deepEqual(accepted.map((l) => l.from), [first, first, first, first]);
      assert.equal(accepted.reduce((n, l) => n + Number(l.entities), 0), 3);
      assert.equal(new Set(accepted.map((l) => l.tick)).size, 1, "taken over at one tick");
      for (const l of accepted) {
        assert.ok(Number(l.ticksMissed) <= 1, `paused ≤ one tick: ${l.ticksMissed}`);
      }

      // --- SIGTERM of its worker: the drain takes the room to a third worker first ---
      const status = await cluster.processOf(second).stop("SIGTERM");
      assert.equal(status.code, 0, "the drained worker exits cleanly");
      const third = (await directoryWorker(cluster, room))!;
      assert.notEqual(third, second);
      await hostedBy(cluster, room, third, entities);
      await bothPlay(players);

      // --- kill -9 of that worker: its backup promotes its mirror of the room ---
      const survivor = ["w1", "w2", "w3"].find((w) => w !== second && w !== third)!;
      await until(
        "the room mirrored on the survivor",
        async () => (await views(cluster, room)).get(survivor)?.mirrored === 3 || undefined,
      );
      // Until now no tick went missing but those the workers declared (none, usually).
      for (const p of players) assertNoMissedTick(p, cluster.workers);
      const gapsBefore = players.map((p) => p.gaps.length);
      assert.ok(cluster.processOf(third).signal("SIGKILL"));
      await hostedBy(cluster, room, survivor, entities);
      await bothPlay(players);
      // The death costs one gap, within the failover's promise: DIFFs again within 2 s (40 ticks).
      for (const [n, p] of players.entries()) {
        const gaps = p.gaps.slice(gapsBefore[n]);
        assert.ok(gaps.length <= 1, `one gap at most: ${JSON.stringify(gaps)}`);
        for (const [before, after] of gaps) assert.ok(after - before <= 40, `${before} → ${after}`);
      }
    } finally {
      for (const p of players) p.close();
      await cluster.close();
    }
  },
});
