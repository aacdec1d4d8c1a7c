// Session gateways with real processes: two gateways, two workers, a coordinator.
import assert from "node:assert/strict";
import fc from "fast-check";
import { grpc, rpcClient } from "../../src/net/rpc.ts";
import { encode } from "../../src/protocol/msgpack.ts";
import { startCluster } from "../../testing/cluster.ts";
import { getJson, TEST_SECRET, until } from "../../testing/node_process.ts";
import { parseMetrics, value } from "../../testing/prometheus_text.ts";
import { type ClientMessage, decodeClientFrame, Op } from "../../src/protocol/client_protocol.ts";
import { guestToken, TestClient } from "../../testing/ws_client.ts";
import { assertNoMissedTick } from "../../testing/missed_ticks.ts";

const LIMITS = {
  maxFrameBytes: 1024,
  framesPerSecond: 20,
  frameBurst: 20,
  chatPerSecond: 5,
  chatBurst: 5,
  strikeLimit: 15,
  strikeWindowMs: 10_000,
  helloTimeoutMs: 1_500,
  idleTimeoutMs: 3_000,
  maxQueuedDiffs: 4,
  maxBehindTicks: 40,
  maxQueuedFrames: 256,
  maxQueuedBytes: 1_048_576,
  resumeGraceMs: 5_000,
  tokenTtlMs: 3_600_000,
};

const ws = (base: string) => `${base.replace("http", "ws")}/ws`;

/** Sends one INPUT and waits (bounded) for the DIFF that acknowledges it. */
async function inputAcked(client: TestClient, seq: number, move: [number, number]) {
  client.send({ op: 2, seq, intent: { move } });
  await client.waitFor(`the ack of input ${seq}`, () => {
    const last = client.messages.findLast((m) => m.op === 6);
    return last?.op === 6 && last.ack >= seq ? true : undefined;
  });
}

