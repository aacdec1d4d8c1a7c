// The SDK's GameClient against scripted gateways on real sockets (each scripted to refuse, drop,
// redirect or send garbage at a chosen moment, which a real gateway does not do on demand), on
// fake timers so every pause of the reconnect logic is stepped by the test.
import assert from "node:assert/strict";
import { type ClientTimers } from "../../src/client/reconnect_backoff.ts";
import { LoginApiError } from "../../src/client/login_client.ts";
import { GameClient, type GameClientOptions } from "../../src/client/game_client.ts";
import { type ClientClose, ProtocolError, RoomError } from "../../src/client/client_events.ts";
import {
  type ClientMessage,
  CloseCode,
  decodeClientFrame,
  encodeServerFrame,
  type HelloMessage,
  Op,
  type ServerMessage,
} from "../../src/protocol/client_protocol.ts";
import {
  gatewayHttp,
  gatewayRow,
  SCRIPTED_ENTITY,
  welcomeWithFirstDiff,
} from "../../testing/scripted_gateway.ts";
import { waitUntil } from "../../testing/wait_until.ts";

/** Timers that fire only when the test advances them. */
function fakeTimers() {
  let now = 0, next = 0;
  const due = new Map<number, { at: number; fn: () => void }>();
  const timers: ClientTimers = {
    now: () => now,
    after(ms, fn) {
      const id = ++next;
      due.set(id, { at: now + ms, fn });
      return () => due.delete(id);
    },
  };
  return {
    timers,
    /** Delays of the timers waiting, from now, shortest first. */
    waiting: () => [...due.values()].map((d) => d.at - now).sort((a, b) => a - b),
    advance(ms: number) {
      now += ms;
      const ready = [...due].filter(([, d]) => d.at <= now).sort((a, b) => a[1].at - b[1].at);
      for (const [id, d] of ready) (due.delete(id), d.fn());
    },
  };
}

/** One WebSocket connection to a scripted gateway, from its HELLO on. */
interface Connection {
  n: number;
  hello: HelloMessage;
  frames: ClientMessage[];
  send(message: ServerMessage | string): void;
  close(code: number, reason?: string): void;
}

/** A gateway answering HTTP like gatewayHttp and handing each HELLO to `onHello`. */
function scriptedGateway(onHello: (c: Connection) => void, peers: () => string[] = () => []) {
  const connections: Connection[] = [];
  const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen() {} }, (request) => {
    const url = new URL(request.url);
    const rows = [self(), ...peers()].map((u, i) => gatewayRow(`g${i}`, u));
    const answer = gatewayHttp(url, rows);
    if (answer) return answer;
    const { socket, response } = Deno.upgradeWebSocket(request);
    let connection: Connection | undefined;
    socket.onmessage = (event) => {
      const message = decodeClientFrame(event.data, { maxBytes: 8192 });
      if (connection) return void connection.frames.push(message);
      connection = {
        n: connections.length + 1,
        hello: message as HelloMessage,
        frames: [],
        send: (m) => socket.send(typeof m === "string" ? m : encodeServerFrame(m, "msgpack")),
        close: (code, reason) => socket.close(code, reason),
      };
      connections.push(connection);
      onHello(connection);
    };
    return response;
  });
  const self = () => `ws://127.0.0.1:${server.addr.port}/ws`;
  return { server, connections, url: self, base: `http://127.0.0.1:${server.addr.port}` };
}

/** Welcomes every HELLO (a resume as `resumed`) with the first full DIFF. */
function welcome(c: Connection): void {
  const resumed = c.hello.resumeToken !== undefined;
  welcomeWithFirstDiff({ connection: c.n, resumed, tick: 10 * c.n, at: [50, 50] }).forEach(c.send);
}

function unusedPort(): number {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (listener.addr as Deno.NetAddr).port;
  listener.close();
  return port;
}

function client(servers: string[], timers: ClientTimers, more: Partial<GameClientOptions> = {}) {
  return new GameClient({
    servers,
    login: { guest: true, name: "Ann" },
    timers,
    random: () => 0,
    pingMs: 60_000,
    reconnect: { maxAttempts: 3, baseMs: 100, maxMs: 1000 },
    ...more,
  });
}

/** Every event of `c` of the given types, in order. */
function record(c: GameClient) {
  const events: [string, unknown][] = [];
  for (
    const type of ["welcome", "close", "reconnecting", "sessionLost", "reconnectFailed"] as const
  ) {
    c.on(type, (event) => events.push([type, event]));
  }
  return events;
}

