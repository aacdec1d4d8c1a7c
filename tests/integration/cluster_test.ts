// A coordinator and two workers as three OS processes, under constant border crossings.
import assert from "node:assert/strict";
import { emptyBatch, encodeBatch } from "../../src/sync/batch_codec.ts";
import { encode } from "../../src/protocol/msgpack.ts";
import { encodeCommands } from "../../src/session/session_wire.ts";
import { grpc, rpcClient, statusOf, unary } from "../../src/net/rpc.ts";
import { NODE_METADATA } from "../../src/sync/peer_links.ts";
import { startCluster } from "../../testing/cluster.ts";
import {
  getJson,
  NodeProcess,
  TEST_SECRET,
  testGrid,
  until,
  writeTestConfig,
} from "../../testing/node_process.ts";

interface WorkerView {
  id: string;
  epoch: number;
  tick: number;
  owned: Array<[number, number, number, number, number]>;
  ghosts: Array<[number, number, number, number, string]>;
  counters: Record<string, number>;
}
interface ClusterState {
  epoch: number;
  workers: Array<
    { id: string; state: string; httpAddress: string; grpcAddress: string; cells: number }
  >;
  map: { owners: string[] };
  entitiesPerCell: number[];
}

const RUN_MS = 22_000;
const MARGIN = 30;
const NPCS = 300;