Deno.test({
  name: "players keep one continuous stream across worker borders, chat and resume across gateways",
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    const cluster = await startCluster({
      rebalance: { enabled: false },
      game: { npcs: 100, speed: 60, bumpRadius: 4, bumpCooldownTicks: 20, seed: 9 },
      gateway: LIMITS,
    }, { gateways: 2 });
    const clients: TestClient[] = [];
    try {
      const [g1, g2] = cluster.gateways;
      const list = await getJson<{ gateways: Array<{ id: string; url: string }> }>(
        `${g1}/gateways`,
      );
      assert.deepEqual(list.gateways.map((g) => g.id).sort(), ["g1", "g2"]);

      // --- A walker crosses the border between the two workers' regions (y = 200) ---
      const walker = new TestClient(ws(g1));
      clients.push(walker);
      const welcome = await walker.hello({ token: await guestToken(g1, "walker") });
      const self = welcome.entity;
      const start = await walker.waitFor("own position", () => walker.visible.get(self));
      const dy = start.y < 200 ? 1 : -1;
      let seq = 0;
      let crossedAt = -1;
      // Walk, one acknowledged input at a time, until the border is crossed and 20 DIFFs more.
      while (crossedAt < 0 || walker.diffs < crossedAt + 20) {
        assert.ok(seq < 400, `the walker crossed y = 200 within 400 inputs (from ${start.y})`);
        await inputAcked(walker, ++seq, [0, dy]);
        const now = walker.visible.get(self);
        if (crossedAt < 0 && now && (now.y - 200) * (start.y - 200) < 0) crossedAt = walker.diffs;
      }
      assert.deepEqual(walker.problems, [], "the stream stayed consistent");
      assertNoMissedTick(walker, cluster.workers);
      const acked = await walker.waitFor("acks to catch up", () => {
        const last = walker.messages.findLast((m) => m.op === 6);
        return last && last.op === 6 && last.ack === seq ? last.ack : undefined;
      });
      assert.equal(acked, seq);

      // --- Chat from gateway 1 reaches a client on gateway 2 ---
      const listener = new TestClient(ws(g2), "json");
      clients.push(listener);
      await listener.hello({ token: await guestToken(g2, "listener") });
      walker.send({ op: 3, channel: "global", text: "hello from g1" });
      const heard = await listener.waitFor(
        "the chat line",
        () => listener.messages.find((m) => m.op === 3 && m.text === "hello from g1"),
      );
      assert.equal(heard.op === 3 && heard.from, "walker");

      // --- Garbage on the coordinator's chat relay is refused by the gateways, nothing breaks ---
      const coordinatorGrpc = `127.0.0.1:${
        (await cluster.coordinator.waitFor("coordinator.listening")).grpcPort
      }`;
      const relayClient = rpcClient("Coordinator", coordinatorGrpc, TEST_SECRET);
      const metadata = new grpc.Metadata();
      metadata.set("zs-node", "intruder");
      const relay = (relayClient as unknown as {
        Relay(m: grpc.Metadata): grpc.ClientDuplexStream<{ payload: Uint8Array }, unknown>;
      }).Relay(metadata);
      relay.on("error", () => {});
      relay.on("data", () => {});
      relay.write({ payload: new Uint8Array([0xc1]) });
      relay.write({ payload: encode({ channel: "shout", from: "x", text: "y" }) });
      relay.write({ payload: new Uint8Array(10_000) }); // over the relay's size limit
      const gatewayLogs = cluster.workers.filter((p) => p.name.startsWith("gateway-"));
      await listener.waitFor(
        "both gateways to refuse the relayed garbage",
        () =>
          gatewayLogs.every((g) => g.lines.filter((l) => l.event === "relay.rejected").length >= 2)
            ? true
            : undefined,
      );
      assert.ok(
        cluster.coordinator.lines.some((l) => l.event === "relay.rejected"),
        "the coordinator refuses the oversized line",
      );
      relay.cancel();
      walker.send({ op: 3, channel: "global", text: "still here" });
      await listener.waitFor(
        "chat after the garbage",
        () => listener.messages.find((m) => m.op === 3 && m.text === "still here"),
      );

      // --- The walker drops and resumes through the other gateway, same entity ---
      const token = walker.welcome!.resumeToken;
      walker.socket.close(4999, "network gone");
      await walker.waitFor("the walker's close", () => walker.closedWith);
      // The gateway detaches the entity as it drops the session: wait for that, so the resume
      // through g2 cannot overtake the detach.
      await until("g1 to drop the walker's session", async () => {
        const text = await (await fetch(`${g1}/metrics`)).text();
        return value(parseMetrics(text), "zs_sessions", { node: "g1" }) === 0 ? true : undefined;
      }, 10_000);
      const back = new TestClient(ws(g2));
      clients.push(back);
      const resumed = await back.hello({ resumeToken: token });
      assert.equal(resumed.resumed, true);
      assert.equal(resumed.entity, self, "same entity back");
      await back.waitFor("own entity in view", () => back.visible.get(self));
      assert.deepEqual(back.problems, []);

      // --- The same resume token a second time is refused ---
      const replay = new TestClient(ws(g1));
      clients.push(replay);
      await replay.opened();
      replay.send({ op: 1, protocol: 1, resumeToken: token });
      const refused = await replay.waitFor("the replay's close", () => replay.closedWith);
      assert.equal(refused.code, 4002);
      assert.equal(replay.errors[0]?.code, "RESUME_FAILED");
    } finally {
      for (const c of clients) c.close();
      await cluster.close();
    }
  },
});

