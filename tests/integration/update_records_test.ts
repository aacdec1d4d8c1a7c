// Issue 12 item 8: update records never repeat data the client already had. Players walk back
// and forth over the borders of three workers' regions (handoffs of their own entities, ghosts
// of the NPCs and players across each border, NPCs bumping and changing their data); every
// DIFF is checked by testing/ws_client.ts against the client's copy of each entity.
import assert from "node:assert/strict";
import { startCluster } from "../../testing/cluster.ts";
import { testGrid } from "../../testing/node_process.ts";
import { guestToken, TestClient } from "../../testing/ws_client.ts";

const PLAYERS = 6;
/** Border crossings of its own entity each player makes before the test looks. */
const CROSSINGS = 2;

Deno.test({
  name: "across handoffs and ghosts no update record repeats entity data the client already has",
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    const cluster = await startCluster({
      minWorkers: 3,
      rebalance: { enabled: false },
      // Dense NPCs that bump often: their data (`bumps`, `cooldownUntil`) changes all the time.
      game: { npcs: 400, speed: 60, bumpRadius: 10, bumpCooldownTicks: 2, seed: 12 },
    }, { workers: 3, gateways: 1, parallel: true });
    const clients: TestClient[] = [];
    const walks: ReturnType<typeof setInterval>[] = [];
    try {
      const grid = testGrid();
      const owners = (await cluster.state()).map.owners;
      assert.equal(new Set(owners).size, 3, "three workers own cells");
      const ownerAt = (x: number, y: number) => owners[grid.cellOf(x, y)];
      const crossings = new Array(PLAYERS).fill(0);
      let ghostsSeen = 0;
      const url = `${cluster.gateways[0].replace("http", "ws")}/ws`;
      for (let i = 0; i < PLAYERS; i++) {
        const client = new TestClient(url, i % 2 === 0 ? "msgpack" : "json");
        clients.push(client);
        const welcome = await client.hello({
          token: await guestToken(cluster.gateways[0], `p${i}`),
        });
        const self = welcome.entity;
        await client.waitFor("own position", () => client.visible.get(self));
        // Diagonal walks bouncing off the world's edges cross every region's borders.
        let [dx, dy] = [i % 2 === 0 ? 1 : -1, i < PLAYERS / 2 ? 1 : -1];
        let owner: string | undefined;
        let seq = 0;
        walks.push(setInterval(() => {
          const at = client.visible.get(self);
          if (!at || client.socket.readyState !== WebSocket.OPEN) return;
          if (at.x < 20) dx = 1;
          if (at.x > 380) dx = -1;
          if (at.y < 20) dy = 1;
          if (at.y > 380) dy = -1;
          const now = ownerAt(at.x, at.y);
          if (owner !== undefined && now !== owner) crossings[i]++;
          owner = now;
          for (const [id, e] of client.visible) {
            if (id !== self && ownerAt(e.x, e.y) !== now) ghostsSeen++;
          }
          client.send({ op: 2, seq: ++seq, intent: { move: [dx, dy] } });
        }, 50));
      }
      await clients[0].waitFor(
        `every player to cross ${CROSSINGS} borders between workers`,
        () => crossings.every((n) => n >= CROSSINGS) || undefined,
        60_000,
      );
      for (const w of walks) clearInterval(w);
      // What would make the check vacuous: no data changes reached a client, no ghost was seen.
      assert.ok(
        clients.every((c) => c.dataUpdates > 0),
        `every client got data updates: ${clients.map((c) => c.dataUpdates)}`,
      );
      assert.ok(ghostsSeen > 0, "players saw entities simulated by another worker");
      for (const [i, client] of clients.entries()) {
        assert.deepEqual(client.problems, [], `player ${i} (${client.format})`);
        assert.deepEqual(client.errors, [], `player ${i} got no ERROR`);
      }
    } finally {
      for (const w of walks) clearInterval(w);
      for (const c of clients) c.close();
      await cluster.close();
    }
  },
});