Deno.test({
  name: "three processes form a cluster where entities crossing borders keep exactly one owner",
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    // The README's three processes: a coordinator and two workers.
    const cluster = await startCluster({ rebalance: { enabled: false } });
    const { coordinator, workers, audit } = cluster;
    try {
      const state = await until("two active workers owning every cell", async () => {
        const s = await cluster.state();
        const active = s.workers.filter((w) => w.state === "active");
        return active.length === 2 && s.map.owners.every((o) => o) ? s : undefined;
      });
      const api = cluster.api;
      const grid = testGrid();
      const owners = state.map.owners;
      const ids = state.workers.map((w) => w.id);
      const http = new Map(state.workers.map((w) => [w.id, `http://${w.httpAddress}`]));
      const grpcOf = new Map(state.workers.map((w) => [w.id, w.grpcAddress]));
      assert.equal(new Set(owners).size, 2, "both workers own cells");

      // Distance from a point to the nearest cell owned by `worker`.
      const distanceTo = (worker: string, x: number, y: number) => {
        let best = Infinity;
        for (let c = 0; c < owners.length; c++) {
          if (owners[c] === worker) best = Math.min(best, grid.distanceToCell(c, x, y, 0));
        }
        return best;
      };

      let ghostSamples = 0, ghostOutsideBand = 0, bandEntities = 0, bandMissing = 0;
      let strayGhosts = 0, ghostChecks = 0;
      const countsSeen = new Set<string>();
      let intruded = false;
      const started = Date.now();
      while (Date.now() - started < RUN_MS) {
        const views = new Map<string, WorkerView>();
        for (const id of ids) views.set(id, await getJson<WorkerView>(`${http.get(id)}/api/state`));
        for (const [id, view] of views) {
          const other = views.get(ids.find((o) => o !== id)!)!;
          const otherIds = new Set(other.owned.map((e) => e[0]));
          const otherPos = new Map(other.owned.map((e) => [e[0], e]));
          const mine = new Set([...view.owned.map((e) => e[0]), ...view.ghosts.map((g) => g[0])]);
          for (const [gid, x, y, , owner] of view.ghosts) {
            ghostSamples++;
            assert.equal(owner, other.id, "a ghost's owner is the other worker");
            // Exact: a ghost's position is the last one its owner sent, which was in our band.
            if (distanceTo(id, x, y) > MARGIN + 1e-6) ghostOutsideBand++;
            const now = otherPos.get(gid);
            if (now) {
              ghostChecks++;
              if (distanceTo(id, now[1], now[2]) > MARGIN + 20) strayGhosts++;
            } else if (!otherIds.has(gid) && !view.owned.some((e) => e[0] === gid)) {
              // Handed off between the two reads: fine.
            }
          }
          // Entities of the other worker deep inside our band must be mirrored here.
          for (const [eid, x, y] of other.owned) {
            if (distanceTo(id, x, y) <= MARGIN - 20) {
              bandEntities++;
              if (!mine.has(eid)) bandMissing++;
            }
          }
        }
        const cluster = await getJson<ClusterState>(`${api}/api/state`);
        countsSeen.add(cluster.entitiesPerCell.join(","));

        if (!intruded && Date.now() - started > RUN_MS / 2) {
          intruded = true;
          await sendMalformedBatches(grpcOf.get(ids[1])!, ids[0]);
          await sendMalformedCommands(grpcOf.get(ids[1])!);
        }
        await audit.collect();
        await new Promise((r) => setTimeout(r, 250));
      }
      // Let in-flight handoffs land, then read the logs to the end.
      await new Promise((r) => setTimeout(r, 500));
      await audit.collect();

      // --- Ghosts ---
      assert.ok(ghostSamples > 100, `ghosts were seen (${ghostSamples})`);
      assert.equal(ghostOutsideBand, 0, "every ghost sits within the margin of the holder's cells");
      assert.ok(bandEntities > 50, `entities deep in the band were sampled (${bandEntities})`);
      assert.ok(
        bandMissing / bandEntities < 0.05,
        `band entities without a ghost: ${bandMissing}/${bandEntities}`,
      );
      assert.ok(
        strayGhosts / ghostChecks < 0.05,
        `ghosts of entities far from the band: ${strayGhosts}/${ghostChecks}`,
      );
      assert.ok(countsSeen.size > 5, "entity counts per cell change as NPCs move");

      // --- Exactly one owner at every tick, count conserved ---
      const { handoffs, ticks } = audit.assertOneOwner(NPCS);
      assert.ok(handoffs >= 30, `constant border crossings: ${handoffs} handoffs`);
      assert.ok(ticks > 300, `sampled ${ticks} ticks`);

      // --- Bumps across workers applied exactly once ---
      const crossed = audit.assertExactlyOnce();
      assert.ok(crossed >= 5, `bumps crossed workers (${crossed})`);

      // --- Malformed batches were refused, the worker kept running ---
      const victim = await getJson<WorkerView>(`${http.get(ids[1])}/api/state`);
      assert.ok(
        victim.counters.badBatches >= 4,
        `bad batches counted: ${victim.counters.badBatches}`,
      );
      const rejected = workers.flatMap((w) => w.lines).filter((l) => l.event === "batch.rejected");
      assert.ok(rejected.length >= 4, "each rejected batch is logged");
      const commands = workers.flatMap((w) => w.lines).filter((l) =>
        l.event === "commands.rejected"
      );
      assert.ok(
        commands.length >= 3,
        `each rejected gateway command batch is logged (${commands.length})`,
      );
      assert.ok(
        rejected.every((l) =>
          (l.error as { code?: string })?.code === "BAD_BATCH" || l.level === "error"
        ),
      );

      // --- Clean shutdown ---
      for (const worker of workers) {
        const status = await worker.stop("SIGTERM", 10_000);
        assert.equal(
          status.code,
          0,
          `${worker.name} exits 0 on SIGTERM: ${worker.stderr.join("\n")}`,
        );
      }
      const status = await coordinator.stop("SIGTERM", 10_000);
      assert.equal(status.code, 0, "coordinator exits 0 on SIGTERM");
    } finally {
      await cluster.close();
    }
  },
});

/** Opens a Sync stream with the secret and sends garbage, wrong types and a forged sender. */
async function sendMalformedBatches(address: string, impersonate: string): Promise<void> {
  const client = rpcClient("Peer", address, TEST_SECRET);
  const metadata = new grpc.Metadata();
  metadata.set(NODE_METADATA, "intruder");
  const call = (client as unknown as {
    Sync(m: grpc.Metadata): grpc.ClientDuplexStream<{ payload: Uint8Array }, unknown>;
  }).Sync(metadata);
  call.on("error", () => {});
  call.on("data", () => {});
  call.write({ payload: new Uint8Array([0xc1, 0xff, 0x00]) });
  call.write({
    payload: encode({ v: 1, f: "intruder", e: 1, t: "soon", c: [], u: [], d: [], h: [], i: [] }),
  });
  call.write({
    payload: encode({
      v: 1,
      f: "intruder",
      e: 1,
      t: 5,
      c: [[1, "npc", 0, 0, 0, 0, 0, 0, 7]],
      u: [],
      d: [],
      h: [],
      i: [],
    }),
  });
  // Well-formed, but claims to come from another worker than the stream's.
  call.write({ payload: encodeBatch(emptyBatch(impersonate, 1, 5)) });
  call.write({ payload: new Uint8Array(0) });
  await new Promise((r) => setTimeout(r, 300));
  // Cancel the stream but leave the channel: closing it sends GOAWAY (see CloseOptions).
  call.cancel();
}