Deno.test({
  name: "each gateway limit triggers with its documented code and spares other sessions",
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    const cluster = await startCluster({
      rebalance: { enabled: false },
      game: { npcs: 50 },
      gateway: LIMITS,
    }, { gateways: 1 });
    const clients: TestClient[] = [];
    let keepAlive: ReturnType<typeof setInterval> | undefined;
    const client = async (name: string, format: "msgpack" | "json" = "msgpack") => {
      const c = new TestClient(ws(cluster.gateways[0]), format);
      clients.push(c);
      await c.hello({ token: await guestToken(cluster.gateways[0], name) });
      return c;
    };
    try {
      const bystander = await client("bystander");
      let t = 0;
      keepAlive = setInterval(() => bystander.send({ op: 4, t: ++t }), 1_000); // a polite client pings
      const expectClose = async (c: TestClient, code: number, error: string) => {
        // Bounded: the hello and idle timeouts (1.5 s, 3 s) are well inside the 10 s wait.
        const closed = await c.waitFor(`the close for ${error}`, () => c.closedWith);
        assert.equal(closed.code, code, `close code for ${error}: ${JSON.stringify(c.errors)}`);
        assert.equal(c.errors.at(-1)?.code, error);
      };

      // Oversized frame: ERROR TOO_BIG, close 1009.
      const big = await client("big");
      big.socket.send(new Uint8Array(2_000));
      await expectClose(big, 1009, "TOO_BIG");

      // Malformed frames: the reserved byte 0xc1, bad JSON, wrong types → BAD_FRAME, close 1007.
      for (
        const [format, frame] of [["msgpack", new Uint8Array([0xc1])], ["json", "{not json"], [
          "json",
          JSON.stringify({ op: 2, seq: "one", intent: { move: [0, 0] } }),
        ]] as const
      ) {
        const bad = await client("bad", format);
        bad.socket.send(frame);
        await expectClose(bad, 1007, "BAD_FRAME");
      }

      // A second HELLO is a policy violation (1008).
      const twice = await client("twice");
      twice.send({ op: 1, protocol: 1, token: "x" });
      await expectClose(twice, 1008, "BAD_REQUEST");

      // Flood: RATE_LIMITED first, then closed with 4005 at the strikeLimit-th refused frame.
      // docs/protocol.md promises 4005 to a client that stops sending at the close; one still
      // sending may see the connection dropped (Deno resets it, reported as 1006 or 0) and lose
      // the frames it had not read. So this client sends no frame past the one that must close
      // it: every frame is a PONG or a strike, and PONGs still in flight only make it count
      // more strikes than there are, never fewer.
      const flood = await client("flood");
      const pongs = () => flood.messages.filter((m) => m.op === 7 && m.t >= 1_000).length;
      let sent = 0;
      const ping = (n: number) => {
        for (let k = 0; k < n; k++) flood.send({ op: 4, t: 1_000 + sent++ });
      };
      ping(LIMITS.frameBurst + 1);
      await flood.waitFor("the RATE_LIMITED warning", () => flood.errors[0]);
      assert.equal(flood.errors[0].code, "RATE_LIMITED", "warned first");
      while (!flood.closedWith) {
        ping(Math.max(0, LIMITS.strikeLimit - (sent - pongs())));
        const seen = pongs();
        await flood.waitFor(
          "a close or a PONG",
          () => flood.closedWith ?? (pongs() > seen || undefined),
        );
      }
      assert.equal(flood.closedWith.code, 4005, `flood closed with ${flood.closedWith.code}`);
      assert.deepEqual(
        flood.errors.map((e) => e.code),
        ["RATE_LIMITED", "RATE_LIMITED"],
        "one warning, then the closing error",
      );
      const gateway = cluster.workers.find((p) => p.name === "gateway-1")!;
      await until("the gateway to log the refusal", () =>
        Promise.resolve(
          gateway.lines.some((l) => l.event === "session.refused" && l.code === "RATE_LIMITED")
            ? true
            : undefined,
        ), 5_000);

      // No HELLO: closed after helloTimeoutMs with IDLE_TIMEOUT (4003).
      const silent = new TestClient(ws(cluster.gateways[0]));
      clients.push(silent);
      await silent.opened();
      await expectClose(silent, 4003, "IDLE_TIMEOUT");

      // A forged token: UNAUTHENTICATED (4001).
      const forged = new TestClient(ws(cluster.gateways[0]));
      clients.push(forged);
      await forged.opened();
      const real = await guestToken(cluster.gateways[0], "forger");
      forged.send({ op: 1, protocol: 1, token: real.slice(0, -4) + "AAAA" });
      await expectClose(forged, 4001, "UNAUTHENTICATED");

      // Silence after WELCOME: IDLE_TIMEOUT (4003) after idleTimeoutMs.
      const idle = await client("idle");
      await expectClose(idle, 4003, "IDLE_TIMEOUT");

      // Login errors are JSON with stable codes.
      const login = (body: string) =>
        fetch(`${cluster.gateways[0]}/login`, { method: "POST", body });
      const wrong = await login(
        JSON.stringify({ username: "nobody", password: "secret-password" }),
      );
      assert.equal(wrong.status, 401);
      assert.equal((await wrong.json()).error.code, "BAD_CREDENTIALS");
      const badJson = await login("{");
      assert.equal(badJson.status, 400);
      assert.equal((await badJson.json()).error.code, "BAD_REQUEST");
      const registered = await login(
        JSON.stringify({ username: "alice", password: "correct horse", register: true }),
      );
      assert.equal(registered.status, 200, await registered.clone().text());
      await registered.body?.cancel();
      const again = await login(
        JSON.stringify({ username: "alice", password: "correct horse", register: true }),
      );
      assert.equal(again.status, 409);
      assert.equal((await again.json()).error.code, "USERNAME_TAKEN");
      const ok = await login(JSON.stringify({ username: "alice", password: "correct horse" }));
      assert.equal(ok.status, 200);
      assert.match((await ok.json()).token, /\S/);
      const plain = await fetch(`${cluster.gateways[0]}/ws`);
      assert.equal(plain.status, 400);
      await plain.body?.cancel();

      // Random garbage over real sockets: every connection gets BAD_FRAME (or TOO_BIG) and
      // is closed; nothing else is affected.
      const garbage = fc.sample(
        fc.oneof(
          fc.uint8Array({ minLength: 1, maxLength: 64 }),
          fc.string({ minLength: 1, maxLength: 64 }),
          fc.uint8Array({ minLength: 1, maxLength: 8 }).map((b) => new Uint8Array([0x82, ...b])),
        ),
        { numRuns: 30, seed: 42 },
      );
      // The gateway's own decoder is the oracle: a frame it rejects closes the session with
      // BAD_FRAME or TOO_BIG; a frame that happens to be a valid message leaves it working.
      let validFrames = 0;
      for (const frame of garbage) {
        const fuzzed = await client("fuzz");
        let valid: ClientMessage | undefined;
        try {
          valid = decodeClientFrame(frame, { maxBytes: LIMITS.maxFrameBytes });
        } catch {
          valid = undefined;
        }
        fuzzed.socket.send(frame);
        if (valid && valid.op !== Op.HELLO) {
          validFrames++;
          fuzzed.send({ op: 4, t: 77 });
          await fuzzed.waitFor(
            "PONG after a valid fuzzed frame",
            () => fuzzed.messages.find((m) => m.op === 7 && m.t === 77),
          );
          assert.deepEqual(
            fuzzed.errors,
            [],
            `a valid frame is no error: ${JSON.stringify(valid)}`,
          );
          assert.equal(fuzzed.socket.readyState, WebSocket.OPEN);
          continue;
        }
        const closed = await fuzzed.waitFor("the close", () => fuzzed.closedWith);
        const code = fuzzed.errors.at(-1)?.code;
        if (valid) { // a second HELLO
          assert.deepEqual([code, closed.code], ["BAD_FRAME", 1008]);
          continue;
        }
        assert.ok(code === "BAD_FRAME" || code === "TOO_BIG", `error ${code}`);
        assert.equal(closed.code, code === "TOO_BIG" ? 1009 : 1007, `close for ${code}`);
      }
      assert.ok(validFrames < garbage.length, "most fuzzed frames are garbage");

      // The bystander kept receiving its stream through all of that.
      const before = bystander.diffs;
      bystander.send({ op: 4, t: 1 });
      await bystander.waitFor(
        "more diffs",
        () => (bystander.diffs > before + 5 ? true : undefined),
      );
      assert.equal(bystander.socket.readyState, WebSocket.OPEN);
      assert.deepEqual(bystander.problems, []);
    } finally {
      clearInterval(keepAlive);
      for (const c of clients) c.close();
      await cluster.close();
    }
  },
});

