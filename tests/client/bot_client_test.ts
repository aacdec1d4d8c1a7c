import assert from "node:assert/strict";
import { waitUntil } from "../../testing/wait_until.ts";
import { AckTimer, BotClient, sessionUrl, walkHeading } from "../../src/client/bot_client.ts";
import { BotMetrics } from "../../src/client/bot_report.ts";
import {
  decodeClientFrame,
  encodeServerFrame,
  Op,
  type ServerMessage,
} from "../../src/protocol/client_protocol.ts";
import { mulberry32 } from "../../src/sim/random.ts";
import { gatewayHttp, gatewayRow, welcomeWithFirstDiff } from "../../testing/scripted_gateway.ts";

Deno.test("the walk turns a little each step and heads inwards near the world's edges", () => {
  const random = mulberry32(5);
  let heading = 0;
  for (let i = 0; i < 100; i++) {
    const next = walkHeading(heading, random, [500, 500], [1000, 1000]);
    assert.ok(Math.abs(next - heading) <= 0.4 + 1e-9, "at most MAX_TURN / 2 either way");
    heading = next;
  }
  const inwards = (position: number[]) => {
    const h = walkHeading(0, () => 0.5, position, [1000, 1000]);
    return [Math.sign(Math.round(Math.cos(h) * 1e6)), Math.sign(Math.round(Math.sin(h) * 1e6))];
  };
  assert.deepEqual(inwards([999, 500]), [-1, 0]);
  assert.deepEqual(inwards([500, 1]), [0, 1]);
  assert.deepEqual(inwards([1, 1]), [1, 1]);
});

Deno.test("ack latency is measured from each INPUT to the first DIFF that acknowledges it", () => {
  const acks = new AckTimer();
  const seen: number[] = [];
  for (let seq = 1; seq <= 3000; seq++) acks.sent(seq, seq * 10);
  acks.acked(0, 5, (ms) => seen.push(ms));
  assert.equal(seen.length, 0, "ack 0: nothing applied yet");
  acks.acked(2, 25, (ms) => seen.push(ms));
  assert.deepEqual(seen, [15, 5]);
  acks.acked(2, 40, (ms) => seen.push(ms));
  assert.equal(seen.length, 2, "an input is measured once");
  acks.acked(2999, 30_000, () => {});
  assert.equal(acks.pending, 1, "the queue survives compaction");
  acks.acked(3000, 30_010, (ms) => seen.push(ms));
  assert.equal(seen.at(-1), 10);
  acks.sent(3001, 1);
  acks.clear();
  assert.equal(acks.pending, 0);
});

Deno.test("the session URL asks for JSON only when the format is json", () => {
  assert.equal(sessionUrl("ws://127.0.0.1:8080/ws", "json"), "ws://127.0.0.1:8080/ws?format=json");
  assert.equal(sessionUrl("ws://127.0.0.1:8080/ws", "msgpack"), "ws://127.0.0.1:8080/ws");
});

/** A gateway that follows the protocol, drops the first session with 4004 after 3 INPUTs. */
function fakeGateway(deadUrl: string) {
  const hellos: Record<string, unknown>[] = [];
  let connections = 0;
  const server: Deno.HttpServer<Deno.NetAddr> = Deno.serve({
    hostname: "127.0.0.1",
    port: 0,
    onListen() {},
  }, (request): Response => {
    const url = new URL(request.url);
    const self = `ws://127.0.0.1:${server.addr.port}/ws`;
    const answer = gatewayHttp(url, [gatewayRow("dead", deadUrl), gatewayRow("live", self)]);
    if (answer) return answer;
    const { socket, response } = Deno.upgradeWebSocket(request);
    const connection = ++connections;
    let tick = 100 * connection;
    let inputs = 0;
    const send = (m: ServerMessage) => socket.send(encodeServerFrame(m, "msgpack"));
    socket.onmessage = (event) => {
      const message = decodeClientFrame(event.data, { maxBytes: 8192 });
      if (message.op === Op.HELLO) {
        hellos.push({ ...message });
        const resumed = message.resumeToken !== undefined;
        welcomeWithFirstDiff({ connection, resumed, tick, at: [99, 50] }).forEach(send);
      } else if (message.op === Op.INPUT) {
        inputs++;
        tick++;
        const x = 99 + tick % 2; // crosses the cell border at x = 100 every tick
        send({
          op: Op.DIFF,
          tick,
          ack: message.seq,
          enter: [],
          update: [[42, x, 50, 0]],
          leave: [],
        });
        if (connection === 1 && inputs === 3) socket.close(4004, "SLOW_CONSUMER");
      } else if (message.op === Op.PING) {
        send({ op: Op.PONG, t: message.t, serverTime: Date.now() });
      }
    };
    return response;
  });
  return { server, hellos };
}

function unusedPort(): number {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (listener.addr as Deno.NetAddr).port;
  listener.close();
  return port;
}

Deno.test({
  name: "a bot fails over to the next gateway, measures acks, and resumes after a 4004 close",
  async fn() {
    const dead = `ws://127.0.0.1:${unusedPort()}/ws`;
    const { server, hellos } = fakeGateway(dead);
    const metrics = new BotMetrics(mulberry32(1));
    const client = new BotClient({
      gateway: new URL(`http://127.0.0.1:${server.addr.port}`),
      name: "bot-1",
      format: "msgpack",
      rateHz: 50,
      pingMs: 50,
      timeoutMs: 5000,
      metrics,
      random: () => 0, // picks the first gateway of the list: the dead one
    });
    try {
      await client.start();
      assert.equal(metrics.connected, 1, JSON.stringify(metrics.failedConnects));
      assert.deepEqual(hellos[0], { op: Op.HELLO, protocol: 1, token: "v1.guest.sig" });
      await waitUntil("the resume", () => metrics.resumes === 1);
      assert.deepEqual(hellos[1], { op: Op.HELLO, protocol: 1, resumeToken: "r1.resume.1" });
      await waitUntil("acks after the resume", () => metrics.ackMs.count >= 5);
      await waitUntil("a pong", () => metrics.rttMs.count >= 1);
    } finally {
      await client.close();
      await server.shutdown();
    }
    assert.deepEqual(metrics.closes, { "4004": 1 }, "the server's close is counted, ours is not");
    assert.deepEqual(metrics.failedConnects, {});
    assert.deepEqual(metrics.stream.problems, {});
    assert.equal(metrics.connectMs.count, 1);
    assert.ok(metrics.stream.cellCrossings >= 1);
    assert.equal(metrics.connectedNow, 0);
    assert.ok(client.connectedMs > 0);
  },
});
