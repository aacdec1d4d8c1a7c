// Rooms by region through the real protocol (docs/protocol.md, Rooms): two workers started
// with `--region eu` and `--region us`, one gateway. A CREATE with a region lands on that
// region's worker and its row says so; SEARCH filters by region; a quick-join with a region
// stays in it and opens a new instance there; a region no worker has is UNAVAILABLE and the
// session goes on; /api/state and /api/instances show the regions.
import assert from "node:assert/strict";
import type {
  ErrorMessage,
  RoomsMessage,
  TravelMessage,
} from "../../src/protocol/client_protocol.ts";
import { startCluster } from "../../testing/cluster.ts";
import { getJson } from "../../testing/node_process.ts";
import { guestToken, TestClient } from "../../testing/ws_client.ts";

type Answer = (TravelMessage | RoomsMessage | ErrorMessage) & { ref?: number };

/** The TRAVEL, ROOMS or ERROR answering request `ref`. */
function answer(client: TestClient, ref: number): Promise<Answer> {
  return client.waitFor(
    `the answer to ref ${ref}`,
    () =>
      client.messages.find((m) =>
        (m.op === 8 || m.op === 14 || m.op === 15) && (m as Answer).ref === ref
      ) as Answer | undefined,
  );
}

Deno.test({
  name: "rooms by region: CREATE, SEARCH and quick-join keep to the region asked for",
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    const cluster = await startCluster({
      rebalance: { enabled: false },
      instances: { emptyGraceMs: 60_000 },
      game: { module: "examples/rooms.ts", options: {} },
    }, {
      workers: 2,
      gateways: 1,
      parallel: true,
      entities: false,
      workerFlags: (n) => ["--region", n === 1 ? "eu" : "us"],
    });
    const clients: TestClient[] = [];
    try {
      const gateway = cluster.gateways[0];
      const connect = async (name: string) => {
        const client = new TestClient(`${gateway.replace("http://", "ws://")}/ws`, "json");
        clients.push(client);
        await client.hello({ token: await guestToken(gateway, name) });
        return client;
      };
      const state = await cluster.state() as unknown as {
        workers: Array<{ id: string; region: string }>;
      };
      assert.deepEqual(
        state.workers.map((w) => [w.id, w.region]).sort(),
        [["w1", "eu"], ["w2", "us"]],
      );

      const ann = await connect("ann");
      ann.send({ op: 9, ref: 1, mode: "arena", region: "us" });
      const created = await answer(ann, 1) as TravelMessage;
      assert.equal(created.op, 15, JSON.stringify(created));
      assert.equal(created.instance!.region, "us");
      const listed = await getJson<
        { instances: Array<{ id: string; worker: string; region: string }> }
      >(
        `${cluster.api}/api/instances?region=us`,
      );
      assert.deepEqual(listed.instances.map((i) => [i.id, i.worker, i.region]), [
        [created.instance!.id, "w2", "us"],
      ]);

      const bob = await connect("bob");
      bob.send({ op: 10, ref: 1, region: "eu" });
      assert.deepEqual((await answer(bob, 1) as RoomsMessage).instances, []);
      bob.send({ op: 10, ref: 2, region: "us" });
      const found = await answer(bob, 2) as RoomsMessage;
      assert.deepEqual(found.instances.map((r) => r.id), [created.instance!.id]);

      // Quick-join in eu: the arena in us has seats, but is not in eu: a new one opens on w1.
      bob.send({ op: 11, ref: 3, mode: "arena", region: "eu" });
      const joined = await answer(bob, 3) as TravelMessage;
      assert.equal(joined.op, 15, JSON.stringify(joined));
      assert.notEqual(joined.instance!.id, created.instance!.id);
      assert.equal(joined.instance!.region, "eu");
      const eu = await getJson<{ instances: Array<{ id: string; worker: string }> }>(
        `${cluster.api}/api/instances?region=eu`,
      );
      assert.deepEqual(eu.instances.map((i) => [i.id, i.worker]), [[joined.instance!.id, "w1"]]);

      // No worker in asia: refused with its code, and the session goes on.
      const cat = await connect("cat");
      cat.send({ op: 9, ref: 1, mode: "duel", region: "asia" });
      const refused = await answer(cat, 1) as ErrorMessage;
      assert.equal(refused.code, "UNAVAILABLE");
      assert.match(refused.message, /region "asia"/);
      cat.send({ op: 4, t: 7 });
      await cat.waitFor("PONG", () => cat.messages.find((m) => m.op === 7));
      assert.equal(cat.closedWith, undefined);
    } finally {
      for (const client of clients) client.close();
      await cluster.close();
    }
  },
});