Deno.test("login fails over to the next server; WELCOME, DIFFs, inputs with payloads and chat", async () => {
  const gw = scriptedGateway((c) => {
    welcome(c);
    c.send({ op: Op.CHAT, from: "Bo", channel: "global", text: "hi", time: 1 });
  });
  const fake = fakeTimers();
  const c = client([`http://127.0.0.1:${unusedPort()}`, gw.base], fake.timers);
  const chats: string[] = [];
  c.on("chat", (m) => chats.push(`${m.from}: ${m.text}`));
  try {
    const w = await c.connect();
    assert.deepEqual([w.entity, w.resumed, c.connected, c.gatewayUrl], [
      SCRIPTED_ENTITY,
      false,
      true,
      gw.url(),
    ]);
    assert.deepEqual(gw.connections[0].hello, { op: Op.HELLO, protocol: 1, token: "v1.guest.sig" });
    await assert.rejects(c.connect(), /already connected or connecting/);
    await waitUntil("the first DIFF", () => c.world.tick === 10);
    assert.deepEqual(c.world.own, {
      id: SCRIPTED_ENTITY,
      type: "player",
      x: 50,
      y: 50,
      z: 0,
      data: undefined,
    });
    gw.connections[0].send({
      op: Op.DIFF,
      tick: 11,
      ack: 1,
      enter: [],
      update: [[42, 51, 50, 0, { score: 2 }]],
      leave: [],
    });
    await waitUntil("the update", () => c.world.tick === 11);
    assert.deepEqual([c.world.own?.x, c.world.own?.data, c.world.ack], [51, { score: 2 }, 1]);
    assert.equal(c.input({ move: [1, 0], data: { jump: true } }), 1);
    assert.equal(c.chat("nearby", "hello there"), true);
    await waitUntil("the frames", () => gw.connections[0].frames.length === 3);
    assert.deepEqual(gw.connections[0].frames, [
      { op: Op.PING, t: 0 }, // right after WELCOME, on the client's clock
      { op: Op.INPUT, seq: 1, intent: { move: [1, 0], data: { jump: true } } },
      { op: Op.CHAT, channel: "nearby", text: "hello there" },
    ]);
    await waitUntil("the chat", () => chats.length === 1);
    assert.deepEqual(chats, ["Bo: hi"]);
  } finally {
    await c.close();
    await gw.server.shutdown();
  }
  assert.equal(c.input({ move: [0, 0] }), undefined, "no input once closed");
});

Deno.test("connect rejects with UNAVAILABLE naming the server when none answers", async () => {
  const dead = `http://127.0.0.1:${unusedPort()}`;
  const c = client([dead], fakeTimers().timers);
  await assert.rejects(
    c.connect(),
    (e) => e instanceof LoginApiError && e.code === "UNAVAILABLE" && /POST \/login/.test(e.message),
  );
  assert.equal(c.connected, false);
  await c.close();
});

Deno.test("malformed server frames are ProtocolError events; the frame is dropped, the session goes on", async () => {
  const gw = scriptedGateway(welcome);
  const fake = fakeTimers();
  const c = client([gw.base], fake.timers);
  const errors: ProtocolError[] = [];
  c.on("protocolError", (e) => errors.push(e));
  try {
    await c.connect();
    await waitUntil("the first DIFF", () => c.world.tick === 10);
    const conn = gw.connections[0];
    conn.send(JSON.stringify({ op: 99 }));
    conn.send(
      JSON.stringify({
        op: Op.DIFF,
        tick: 11,
        ack: 0,
        enter: [],
        update: [[42, "x", 0, 0]],
        leave: [],
      }),
    );
    conn.send("{not json");
    conn.send({ op: Op.DIFF, tick: 12, ack: 0, enter: [], update: [[7, 1, 1, 0]], leave: [] });
    conn.send({ op: Op.DIFF, tick: 13, ack: 0, enter: [], update: [[42, 60, 50, 0]], leave: [] });
    await waitUntil("the good DIFF", () => c.world.tick === 13);
    assert.deepEqual(
      errors.map((e) => [e.name, e.kind]),
      [
        ["ProtocolError", "BAD_FRAME"],
        ["ProtocolError", "BAD_FRAME"],
        ["ProtocolError", "BAD_FRAME"],
        ["ProtocolError", "UPDATE_UNKNOWN"],
      ],
    );
    assert.match(errors[0].message, /^Cannot decode frame: op must be 3 \(CHAT\)/);
    assert.match(errors[1].message, /DIFF\.update\[0\]\.x must be a finite number/);
    assert.match(errors[3].message, /UPDATE_UNKNOWN \(entity 7\)/);
    assert.deepEqual([c.connected, c.world.own?.x], [true, 60], "the session went on");
  } finally {
    await c.close();
    await gw.server.shutdown();
  }
});

