// A deploy under bots in the open world and in rooms, with real processes: new rooms go to the
// new version once it is live, rooms started on the old version finish there (a player holding
// one keeps it through the gateway hand-over), and only then do the old workers drain and exit 0;
// no NPC and no session is lost on the way.
import assert from "node:assert/strict";
import { type ClusterState, NPCS, startCluster } from "../../testing/cluster.ts";
import { getJson, type NodeProcess, until } from "../../testing/node_process.ts";
import { assertCensus, settledCensus } from "../../testing/audit.ts";
import { guestToken, TestClient } from "../../testing/ws_client.ts";
import { BotClient } from "../../src/client/bot_client.ts";
import { BotMetrics, buildReport } from "../../src/client/bot_report.ts";
import { mulberry32 } from "../../src/sim/random.ts";
import {
  Op,
  type RedirectMessage,
  type ServerMessage,
  type TravelMessage,
} from "../../src/protocol/client_protocol.ts";

const A = "0.1.0", B = "0.2.0";

interface DeployState {
  live: string;
  versions: Array<
    { version: string; state: string; changedAt: number; cells: number; instances: number }
  >;
}
interface InstancesPage {
  instances: Array<{ id: string; worker: string; players: number; createdAt: number }>;
}

const workerUrls = (state: ClusterState) =>
  new Map(state.workers.map((w) => [w.id, `http://${w.httpAddress}`]));

/** Waits until `process` exits by itself and asserts status 0. */
async function exitsZero(process: NodeProcess): Promise<void> {
  const status = await process.stop("SIGCONT", 30_000);
  assert.equal(status.code, 0, `${process.name}: ${process.stderr.slice(-5).join("\n")}`);
}

/** The TRAVEL answering request `ref`. */
function travel(client: TestClient, ref: number): Promise<TravelMessage> {
  return client.waitFor(
    `TRAVEL for ref ${ref}`,
    () =>
      client.messages.find((m): m is TravelMessage =>
        m.op === Op.TRAVEL && (m as TravelMessage).ref === ref
      ),
  );
}

const destroyedUnder = (messages: ServerMessage[]) =>
  messages.filter((m) => m.op === Op.TRAVEL && (m as TravelMessage).reason === "destroyed");