Deno.test({
  name: "gRPC calls without the cluster secret are refused with UNAUTHENTICATED",
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    const config = writeTestConfig({ minWorkers: 1 });
    const coordinator = new NodeProcess("coordinator", [
      "--role=coordinator",
      "--config",
      config,
      "--port",
      "0",
      "--grpc-port",
      "0",
    ]);
    let worker: NodeProcess | undefined;
    const clients: grpc.Client[] = [];
    try {
      const listening = await coordinator.waitFor("coordinator.listening");
      const address = `127.0.0.1:${listening.grpcPort}`;
      const request = {
        nodeId: "",
        grpcAddress: "127.0.0.1:1",
        httpAddress: "",
        version: "x",
        pool: true,
      };
      for (const secret of ["", "wrong-secret-of-enough-length"]) {
        const client = rpcClient("Coordinator", address, secret);
        clients.push(client);
        const error = await unary(client, "Register", request).then(() => undefined, (e) => e);
        assert.equal(
          statusOf(error),
          grpc.status.UNAUTHENTICATED,
          `secret ${JSON.stringify(secret)}`,
        );
      }
      worker = new NodeProcess("worker", [
        "--role=worker",
        "--config",
        config,
        "--coordinator",
        address,
        "--port",
        "0",
        "--grpc-port",
        "0",
      ]);
      const ready = await worker.waitFor("worker.listening");
      const peer = rpcClient("Peer", `127.0.0.1:${ready.grpcPort}`, "");
      clients.push(peer);
      const metadata = new grpc.Metadata();
      metadata.set(NODE_METADATA, "intruder");
      const call =
        (peer as unknown as { Sync(m: grpc.Metadata): grpc.ClientDuplexStream<unknown, unknown> })
          .Sync(metadata);
      const code = await new Promise<number | undefined>((resolve) => {
        call.on("error", (e) => resolve(statusOf(e)));
        call.on("data", () => {});
        call.write({ payload: new Uint8Array([1]) });
        setTimeout(() => resolve(undefined), 5_000);
      });
      assert.equal(code, grpc.status.UNAUTHENTICATED);
      assert.ok(
        coordinator.lines.some((l) => l.event === "rpc.unauthenticated"),
        "refusals are logged",
      );
      const health = await getJson<{ status: string }>(
        `http://127.0.0.1:${ready.httpPort}/healthz`,
      );
      assert.equal(health.status, "ok");
    } finally {
      for (const c of clients) c.close();
      await Promise.all([coordinator.kill(), worker?.kill()]);
      Deno.removeSync(config);
    }
  },
});

/** A "gateway" with the secret sends garbage, a wrong version and a forged sender on Attach. */
async function sendMalformedCommands(address: string): Promise<void> {
  const client = rpcClient("Sessions", address, TEST_SECRET);
  const metadata = new grpc.Metadata();
  metadata.set(NODE_METADATA, "intruder-gateway");
  const call = (client as unknown as {
    Attach(m: grpc.Metadata): grpc.ClientDuplexStream<{ payload: Uint8Array }, unknown>;
  }).Attach(metadata);
  call.on("error", () => {});
  call.on("data", () => {});
  call.write({ payload: new Uint8Array([0xc1]) });
  call.write({ payload: encode({ v: 9, g: "intruder-gateway", c: [] }) });
  call.write({ payload: encodeCommands("someone-else", []) });
  call.write({ payload: encode({ v: 1, g: "intruder-gateway", c: [[1, 5, 1, [9, 9], null]] }) });
  await new Promise((r) => setTimeout(r, 300));
  call.cancel(); // leave the channel: closing it sends GOAWAY (see CloseOptions)
}