Deno.test("after a drop the client waits its backoff pause, resumes, and a refused resume starts a new session", async () => {
  // Connection 2 (the first resume) is refused with 4002; the rest are welcomed.
  const gw = scriptedGateway((c) => {
    if (c.n !== 2) return welcome(c);
    c.send({ op: Op.ERROR, code: "RESUME_FAILED", message: "refused" });
    c.close(CloseCode.RESUME_FAILED, "RESUME_FAILED");
  });
  const fake = fakeTimers();
  const c = client([gw.base], fake.timers);
  const events = record(c);
  try {
    await c.connect();
    gw.connections[0].close(CloseCode.SLOW_CONSUMER, "SLOW_CONSUMER");
    await waitUntil("the pause", () => events.some(([type]) => type === "reconnecting"));
    assert.deepEqual(fake.waiting(), [100], "one pause of baseMs (jitter 0 with random 0)");
    fake.advance(99);
    assert.deepEqual(fake.waiting(), [1], "not yet");
    assert.equal(gw.connections.length, 1);
    fake.advance(1);
    await waitUntil("the new session", () => gw.connections.length === 3 && c.connected);
    assert.deepEqual(gw.connections[1].hello, {
      op: Op.HELLO,
      protocol: 1,
      resumeToken: "r1.resume.1",
    });
    assert.deepEqual(gw.connections[2].hello, { op: Op.HELLO, protocol: 1, token: "v1.guest.sig" });
    // A resumable drop of the new session resumes with the new session's token.
    gw.connections[2].close(CloseCode.WORLD_STALLED, "WORLD_STALLED");
    await waitUntil(
      "the second pause",
      () => events.filter(([t]) => t === "reconnecting").length === 2,
    );
    fake.advance(100);
    await waitUntil("the resume", () => gw.connections.length === 4 && c.connected);
    assert.deepEqual(gw.connections[3].hello, {
      op: Op.HELLO,
      protocol: 1,
      resumeToken: "r1.resume.3",
    });
  } finally {
    await c.close();
    await gw.server.shutdown();
  }
  const close = (code: number): ClientClose => ({
    code,
    reason: CloseCode.SLOW_CONSUMER === code ? "SLOW_CONSUMER" : "WORLD_STALLED",
    error: undefined,
    requested: false,
    redirect: undefined,
    reconnect: true,
  });
  assert.deepEqual(events.map(([type]) => type), [
    "welcome",
    "close",
    "reconnecting",
    "sessionLost",
    "welcome",
    "close",
    "reconnecting",
    "welcome",
    "close",
  ]);
  // A server's close can reach the client as 1006, its close frame lost to a reset (docs/
  // protocol.md, "Close codes"); the client resumes from either.
  const closed = (event: unknown, code: number) => {
    const got = event as ClientClose;
    if (got.code === 1006) assert.deepEqual(got, { ...close(code), code: 1006, reason: "" });
    else assert.deepEqual(got, close(code));
  };
  closed(events[1][1], CloseCode.SLOW_CONSUMER);
  assert.deepEqual(events[2][1], { attempt: 1, delayMs: 100 });
  closed(events[5][1], CloseCode.WORLD_STALLED);
  assert.deepEqual(events[6][1], { attempt: 1, delayMs: 100 }, "a WELCOME resets the backoff");
  assert.equal((events[7][1] as { resumed: boolean }).resumed, true);
  assert.equal((events[8][1] as ClientClose).requested, true);
});

