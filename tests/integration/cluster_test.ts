// A coordinator and two workers as three OS processes, under constant border crossings.
import assert from "node:assert/strict";
import { BATCH_VERSION, emptyBatch, encodeBatch } from "../../src/sync/batch_codec.ts";
import { encode } from "../../src/protocol/msgpack.ts";
import { encodeCommands, SESSION_WIRE_VERSION } from "../../src/session/session_wire.ts";
import { grpc, rpcClient, statusOf, unary } from "../../src/net/rpc.ts";
import { NODE_METADATA, VERSION_METADATA } from "../../src/sync/peer_links.ts";
import { startCluster } from "../../testing/cluster.ts";
import {
  coordinatorArgs,
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

const MARGIN = 30;
const NPCS = 300;
/** Distance per tick of the fastest NPC (speed 60 at 20 Hz). */
const STEP = 3;
/** How deep in a band an entity must be to be checked: it stays in the band for 6 ticks. */
const DEEP = 20;
/** Largest tick difference between an owner's and a holder's read that the band check uses. */
const PAIR_TICKS = 2;
/** What the run must have seen before its verdict (bounded by RUN_LIMIT_MS). */
const ENOUGH = { bandChecks: 500, ghostSamples: 500, handoffs: 30, ticks: 300, countChanges: 5 };
const RUN_LIMIT_MS = 90_000;

Deno.test({
  name: "three processes form a cluster where entities crossing borders keep exactly one owner",
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    // The README's three processes: a coordinator and two workers.
    const cluster = await startCluster({ rebalance: { enabled: false } }, { audit: true });
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

      const seen = { bandChecks: 0, ghostSamples: 0, handoffs: 0, ticks: 0, countChanges: 0 };
      const problems: string[] = [];
      const countsSeen = new Set<string>();
      let intruded = false;
      const firstTick = await audit.collect();
      const deadline = Date.now() + RUN_LIMIT_MS;
      const enough = () =>
        intruded && Object.entries(ENOUGH).every(([k, n]) => seen[k as keyof typeof seen] >= n);
      while (!enough()) {
        assert.ok(
          Date.now() < deadline,
          `the cluster did not show enough within ${RUN_LIMIT_MS} ms: ${JSON.stringify(seen)}`,
        );
        // Read one worker, then the other; each read is a consistent view at its own tick.
        const views: WorkerView[] = [];
        for (const id of ids) views.push(await getJson<WorkerView>(`${http.get(id)}/api/state`));
        for (const [holder, owner] of [[views[0], views[1]], [views[1], views[0]]]) {
          const mine = new Set([
            ...holder.owned.map((e) => e[0]),
            ...holder.ghosts.map((g) => g[0]),
          ]);
          const ownerAt = new Map(owner.owned.map((e) => [e[0], e]));
          for (const [gid, x, y, , ghostOwner] of holder.ghosts) {
            seen.ghostSamples++;
            if (ghostOwner !== owner.id) {
              problems.push(`ghost ${gid} on ${holder.id} of ${ghostOwner}`);
            }
            // Exact: a ghost's position is the last one its owner sent, which was in our band.
            if (distanceTo(holder.id, x, y) > MARGIN + 1e-6) {
              problems.push(`ghost ${gid} on ${holder.id} at ${x},${y} outside the band`);
            }
          }
          // Pairs of reads a few ticks apart decide exactly (see below); others are skipped.
          if (Math.abs(holder.tick - owner.tick) > PAIR_TICKS) continue;
          // An entity DEEP inside the holder's band at the owner's tick To was in the band for
          // DEEP / STEP ticks before and after it, so the owner sent it in every batch of those
          // ticks and no delete: the holder, PAIR_TICKS from To, must show it (as a ghost, or
          // owned if it was handed over meanwhile).
          for (const [eid, x, y] of owner.owned) {
            if (distanceTo(holder.id, x, y) > MARGIN - DEEP) continue;
            seen.bandChecks++;
            if (!mine.has(eid)) {
              problems.push(
                `${owner.id}'s entity ${eid} at ${x},${y} (tick ${owner.tick}) has no ghost on ` +
                  `${holder.id} (tick ${holder.tick})`,
              );
            }
          }
          // A ghost of an entity far outside the band would have been deleted: its owner sends
          // the delete the tick it leaves, and it cannot get farther than STEP per tick.
          for (const [gid] of holder.ghosts) {
            const now = ownerAt.get(gid);
            if (!now) continue; // handed over or in flight: the ownership audit covers it
            const far = distanceTo(holder.id, now[1], now[2]);
            if (far > MARGIN + STEP * 10) {
              problems.push(`ghost ${gid} on ${holder.id}: its entity is ${far} from the band`);
            }
          }
        }
        const cluster = await getJson<ClusterState>(`${api}/api/state`);
        countsSeen.add(cluster.entitiesPerCell.join(","));
        seen.countChanges = countsSeen.size - 1;

        const lastTick = await audit.collect();
        seen.ticks = lastTick - firstTick;
        seen.handoffs = [...audit.ownership.values()].flat().filter((e) => e.kind === "release")
          .length;
        if (!intruded && seen.ticks >= ENOUGH.ticks / 2) {
          intruded = true;
          const victim = workers.find((p) => p.name === `worker-${ids[1].slice(1)}`)!;
          await sendMalformedBatches(grpcOf.get(ids[1])!, ids[0], victim);
          await sendMalformedCommands(grpcOf.get(ids[1])!, victim);
        }
      }
      // Let in-flight handoffs land, then read the logs to the end.
      const endTick = audit.lastTick;
      await until("the workers 20 ticks further", async () => {
        return (await audit.collect()) >= endTick + 20 ? true : undefined;
      });

      // --- Ghosts: every one in the band, every deep band entity mirrored, no stray ---
      assert.deepEqual(problems.slice(0, 10), [], `${problems.length} ghost problems`);

      // --- Exactly one owner at every tick, count conserved ---
      const { handoffs, ticks } = audit.assertOneOwner(NPCS);
      assert.ok(handoffs >= ENOUGH.handoffs, `constant border crossings: ${handoffs} handoffs`);
      assert.ok(ticks >= ENOUGH.ticks, `audited ${ticks} ticks`);

      // --- Bumps across workers applied exactly once ---
      const crossed = audit.assertExactlyOnce();
      assert.ok(crossed >= 5, `bumps crossed workers (${crossed})`);

      // --- Malformed batches were refused, the worker kept running ---
      // Five payloads were sent: four the decoder refuses (BAD_BATCH) and one well-formed batch
      // claiming another sender on the intruder's link.
      const victim = await getJson<WorkerView>(`${http.get(ids[1])}/api/state`);
      const rejected = workers.flatMap((w) => w.lines).filter((l) => l.event === "batch.rejected");
      const reasons = rejected.map((l) => {
        const error = l.error as { code?: string; message?: string };
        assert.equal(l.peer, "intruder", "only the intruder's batches are rejected");
        return error.code === "BAD_BATCH" && /^Cannot decode batch: /.test(error.message ?? "")
          ? "BAD_BATCH"
          : /^Cannot accept batch: it claims to be from /.test(error.message ?? "")
          ? "forged sender"
          : JSON.stringify(error);
      }).sort();
      assert.deepEqual(reasons, [
        "BAD_BATCH",
        "BAD_BATCH",
        "BAD_BATCH",
        "BAD_BATCH",
        "forged sender",
      ]);
      assert.equal(victim.counters.badBatches, rejected.length, "each rejected batch is counted");
      const commands = workers.flatMap((w) => w.lines).filter((l) =>
        l.event === "commands.rejected"
      );
      assert.equal(commands.length, 4, "each rejected gateway command batch is logged");
      for (const line of commands) {
        assert.equal(line.gateway, "intruder-gateway");
        assert.match(String((line.error as { message?: string }).message), /^Cannot /);
      }

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
async function sendMalformedBatches(
  address: string,
  impersonate: string,
  victim: NodeProcess,
): Promise<void> {
  const client = rpcClient("Peer", address, TEST_SECRET);
  const metadata = new grpc.Metadata();
  metadata.set(NODE_METADATA, "intruder");
  // It speaks the current version, so its stream is accepted and each batch is judged.
  metadata.set(VERSION_METADATA, String(BATCH_VERSION));
  const call = (client as unknown as {
    Sync(m: grpc.Metadata): grpc.ClientDuplexStream<{ payload: Uint8Array }, unknown>;
  }).Sync(metadata);
  call.on("error", () => {});
  call.on("data", () => {});
  call.write({ payload: new Uint8Array([0xc1, 0xff, 0x00]) });
  call.write({
    payload: encode({
      v: BATCH_VERSION,
      f: "intruder",
      e: 1,
      t: "soon",
      c: [],
      u: [],
      d: [],
      h: [],
      i: [],
    }),
  });
  call.write({
    payload: encode({
      v: BATCH_VERSION,
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
  await until(
    "the five batches to be refused",
    () =>
      Promise.resolve(
        victim.lines.filter((l) => l.event === "batch.rejected").length >= 5 || undefined,
      ),
  );
  // Cancel the stream but leave the channel: closing it sends GOAWAY (see CloseOptions).
  call.cancel();
}

Deno.test({
  name: "gRPC calls without the cluster secret are refused with UNAUTHENTICATED",
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    const config = writeTestConfig({ minWorkers: 1 });
    const coordinator = new NodeProcess("coordinator", coordinatorArgs(config));
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
async function sendMalformedCommands(address: string, victim: NodeProcess): Promise<void> {
  const client = rpcClient("Sessions", address, TEST_SECRET);
  const metadata = new grpc.Metadata();
  metadata.set(NODE_METADATA, "intruder-gateway");
  metadata.set(VERSION_METADATA, String(SESSION_WIRE_VERSION)); // past the attach check
  const call = (client as unknown as {
    Attach(m: grpc.Metadata): grpc.ClientDuplexStream<{ payload: Uint8Array }, unknown>;
  }).Attach(metadata);
  call.on("error", () => {});
  call.on("data", () => {});
  call.write({ payload: new Uint8Array([0xc1]) });
  call.write({ payload: encode({ v: 9, g: "intruder-gateway", c: [] }) });
  call.write({ payload: encodeCommands("someone-else", []) });
  call.write({ payload: encode({ v: 1, g: "intruder-gateway", c: [[1, 5, 1, [9, 9], null]] }) });
  await until("the four command batches to be refused", () =>
    Promise.resolve(
      victim.lines.filter((l) => l.event === "commands.rejected").length >= 4 || undefined,
    ));
  call.cancel(); // leave the channel: closing it sends GOAWAY (see CloseOptions)
}
