// The coordinator survives (issue 13), with real processes: a coordinator with a state file,
// three workers, a gateway, NPCs and walking players. kill -9 of the coordinator, a restart
// with the same config: the same owners of every cell and the same backups under a higher
// epoch, no worker re-registered as a new spare, no entity lost, no player's session lost; and
// the world went on ticking and players chatting while no coordinator ran. Then the bad inputs of start-up: a
// damaged state file stops it with one line and exit status 2.
import assert from "node:assert/strict";
import { assertCensus, settledCensus } from "../../testing/audit.ts";
import { type ClusterState, startCluster } from "../../testing/cluster.ts";
import { TEST_SECRET, testGrid, until } from "../../testing/node_process.ts";
import { StateStore } from "../../src/cluster/state_store.ts";
import { emptyState } from "../../src/cluster/durable_state.ts";
import { guestToken, TestClient } from "../../testing/ws_client.ts";

const PLAYERS = 8;
const NPCS = 200;
const CONFIG = {
  minWorkers: 3,
  heartbeatMs: 250,
  workerTimeoutMs: 1_000,
  faultTolerance: { mode: "replica", replicationTicks: 2 },
  rebalance: { enabled: false },
  game: { npcs: NPCS, speed: 40, bumpRadius: 8, bumpCooldownTicks: 5, seed: 7 },
};

type Cluster = Awaited<ReturnType<typeof startCluster>>;

const ws = (base: string) => `${base.replace("http://", "ws://")}/ws`;

function workerUrls(state: ClusterState): Map<string, string> {
  return new Map(state.workers.map((w) => [w.id, `http://${w.httpAddress}`]));
}

async function joinPlayers(cluster: Cluster, into: TestClient[]): Promise<void> {
  const gateway = cluster.gateways[0];
  for (let i = 0; i < PLAYERS; i++) {
    const player = new TestClient(ws(gateway));
    into.push(player);
    await player.hello({ token: await guestToken(gateway, `player-${i + 1}`) });
    player.walk(10);
  }
  for (const p of into) await p.waitFor("DIFFs", () => p.diffs >= 10 || undefined);
}

/** What must come back unchanged: owners of every cell, backups, who is what, the gateways. */
function mapOf(s: ClusterState & { backups?: unknown; gateways?: Array<{ id: string }> }) {
  return {
    owners: s.map.owners,
    backups: s.backups,
    workers: s.workers.map((w) => `${w.id}:${w.state}:${w.grpcAddress}`).sort(),
    gateways: (s.gateways ?? []).map((g) => g.id),
  };
}