Deno.test({
  name: "a deploy under bots in the world and in rooms: new rooms land on the new version, " +
    "rooms started on the old one finish there before its workers exit 0, nothing is lost",
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    const cluster = await startCluster({
      rebalance: { enabled: false },
      deploy: { cellsPerSecond: 8, sessionsPerSecond: 50 },
      instances: { emptyGraceMs: 500, maxPlayers: 8 },
      game: {
        module: "tests/integration/fixtures/demo_rooms.ts",
        options: { npcs: NPCS, speed: 60, bumpRadius: 8, bumpCooldownTicks: 5, seed: 3 },
      },
    }, { workers: 2, gateways: 1, parallel: true });
    const random = mulberry32(1818);
    const metrics = new BotMetrics(random);
    const bot = (gateway: string, name: string, rooms: boolean) =>
      new BotClient({
        gateway: new URL(gateway),
        name,
        format: "msgpack",
        rateHz: 10,
        pingMs: 2_000,
        timeoutMs: 10_000,
        metrics,
        random,
        ...(rooms ? { rooms: { mode: "duel", stayMs: 1_500, pauseMs: 500 } } : {}),
      });
    const g1 = cluster.gateways[0];
    const clients = [
      ...Array.from({ length: 4 }, (_, i) => bot(g1, `walker-${i + 1}`, false)),
      ...Array.from({ length: 4 }, (_, i) => bot(g1, `roomer-${i + 1}`, true)),
    ];
    const late: BotClient[] = [];
    const holders: TestClient[] = [];
    const deployState = () => getJson<DeployState>(`${cluster.api}/api/deploys`, 5_000);
    const instances = () =>
      getJson<InstancesPage>(`${cluster.api}/api/instances?limit=100`, 5_000).then((p) =>
        p.instances
      );
    try {
      await Promise.all(clients.map((b) => b.start()));
      assert.equal(metrics.connected, clients.length, JSON.stringify(metrics.failedConnects));
      // A player holds a private arena on version A through the whole deploy.
      const holder = new TestClient(`ws://${new URL(g1).host}/ws`);
      holders.push(holder);
      await holder.hello({ token: await guestToken(g1, "holder") });
      holder.send({ op: Op.CREATE, ref: 1, mode: "arena", private: true });
      const created = await travel(holder, 1);
      const room = created.instance!.id;
      const host = (await instances()).find((i) => i.id === room)!.worker;
      assert.ok(host === "w1" || host === "w2", `the arena is on version A, on ${host}`);
      await until("the bots in duels", async () => {
        const list = await instances();
        return list.filter((i) => i.id !== room).length >= 1 ? true : undefined;
      }, 15_000);
      const before = await settledCensus(workerUrls(await cluster.state()));
      const npcs = [...before.held].filter((id) => id <= NPCS);
      assert.equal(npcs.length, NPCS, "every NPC is held before the deploy");

      const w3 = await cluster.startWorker("w3", { ZS_VERSION: B });
      const w4 = await cluster.startWorker("w4", { ZS_VERSION: B });
      const g2 = await cluster.startGateway(2, { ZS_VERSION: B });
      const started = await cluster.post("/api/deploys", { version: B });
      assert.equal(started.status, 202, await started.clone().text());
      await started.body?.cancel();
      const live = await until("B live and every cell on B", async () => {
        const d = await deployState();
        const s = await cluster.state();
        return d.live === B && s.map.owners.every((o) => o === "w3" || o === "w4")
          ? { d, s }
          : undefined;
      }, 30_000);
      const liveAt = live.d.versions.find((v) => v.version === B)!.changedAt;

      // New logins land on B; their rooms too, and quick-joins fill no room of A any more.
      const listed = await getJson<{ gateways: Array<{ url: string }> }>(`${g2}/gateways`);
      assert.deepEqual(listed.gateways.map((g) => g.url), [`ws://${new URL(g2).host}/ws`]);
      late.push(bot(g2, "late-1", true), bot(g2, "late-2", true));
      await Promise.all(late.map((b) => b.start()));
      assert.equal(metrics.connected, clients.length + late.length);
      const joinsAtLive = metrics.rooms.joins;
      await until(
        "rooms joined since B went live",
        () => Promise.resolve(metrics.rooms.joins >= joinsAtLive + 6 ? true : undefined),
        20_000,
      );
      for (const i of await instances()) {
        if (i.worker === "w3" || i.worker === "w4") continue;
        assert.ok(
          i.createdAt <= liveAt,
          `instance ${i.id} on ${i.worker} was created after B went live`,
        );
      }
      assert.ok(
        (await instances()).some((i) => i.worker === "w3" || i.worker === "w4"),
        "rooms run on B",
      );

      // The holder was handed to B's gateway and still holds its arena on A's worker, which
      // owns no cell and has not left.
      const redirect = await holder.waitFor(
        "REDIRECT",
        () => holder.messages.find((m): m is RedirectMessage => m.op === Op.REDIRECT),
        20_000,
      );
      const resumed = new TestClient(redirect.url);
      holders.push(resumed);
      await resumed.hello({ resumeToken: created.resumeToken });
      const held = (await instances()).find((i) => i.id === room);
      assert.deepEqual(
        { worker: held?.worker, players: held?.players },
        { worker: host, players: 1 },
        "the arena started on A runs on A",
      );
      assert.equal(cluster.processOf(host).exitStatus, undefined, `${host} hosts the arena`);
      const old = (await deployState()).versions.find((v) => v.version === A)!;
      assert.deepEqual(
        { state: old.state, cells: old.cells },
        { state: "draining", cells: 0 },
      );
      assert.ok(old.instances >= 1, `A still hosts the arena: ${JSON.stringify(old)}`);

      // The holder leaves: the arena ends on A, then A's workers drain and exit 0.
      resumed.send({ op: Op.LEAVE, ref: 2 });
      assert.equal((await travel(resumed, 2)).place, "world");
      const other = host === "w1" ? "w2" : "w1";
      await Promise.all([
        exitsZero(cluster.processOf(host)),
        exitsZero(cluster.processOf(other)),
        exitsZero(cluster.processOf("g1")),
      ]);
      assert.deepEqual(
        [...destroyedUnder(holder.messages), ...destroyedUnder(resumed.messages)],
        [],
        "the arena was never destroyed under its player",
      );
      // Every room of A ended because it was empty, none because its worker left.
      const ended = cluster.coordinator.lines.filter((l) => l.event === "instance.destroyed");
      assert.ok(ended.some((l) => l.instance === room && l.why === "empty"), "the arena ended");
      assert.deepEqual(ended.filter((l) => l.why !== "empty"), []);
      const after = await until("A retired", async () => {
        const d = await deployState();
        return d.versions.find((v) => v.version === A)?.state === "retired" ? d : undefined;
      }, 15_000);
      assert.equal(after.versions.find((v) => v.version === A)?.instances, 0);
      assertCensus(
        await settledCensus(workerUrls(await cluster.state()), npcs),
        "after the deploy",
      );

      await Promise.all([...clients, ...late].map((b) => b.close()));
      const report = buildReport(metrics, {
        clients: clients.length + late.length,
        durationSeconds: 1,
        connectedSeconds: 1,
        botCpuPercent: 0,
        rooms: true,
      });
      assert.equal(report.redirects, clients.length, "every first bot was handed over once");
      assert.deepEqual(
        { lost: report.lostSessions, errors: report.errors, refused: metrics.rooms.failed },
        {
          lost: 0,
          errors: { total: 0, frames: {}, closes: {}, connects: {}, protocol: {} },
          refused: {},
        },
        "the bots played on, in the world and in rooms",
      );
      for (const w of [w3, w4]) assert.equal(w.exitStatus, undefined, `${w.name} still runs`);
    } finally {
      for (const h of holders) h.close();
      await Promise.all([...clients, ...late].map((b) => b.close()));
      await cluster.close();
    }
  },
});
