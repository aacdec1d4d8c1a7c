// Players never freeze silently: with no fault tolerance (`faultTolerance.mode: "none"`), the
// players of a worker killed with -9 have nobody to take their entities over, and the gateway
// closes their sessions with ERROR WORLD_STALLED and 4008 once `gateway.ownerSilenceMs` passes
// without a DIFF, instead of leaving their sockets open and silent. The others play on.
import assert from "node:assert/strict";
import { readCensus } from "../../testing/audit.ts";
import { startCluster } from "../../testing/cluster.ts";
import { until } from "../../testing/node_process.ts";
import { guestToken, TestClient } from "../../testing/ws_client.ts";

const OWNER_SILENCE_MS = 1_000;
/** The hub checks every quarter of the bound: a session is closed at most 25 % late. */
const CLOSED_WITHIN_MS = OWNER_SILENCE_MS * 1.25;
/** Delivery of the ERROR and the close frame to a client on this machine. */
const DELIVERY_MS = 200;

Deno.test({
  name: "players of a dead worker with no replica get WORLD_STALLED and 4008, not a silent socket",
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    const cluster = await startCluster({
      heartbeatMs: 250,
      workerTimeoutMs: 1_000,
      faultTolerance: { mode: "none" },
      rebalance: { enabled: false },
      gateway: { ownerSilenceMs: OWNER_SILENCE_MS },
      game: { npcs: 100, speed: 40, bumpRadius: 8, bumpCooldownTicks: 5, seed: 4 },
    }, { workers: 2, gateways: 1, parallel: true });
    const players: TestClient[] = [];
    try {
      const gateway = cluster.gateways[0];
      for (let i = 0; i < 8; i++) {
        const p = new TestClient(`${gateway.replace("http://", "ws://")}/ws`);
        players.push(p);
        await p.hello({ token: await guestToken(gateway, `p${i}`) });
        p.walk(10);
      }
      for (const p of players) await p.waitFor("DIFFs", () => p.diffs >= 10 || undefined);
      const state = await cluster.state();
      const urls = new Map(state.workers.map((w) => [w.id, `http://${w.httpAddress}`]));
      // A walking player can be in a handoff at the moment of a read (owned by nobody yet).
      const census = await until("a census in which every player has one owner", async () => {
        const c = await readCensus(urls);
        return players.every((p) => c.holders.get(p.welcome!.entity)?.length === 1) ? c : undefined;
      }, 10_000);
      const ownerOf = (p: TestClient) => census.holders.get(p.welcome!.entity)![0];
      const victim = ownerOf(players[0]);
      const stranded = players.filter((p) => ownerOf(p) === victim);
      const others = players.filter((p) => ownerOf(p) !== victim);

      const killedAt = Date.now();
      assert.ok(cluster.processOf(victim).signal("SIGKILL"));
      await until(
        "the stranded players to be closed",
        () => Promise.resolve(stranded.every((p) => p.closeEvent) || undefined),
        10_000,
      );

      for (const p of stranded) {
        // WORLD_STALLED (ERROR, then close 4008), or the same close reaching the client as an
        // abnormal one (Deno's code 0; 1006 elsewhere): a client still sending as the server
        // closes gets its connection reset and may lose what it had not read (docs/protocol.md,
        // "Close codes"). Either way the socket does not stay open and silent.
        const code = p.closeEvent!.code;
        assert.ok(code === 4008 || code === 0 || code === 1006, `close code ${code}`);
        if (code === 4008) {
          assert.ok(p.errors.some((e) => e.code === "WORLD_STALLED"), JSON.stringify(p.errors));
        }
        const lastDiff = p.diffTimes.findLast((t) => t <= killedAt) ?? killedAt;
        const silentMs = p.closeEvent!.at - lastDiff;
        assert.ok(
          silentMs > OWNER_SILENCE_MS && silentMs <= CLOSED_WITHIN_MS + DELIVERY_MS,
          `closed ${silentMs} ms after the last DIFF (bound ${OWNER_SILENCE_MS} ms, checked ` +
            `every ${OWNER_SILENCE_MS / 4} ms)`,
        );
      }
      for (const p of others) {
        assert.equal(p.closeEvent, undefined, "players of the live worker stay connected");
        const gap = p.longestGap(killedAt, Date.now());
        assert.ok(gap < OWNER_SILENCE_MS, `and keep receiving DIFFs (gap ${gap} ms)`);
      }
    } finally {
      for (const p of players) p.close();
      await cluster.close();
    }
  },
});