Deno.test({
  name: "a client standing in a cell moved by the API sees no gap and keeps its entity",
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    const cluster = await startCluster({
      rebalance: { enabled: false },
      game: { npcs: 200, speed: 40, bumpRadius: 4, bumpCooldownTicks: 20, seed: 4 },
      gateway: LIMITS,
    }, { gateways: 1 });
    const player = new TestClient(ws(cluster.gateways[0]));
    try {
      const welcome = await player.hello({
        token: await guestToken(cluster.gateways[0], "stander"),
      });
      const at = await player.waitFor("own position", () => player.visible.get(welcome.entity));
      const before = await cluster.state();
      const cellSize = 100, columns = 4;
      const cell = Math.floor(at.x / cellSize) + Math.floor(at.y / cellSize) * columns;
      const from = before.map.owners[cell];
      const to = from === "w1" ? "w2" : "w1";
      let t = 0;
      const keepAlive = setInterval(() => player.send({ op: 4, t: ++t }), 500);
      try {
        const moved = await cluster.post(`/api/cells/${cell}/move`, { to });
        assert.equal(moved.status, 202, await moved.clone().text());
        await moved.body?.cancel();
        const done = await until("the cell to migrate", async () => {
          const s = await cluster.state();
          return s.events.some((e) => e.kind === "cell.migrated" && e.cell === cell)
            ? s
            : undefined;
        }, 10_000);
        assert.equal(done.map.owners[cell], to);
        const diffs = player.diffs;
        await player.waitFor(
          "diffs after the move",
          () => (player.diffs > diffs + 20 ? true : undefined),
        );
      } finally {
        clearInterval(keepAlive);
      }
      assert.deepEqual(player.problems, [], "no double enter, no lost own entity");
      assertNoMissedTick(player, cluster.workers);
      assert.ok(player.visible.has(welcome.entity));
    } finally {
      player.close();
      await cluster.close();
    }
  },
});