Deno.test("reconnect attempts are bounded per outage, pauses doubling; then the client stops", async () => {
  const gw = scriptedGateway((c) => {
    if (c.n === 1) return welcome(c);
    c.send({ op: Op.ERROR, code: "UNAVAILABLE", message: "not now" });
    c.close(CloseCode.INTERNAL, "UNAVAILABLE");
  });
  const fake = fakeTimers();
  const c = client([gw.base], fake.timers);
  const events = record(c);
  try {
    await c.connect();
    gw.connections[0].close(1011, "INTERNAL");
    for (const [attempt, pause] of [[1, 100], [2, 200], [3, 400]]) {
      await waitUntil(
        `pause ${attempt}`,
        () => events.filter(([t]) => t === "reconnecting").length === attempt,
      );
      assert.deepEqual(fake.waiting(), [pause]);
      fake.advance(pause);
      await waitUntil(`attempt ${attempt}`, () => gw.connections.length === attempt + 1);
    }
    await waitUntil("the end", () => events.some(([t]) => t === "reconnectFailed"));
  } finally {
    await c.close();
    await gw.server.shutdown();
  }
  const failed = events.find(([t]) => t === "reconnectFailed")![1] as {
    attempts: number;
    error: Error;
  };
  assert.equal(failed.attempts, 3);
  assert.match(failed.error.message, /closed with 1011 \(UNAVAILABLE\)/);
  assert.equal(gw.connections.length, 4, "no fourth attempt");
  assert.deepEqual(fake.waiting(), [], "nothing left scheduled");
});

Deno.test("a REDIRECT sends the client at once to the named gateway, where it resumes", async () => {
  const second = scriptedGateway(welcome);
  const first = scriptedGateway((c) => {
    welcome(c);
    c.send({ op: Op.REDIRECT, url: second.url() });
    c.close(CloseCode.GOING_AWAY, "");
  });
  const fake = fakeTimers();
  const c = client([first.base], fake.timers);
  const events = record(c);
  try {
    await c.connect();
    await waitUntil("the pause", () => events.some(([type]) => type === "reconnecting"));
    assert.deepEqual(events[2][1], { attempt: 1, delayMs: 0 });
    fake.advance(0);
    await waitUntil("the resume there", () => second.connections.length === 1 && c.connected);
    assert.deepEqual(second.connections[0].hello, {
      op: Op.HELLO,
      protocol: 1,
      resumeToken: "r1.resume.1",
    });
    assert.equal(c.gatewayUrl, second.url());
  } finally {
    await c.close();
    await first.server.shutdown();
    await second.server.shutdown();
  }
  const close = events[1][1] as ClientClose;
  assert.deepEqual([close.code, close.redirect, close.reconnect], [1001, second.url(), true]);
});

Deno.test("rooms requests resolve with their answer or reject with the refusal; a final close does not reconnect", async () => {
  const gw = scriptedGateway((c) => {
    welcome(c);
  });
  const fake = fakeTimers();
  const c = client([gw.base], fake.timers);
  const events = record(c);
  try {
    await c.connect();
    const search = c.room({ op: Op.SEARCH, mode: "arena" });
    const join = c.room({ op: Op.JOIN, instance: "i9" });
    const requests = () => gw.connections[0].frames.filter((f) => f.op !== Op.PING);
    await waitUntil("the requests", () => requests().length === 2);
    assert.deepEqual(requests(), [
      { op: Op.SEARCH, mode: "arena", ref: 1 },
      { op: Op.JOIN, instance: "i9", ref: 2 },
    ]);
    gw.connections[0].send({
      op: Op.ERROR,
      code: "INSTANCE_NOT_FOUND",
      message: "No instance",
      ref: 2,
    });
    gw.connections[0].send({ op: Op.ROOMS, ref: 1, instances: [] });
    assert.deepEqual(await search, { op: Op.ROOMS, ref: 1, instances: [] });
    await assert.rejects(
      join,
      (e) => e instanceof RoomError && e.code === "INSTANCE_NOT_FOUND" && e.ref === 2,
    );
    const unanswered = c.room({ op: Op.LEAVE });
    gw.connections[0].close(CloseCode.SESSION_TAKEN_OVER, "SESSION_TAKEN_OVER");
    await assert.rejects(unanswered, (e) => e instanceof RoomError && e.code === "UNAVAILABLE");
    await waitUntil("the close", () => events.some(([t]) => t === "close"));
  } finally {
    await c.close();
    await gw.server.shutdown();
  }
  assert.deepEqual((events.at(-1)![1] as ClientClose).reconnect, false);
  assert.deepEqual(events.map(([t]) => t), ["welcome", "close"], "no reconnect after 4006");
  assert.deepEqual(fake.waiting(), []);
});