Deno.test({
  name: "kill -9 of a lone coordinator and a restart keep the map, the entities and the sessions",
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    const cluster = await startCluster(CONFIG, {
      workers: 3,
      gateways: 1,
      parallel: true,
      durable: true,
    });
    const players: TestClient[] = [];
    try {
      // A moved cell first: the map is no longer the one a fresh start would cut.
      const initial = await cluster.state();
      const from = initial.map.owners[0];
      const to = initial.workers.find((w) => w.id !== from)!.id;
      const moved = await cluster.post("/api/cells/0/move", { to });
      assert.equal(moved.status, 202, await moved.text());
      await until("the move to finish", async () => {
        const s = await cluster.state();
        return s.migrations.length === 0 && s.map.owners[0] === to || undefined;
      });
      await joinPlayers(cluster, players);
      const before = await cluster.state();
      const census = await settledCensus(workerUrls(before));
      assertCensus(census, "before the kill");
      assert.equal(census.held.size, NPCS + PLAYERS, "every entity is owned");

      assert.ok(cluster.coordinator.signal("SIGKILL"));
      const killedAt = Date.now();
      await until(
        "the coordinator to be gone",
        () => Promise.resolve(cluster.coordinator.exitStatus !== undefined || undefined),
      );
      // The data plane needs no coordinator: every player receives DIFFs while none runs.
      const diffsAtKill = players.map((p) => p.diffs);
      await until(
        "every player to receive 20 DIFFs with no coordinator",
        () => Promise.resolve(players.every((p, i) => p.diffs >= diffsAtKill[i] + 20) || undefined),
      );
      assert.equal(cluster.coordinator.exitStatus!.signal, "SIGKILL");
      // Chat between players of the same gateway goes on too.
      players[0].send({ op: 3, channel: "global", text: "no coordinator, still talking" });
      const heard = await players[1].waitFor(
        "a chat line while no coordinator runs",
        () => players[1].messages.find((m) => m.op === 3 && m.text.startsWith("no coordinator")),
      );
      assert.equal(heard.op === 3 && heard.from, "player-1");

      await cluster.restartCoordinator();
      const after = await until("every worker reporting to the restarted coordinator", async () => {
        const s = await cluster.state();
        const reporting = s.workers.every((w) => w.state === "active" && w.entities > 0);
        return reporting && s.workers.length === 3 ? s : undefined;
      });
      assert.deepEqual(mapOf(after), mapOf(before), "the same map, backups, workers, gateways");
      assert.ok(after.epoch > before.epoch, `epoch ${after.epoch} after ${before.epoch}`);
      const since = after.events.filter((e) => Number(e.time) >= killedAt);
      const restored = since.find((e) => e.kind === "coordinator.restored");
      assert.equal(restored?.storedEpoch, before.epoch, "it loaded the last announced epoch");
      const reassigning = since.filter((e) =>
        ["worker.joined", "worker.rejoined", "worker.down", "cells.reassigned", "map.assigned"]
          .includes(e.kind)
      );
      assert.deepEqual(reassigning, [], "nothing was reassigned and nobody re-registered");

      const settled = await settledCensus(workerUrls(after), census.held);
      assertCensus(settled, "after the restart");
      const diffsAtRestart = players.map((p) => p.diffs);
      await until(
        "every player to receive DIFFs after the restart",
        () =>
          Promise.resolve(players.every((p, i) => p.diffs >= diffsAtRestart[i] + 10) || undefined),
      );
      for (const p of players) {
        assert.equal(p.closeEvent, undefined, "no player lost its connection");
        assert.equal(p.welcomes, 1, "no resume, no second WELCOME");
        assert.deepEqual(p.problems, [], `player ${p.welcome!.entity}: a consistent stream`);
      }
      // A cell move through the restarted coordinator works.
      const back = await cluster.post("/api/cells/0/move", { to: from });
      assert.equal(back.status, 202, await back.text());
      await until("the move back to finish", async () => {
        const s = await cluster.state();
        return s.migrations.length === 0 && s.map.owners[0] === from || undefined;
      });
      assertCensus(await settledCensus(workerUrls(after), census.held), "after a move");
    } finally {
      for (const p of players) p.close();
      await cluster.close();
    }
  },
});

const ROOT = new URL("../../", import.meta.url).pathname;

/** Runs a coordinator on `statePath` until it exits (it must: the file is damaged). */
async function startOn(statePath: string): Promise<{ code: number; stderr: string[] }> {
  const output = await new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      "-A",
      `${ROOT}main.ts`,
      "--role=coordinator",
      "--port",
      "0",
      "--grpc-port",
      "0",
      "--coordinator-state",
      statePath,
    ],
    cwd: ROOT,
    stdin: "null",
    env: { ZS_SECRET: TEST_SECRET },
    signal: AbortSignal.timeout(30_000),
  }).output();
  const stderr = new TextDecoder().decode(output.stderr).split("\n").filter((l) => l !== "");
  return { code: output.code, stderr };
}

Deno.test("a truncated or corrupted state file stops the coordinator with one line, exit 2", async () => {
  const dir = Deno.makeTempDirSync({ prefix: "zs-state-" });
  try {
    // A real state file first: a coordinator that ran, then was stopped.
    const good = `${dir}/good.sqlite`;
    const store = StateStore.open(good, testGrid().cellCount);
    store.snapshot(emptyState(testGrid().cellCount, { highWater: 0, lowWater: 0, sustainMs: 0 }));
    store.close();
    const bytes = Deno.readFileSync(good);
    const cases: Array<[string, Uint8Array, RegExp]> = [
      ["truncated", bytes.subarray(0, bytes.length - 1024), /cannot read coordinator state/],
      ["emptied", new Uint8Array(), /is empty \(truncated\?\)/],
      ["overwritten", new TextEncoder().encode("not a database ".repeat(500)), /cannot read/],
    ];
    for (const [name, content, message] of cases) {
      const path = `${dir}/${name}.sqlite`;
      Deno.writeFileSync(path, content);
      const { code, stderr } = await startOn(path);
      assert.equal(code, 2, `${name}: exit status (${stderr.join(" | ")})`);
      assert.equal(stderr.length, 1, `${name}: one line, got ${stderr.join(" | ")}`);
      assert.match(stderr[0], /^zonescaler: cannot start coordinator: STATE_INVALID: /);
      assert.match(stderr[0], message);
      assert.ok(stderr[0].includes(path), `${name}: the line names the file`);
      // Nothing was written over the damaged file.
      assert.deepEqual(Deno.readFileSync(path), content, `${name}: the file is left as it was`);
    }
  } finally {
    Deno.removeSync(dir, { recursive: true });
  }
});