Deno.test({
  name: "a client that stops reading gets only the newest state and is closed if it stays behind",
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    const cluster = await startCluster({
      world: { dims: 2, size: [200, 200], cellSize: 100 },
      aoiRadius: 60,
      ghostMargin: 70,
      rebalance: { enabled: false },
      // ~600 entities in view: about 0.5 MB/s of diffs, so a reader that stops falls behind soon
      // after the kernel's socket buffers (a few MB) are full.
      game: { npcs: 2_000, speed: 40, bumpRadius: 4, bumpCooldownTicks: 20, seed: 2 },
      gateway: { ...LIMITS, maxBehindTicks: 40, idleTimeoutMs: 30_000 },
    }, { gateways: 1 });
    const watcher = new TestClient(ws(cluster.gateways[0]));
    try {
      await watcher.hello({ token: await guestToken(cluster.gateways[0], "watcher") });
      const { hostname, port } = new URL(cluster.gateways[0]);
      const token = await guestToken(cluster.gateways[0], "slow");
      const script = new URL("./fixtures/slow_reader.py", import.meta.url).pathname;
      // The fixture never reads, so it cannot see the close; the gateway's log says why. How
      // soon depends on how fast the kernel's socket buffers fill on a busy machine: wait for
      // the verdict (bounded), then stop the fixture.
      const fixture = new Deno.Command("python3", {
        args: [script, hostname, port, token, "45"],
        stdout: "piped",
        stderr: "null",
      }).spawn();
      const gateway = cluster.workers.find((p) => p.name === "gateway-1")!;
      let refused: typeof gateway.lines = [];
      try {
        await until("the gateway to close the slow reader", () => {
          refused = gateway.lines.filter((l) => l.event === "session.refused");
          return Promise.resolve(
            refused.some((l) => l.code === "SLOW_CONSUMER") ? true : undefined,
          );
        }, 45_000);
      } finally {
        try {
          fixture.kill("SIGKILL");
        } catch { /* it ended */ }
        await fixture.output();
      }
      assert.ok(
        refused.some((l) => l.code === "SLOW_CONSUMER"),
        `closed as a slow consumer: ${JSON.stringify(refused)}`,
      );
      assert.ok(!refused.some((l) => l.code === "BAD_FRAME"), "and for nothing else");
      // Everyone else is fine.
      const before = watcher.diffs;
      watcher.send({ op: 4, t: 1 });
      await watcher.waitFor("more diffs", () => (watcher.diffs > before + 5 ? true : undefined));
      assert.deepEqual(watcher.problems, []);
    } finally {
      watcher.close();
      await cluster.close();
    }
  },
});
