// The session hub through its HubTransport seam: fake sockets, a recording transport and a
// manual clock, so handshake, routing and timers are checked without a network or a sleep.
import assert from "node:assert/strict";
import { DEFAULTS, type GatewayConfig } from "../../src/config/config.ts";
import { decodeServerFrame, encodeClientFrame } from "../../src/client/client_codec.ts";
import {
  type ClientMessage,
  closeCodeFor,
  Op,
  PROTOCOL_VERSION,
  type ServerMessage,
} from "../../src/protocol/client_protocol.ts";
import { ErrorCode } from "../../src/errors.ts";
import { Logger } from "../../src/observe/log.ts";
import { JOIN_TIMEOUT_MS } from "../../src/session/handshake.ts";
import { SessionHub } from "../../src/session/hub.ts";
import { sweepIntervalMs } from "../../src/session/session_silence.ts";
import type { HubTransport } from "../../src/session/hub_transport.ts";
import { signToken } from "../../src/session/login_tokens.ts";
import {
  emptyReport,
  type GatewayCommand,
  type WorkerReport,
} from "../../src/session/session_messages.ts";
import { ManualTimers } from "../../src/session/timers.ts";
import { SOCKET_HIGH_WATER } from "../../src/session/session_writer.ts";
import { worldSpecOf } from "../../src/world/world_spec.ts";

const SECRET = "hub-test-secret-0123456789";
const START_MS = 1_700_000_000_000;

/** The parts of a WebSocket the hub uses; records what it sends and how it is closed. */
class FakeSocket {
  binaryType = "blob";
  readyState: number = WebSocket.OPEN;
  bufferedAmount = 0;
  onmessage: ((event: { data: unknown }) => void) | null = null;
  onclose: (() => void) | null = null;
  onerror: (() => void) | null = null;
  readonly received: ServerMessage[] = [];
  /** The frames as sent. */
  readonly frames: Array<Uint8Array | string> = [];
  closed?: { code: number; reason: string };

  send(frame: Uint8Array | string): void {
    this.frames.push(frame);
    this.received.push(decodeServerFrame(frame));
  }

  close(code: number, reason: string): void {
    this.closed = { code, reason };
    this.readyState = WebSocket.CLOSED;
  }

  /** The client sends a frame. */
  deliver(message: ClientMessage): void {
    this.onmessage?.({ data: encodeClientFrame(message, "msgpack") });
  }

  ofOp<O extends ServerMessage["op"]>(op: O): Array<ServerMessage & { op: O }> {
    return this.received.filter((m): m is ServerMessage & { op: O } => m.op === op);
  }
}

interface Harness {
  hub: SessionHub;
  timers: ManualTimers;
  sent: Array<{ worker: string; command: GatewayCommand }>;
  owner: { value: string };
  connect(): FakeSocket;
  close(): void;
}

function harness(overrides: Partial<GatewayConfig> = {}): Harness {
  const timers = new ManualTimers(START_MS);
  const sent: Harness["sent"] = [];
  const owner = { value: "w1" };
  const transport: HubTransport = {
    gatewayId: "g1",
    ownerAt: () => owner.value,
    workers: () => ["w1", "w2"],
    send: (worker, command) => sent.push({ worker, command }),
    relay: () => {},
  };
  const world = worldSpecOf({
    world: { dims: 2, size: [200, 200], cellSize: 100 },
    tickHz: 20,
    aoiRadius: 20,
    ghostMargin: 30,
  }, START_MS);
  const hub = new SessionHub({
    config: { ...DEFAULTS.gateway, ...overrides },
    world,
    secret: SECRET,
    log: new Logger({ role: "gateway", level: "error", sink: () => {} }),
    transport,
    timers,
    random: () => 0.25,
  });
  return {
    hub,
    timers,
    sent,
    owner,
    connect() {
      const socket = new FakeSocket();
      hub.accept(socket as unknown as WebSocket, "msgpack");
      return socket;
    },
    close: () => hub.closeAll(),
  };
}

/** Lets pending promise continuations run, until `done` holds (bounded: no clock involved). */
async function settle(done: () => boolean, what: string): Promise<void> {
  for (let turn = 0; turn < 1_000; turn++) {
    if (done()) return;
    await new Promise((resolve) => queueMicrotask(() => resolve(undefined)));
  }
  assert.fail(`never happened: ${what}`);
}

function closeCodeOf(socket: FakeSocket): number | undefined {
  return socket.closed?.code;
}

function loginToken(name = "ada"): string {
  return signToken(
    { sub: `guest:${name}`, name, kind: "guest", exp: START_MS + 3_600_000 },
    SECRET,
  );
}

function report(worker: string, tick: number, parts: Partial<WorkerReport>): WorkerReport {
  return { ...emptyReport(worker, tick), ...parts };
}

/** A report moving the player's own entity to (50, tick). */
function moveReport(session: string, entity: number, tick: number): WorkerReport {
  return report("w1", tick, {
    diffs: [{
      session,
      entity,
      ack: 0,
      full: false,
      enter: [],
      update: [[entity, 50, tick, 0]],
      leave: [],
    }],
  });
}

/** HELLO → join on the owner → the worker answers → WELCOME. Returns the session's ids. */
async function join(h: Harness, socket: FakeSocket, entity = 41) {
  socket.deliver({ op: Op.HELLO, protocol: PROTOCOL_VERSION, token: loginToken() });
  const request = h.sent.at(-1);
  assert.equal(request?.command.op, "join");
  assert.equal(request.worker, "w1");
  const session = (request.command as GatewayCommand & { op: "join" }).session;
  h.hub.onReport(report("w1", 5, {
    joined: [{ session, entity }],
    diffs: [{
      session,
      entity,
      ack: 0,
      full: true,
      enter: [[entity, "player", 50, 50, 0, {}]],
      update: [],
      leave: [],
    }],
  }));
  await settle(() => socket.ofOp(Op.WELCOME).length === 1, "WELCOME");
  return { session, entity, welcome: socket.ofOp(Op.WELCOME)[0] };
}

Deno.test("HELLO with a login token joins on the owning worker and ends in WELCOME and a full DIFF", async () => {
  const h = harness();
  try {
    const socket = h.connect();
    const { session, entity, welcome } = await join(h, socket);
    const request = h.sent[0].command as GatewayCommand & { op: "join" };
    assert.deepEqual([request.name, request.x, request.y, request.z], ["ada", 50, 50, 0]);
    assert.equal(welcome.session, session);
    assert.equal(welcome.entity, entity);
    assert.equal(welcome.resumed, false);
    assert.deepEqual(welcome.world, { dims: 2, size: [200, 200], cellSize: 100 });
    const diffs = socket.ofOp(Op.DIFF);
    assert.equal(diffs.length, 1);
    assert.equal(diffs[0].full, true);
    assert.deepEqual(diffs[0].enter.map((e) => e[0]), [entity]);
    assert.equal(h.hub.size, 1);
  } finally {
    h.close();
  }
});

/** The resume commands sent to w1 so far (each is also sent to w2), newest last. */
function resumesSent(h: Harness): Array<GatewayCommand & { op: "resume" }> {
  return h.sent.filter((s) => s.worker === "w1").map((s) => s.command)
    .filter((c): c is GatewayCommand & { op: "resume" } => c.op === "resume");
}

/** A session joined on a first connection, and a second one asking to resume it. */
async function resumeAsked(h: Harness) {
  const first = h.connect();
  const joined = await join(h, first);
  const second = h.connect();
  second.deliver({
    op: Op.HELLO,
    protocol: PROTOCOL_VERSION,
    resumeToken: joined.welcome.resumeToken,
  });
  return { ...joined, first, second };
}

/** The id of the resume token a join handed out: the connection's `conn`. */
function joinConn(h: Harness, session: string): string {
  const join = h.sent.find((s) => s.command.op === "join" && s.command.session === session);
  return (join!.command as GatewayCommand & { op: "join" }).resumeJti;
}

Deno.test("a resume the owning worker accepts takes the session over; the old connection is closed then, not before", async () => {
  const h = harness();
  try {
    const { session, entity, welcome, first, second } = await resumeAsked(h);
    const asks = h.sent.filter((s) => s.command.op === "resume");
    assert.deepEqual(asks.map((s) => s.worker), ["w1", "w2"]);
    const ask = resumesSent(h)[0];
    assert.equal(ask.session, session);
    // Nothing changes until the worker decides.
    assert.equal(first.closed, undefined);
    assert.equal(h.hub.sessions.get(session) !== undefined, true);
    h.hub.onReport(report("w2", 9, {
      superseded: [{ session, conn: joinConn(h, session) }],
      resumed: [{ session, entity, ok: true, conn: ask.nextJti }],
    }));
    assert.equal(first.ofOp(Op.ERROR)[0]?.code, ErrorCode.SESSION_TAKEN_OVER);
    assert.equal(closeCodeOf(first), closeCodeFor(ErrorCode.SESSION_TAKEN_OVER));
    assert.equal(h.sent.some((s) => s.command.op === "detach"), false);
    await settle(() => second.ofOp(Op.WELCOME).length === 1, "WELCOME on resume");
    const resumed = second.ofOp(Op.WELCOME)[0];
    assert.equal(resumed.resumed, true);
    assert.equal(resumed.entity, entity);
    assert.notEqual(resumed.resumeToken, welcome.resumeToken);
    // Inputs now go to the worker that answered, named by the new connection's id.
    second.deliver({ op: Op.INPUT, seq: 1, intent: { move: [1, 0] } });
    assert.deepEqual(h.sent.at(-1), {
      worker: "w2",
      command: {
        op: "input",
        entity,
        conn: ask.nextJti,
        input: { seq: 1, move: [1, 0], action: undefined },
      },
    });
  } finally {
    h.close();
  }
});

Deno.test("a refused resume token changes nothing for the live connection", async () => {
  const h = harness();
  try {
    const { session, entity, first, second } = await resumeAsked(h);
    const ask = resumesSent(h)[0];
    h.hub.onReport(
      report("w1", 9, { resumed: [{ session, entity, ok: false, conn: ask.nextJti }] }),
    );
    await settle(() => second.closed !== undefined, "refusal");
    assert.equal(second.ofOp(Op.ERROR)[0].code, ErrorCode.RESUME_FAILED);
    assert.equal(closeCodeOf(second), closeCodeFor(ErrorCode.RESUME_FAILED));
    assert.equal(first.closed, undefined, "the live connection stays");
    assert.equal(h.hub.sessions.get(session) !== undefined, true);
    assert.equal(h.sent.some((s) => s.command.op === "detach"), false);
    // It still receives its diffs.
    h.hub.onReport(report("w1", 10, {
      diffs: [{ session, entity, ack: 0, full: false, enter: [], update: [], leave: [] }],
    }));
    assert.equal(first.ofOp(Op.DIFF).at(-1)?.tick, 10);
  } finally {
    h.close();
  }
});

Deno.test("of two racing resumes with one token, the one the worker accepts wins and the other is refused", async () => {
  const h = harness();
  try {
    const first = h.connect();
    const { session, entity, welcome } = await join(h, first);
    first.onclose?.(); // dropped
    const a = h.connect();
    const b = h.connect();
    a.deliver({ op: Op.HELLO, protocol: PROTOCOL_VERSION, resumeToken: welcome.resumeToken });
    b.deliver({ op: Op.HELLO, protocol: PROTOCOL_VERSION, resumeToken: welcome.resumeToken });
    const [askA, askB] = resumesSent(h);
    assert.notEqual(askA.nextJti, askB.nextJti, "each connection asks under its own id");
    // The worker applies b's first: b wins, a is refused.
    h.hub.onReport(report("w1", 9, {
      resumed: [
        { session, entity, ok: true, conn: askB.nextJti },
        { session, entity, ok: false, conn: askA.nextJti },
      ],
    }));
    await settle(() => b.ofOp(Op.WELCOME).length === 1 && a.closed !== undefined, "both answers");
    assert.equal(a.ofOp(Op.ERROR)[0].code, ErrorCode.RESUME_FAILED);
    assert.equal(b.closed, undefined);
    assert.equal(h.hub.sessions.get(session)?.conn, askB.nextJti);
  } finally {
    h.close();
  }
});

Deno.test("inputs follow the player to the worker that reports it, and repeats are dropped", async () => {
  const h = harness();
  try {
    const socket = h.connect();
    const { session, entity } = await join(h, socket);
    const inputs = () => h.sent.filter((s) => s.command.op === "input");
    socket.deliver({ op: Op.INPUT, seq: 1, intent: { move: [0, 1] } });
    socket.deliver({ op: Op.INPUT, seq: 1, intent: { move: [0, 1] } }); // repeated
    assert.deepEqual(inputs().map((s) => s.worker), ["w1"]);
    // A handoff: w2 reports the player from now on.
    h.hub.onReport(report("w2", 6, {
      diffs: [{
        session,
        entity,
        ack: 1,
        full: true,
        enter: [[entity, "player", 101, 50, 0, {}]],
        update: [],
        leave: [],
      }],
    }));
    socket.deliver({ op: Op.INPUT, seq: 2, intent: { move: [1, 0] } });
    assert.deepEqual(inputs().map((s) => s.worker), ["w1", "w2"]);
    // The old owner's late report does not move the player back.
    h.hub.onReport(report("w1", 6, {
      diffs: [{
        session,
        entity,
        ack: 1,
        full: false,
        enter: [],
        update: [[entity, 99, 50, 0]],
        leave: [],
      }],
    }));
    socket.deliver({ op: Op.INPUT, seq: 3, intent: { move: [1, 0] } });
    assert.deepEqual(inputs().map((s) => s.worker), ["w1", "w2", "w2"]);
  } finally {
    h.close();
  }
});

Deno.test("any frame but HELLO before WELCOME is UNAUTHENTICATED, close 4001", () => {
  const h = harness();
  try {
    const frames: ClientMessage[] = [
      { op: Op.INPUT, seq: 1, intent: { move: [0, 0] } },
      { op: Op.CHAT, channel: "global", text: "hi" },
      { op: Op.PING, t: 1 },
    ];
    for (const frame of frames) {
      const socket = h.connect();
      socket.deliver(frame);
      assert.equal(socket.ofOp(Op.ERROR)[0].code, ErrorCode.UNAUTHENTICATED);
      assert.equal(socket.ofOp(Op.PONG).length, 0);
      assert.equal(closeCodeOf(socket), 4001);
    }
    assert.equal(h.sent.length, 0);
  } finally {
    h.close();
  }
});

Deno.test("a second HELLO is BAD_REQUEST, close 1008", async () => {
  const h = harness();
  try {
    const socket = h.connect();
    await join(h, socket);
    socket.deliver({ op: Op.HELLO, protocol: PROTOCOL_VERSION, token: loginToken() });
    assert.equal(socket.ofOp(Op.ERROR)[0].code, ErrorCode.BAD_REQUEST);
    assert.equal(closeCodeOf(socket), 1008);
  } finally {
    h.close();
  }
});

Deno.test("the idle sweep closes a silent live session and detaches its entity", async () => {
  const idleTimeoutMs = 2_000;
  // The world stays quiet in this harness: its own bound (WORLD_STALLED) is out of the way.
  const ownerSilenceMs = 60_000;
  const h = harness({ idleTimeoutMs, ownerSilenceMs });
  try {
    const quiet = h.connect();
    const chatty = h.connect();
    const { entity, session } = await join(h, quiet, 41);
    h.owner.value = "w1";
    const other = await join(h, chatty, 42);
    const sweep = sweepIntervalMs({ idleTimeoutMs, ownerSilenceMs });
    // The chatty client pings every half timeout; the quiet one says nothing.
    for (let t = 0; t < idleTimeoutMs + 2 * sweep; t += idleTimeoutMs / 2) {
      chatty.deliver({ op: Op.PING, t });
      h.timers.advance(idleTimeoutMs / 2);
    }
    assert.equal(quiet.ofOp(Op.ERROR)[0]?.code, ErrorCode.IDLE_TIMEOUT);
    assert.equal(closeCodeOf(quiet), closeCodeFor(ErrorCode.IDLE_TIMEOUT));
    assert.ok(
      h.sent.some((s) =>
        s.command.op === "detach" && s.command.entity === entity && s.command.session === session
      ),
    );
    assert.equal(chatty.closed, undefined);
    assert.ok(chatty.ofOp(Op.PONG).length > 0);
    assert.equal(h.hub.size, 1);
    assert.ok(h.hub.sessions.has(other.session));
  } finally {
    h.close();
  }
});

Deno.test("no HELLO within helloTimeoutMs closes the connection, not a moment before", () => {
  const h = harness({ helloTimeoutMs: 1_000 });
  try {
    const socket = h.connect();
    h.timers.advance(999);
    assert.equal(socket.closed, undefined);
    h.timers.advance(1);
    assert.equal(socket.ofOp(Op.ERROR)[0].code, ErrorCode.IDLE_TIMEOUT);
    assert.equal(closeCodeOf(socket), closeCodeFor(ErrorCode.IDLE_TIMEOUT));
  } finally {
    h.close();
  }
});

Deno.test("a join no worker answers fails with UNAVAILABLE after the join timeout", async () => {
  const h = harness();
  try {
    const socket = h.connect();
    socket.deliver({ op: Op.HELLO, protocol: PROTOCOL_VERSION, token: loginToken() });
    h.timers.advance(JOIN_TIMEOUT_MS - 1);
    await settle(() => true, "nothing");
    assert.equal(socket.closed, undefined);
    h.timers.advance(1);
    await settle(() => socket.closed !== undefined, "join timeout");
    assert.equal(socket.ofOp(Op.ERROR)[0].code, ErrorCode.UNAVAILABLE);
  } finally {
    h.close();
  }
});

Deno.test("closeAll tells every client to go away and leaves no timer behind", async () => {
  const h = harness();
  const socket = h.connect();
  await join(h, socket);
  h.close();
  assert.equal(socket.ofOp(Op.ERROR).at(-1)?.code, ErrorCode.GOING_AWAY);
  assert.equal(h.timers.pending, 0);
});

Deno.test("a socket that stays full is closed as SLOW_CONSUMER once maxBehindTicks have passed", async () => {
  const maxBehindTicks = 10; // 500 ms at 20 Hz
  const h = harness({ maxBehindTicks });
  try {
    const socket = h.connect();
    const { session, entity } = await join(h, socket);
    const written = socket.received.length;
    socket.bufferedAmount = SOCKET_HIGH_WATER; // the reader stopped reading
    let tick = 6;
    const diff = () => h.hub.onReport(moveReport(session, entity, tick++));
    diff(); // written while the buffer was last seen low: now congested
    const congested = socket.received.length;
    const limitMs = (maxBehindTicks * 1000) / 20;
    // No more diffs: the writer's own retry timer is what notices the socket stays full.
    h.timers.advance(limitMs - 50);
    assert.equal(socket.closed, undefined, "not before the limit");
    assert.equal(socket.received.length, congested, "nothing written to a full socket");
    h.timers.advance(100);
    assert.equal(closeCodeOf(socket), closeCodeFor(ErrorCode.SLOW_CONSUMER));
    assert.equal(h.hub.counters.slowClosed, 1);
    assert.ok(congested >= written);
    assert.ok(h.sent.some((s) => s.command.op === "detach" && s.command.entity === entity));
  } finally {
    h.close();
  }
});

Deno.test("DIFFs a congested socket must wait for are copied out of the gateway's frame arena", async () => {
  const h = harness();
  try {
    const socket = h.connect();
    const { session, entity } = await join(h, socket);
    const diff = (tick: number) => h.hub.onReport(moveReport(session, entity, tick));
    diff(6);
    const sent = socket.frames.at(-1) as Uint8Array;
    assert.ok(sent.byteLength < sent.buffer.byteLength, "a DIFF sent at once is a view");
    socket.bufferedAmount = SOCKET_HIGH_WATER; // the reader stopped reading
    diff(7);
    diff(8);
    const queue = h.hub.sessions.get(session)!.queue;
    assert.equal(queue.length, 2);
    const waiting = [queue.shift(), queue.shift()] as Uint8Array[];
    for (const frame of waiting) assert.equal(frame.buffer.byteLength, frame.byteLength);
    assert.deepEqual(
      waiting.map((frame) => (decodeServerFrame(frame) as ServerMessage & { tick: number }).tick),
      [7, 8],
    );
  } finally {
    h.close();
  }
});

Deno.test("a session resumes after its login token expired: resume does not depend on it", async () => {
  const h = harness({ tokenTtlMs: 60_000 }); // login tokens live one minute
  try {
    const first = h.connect();
    const { session, entity, welcome } = await join(h, first); // login token valid for 1 h
    first.onclose?.();
    h.timers.advance(2 * 3_600_000); // the login token has expired since
    const second = h.connect();
    second.deliver({ op: Op.HELLO, protocol: PROTOCOL_VERSION, resumeToken: welcome.resumeToken });
    const ask = resumesSent(h)[0];
    assert.ok(ask, "the resume was asked of the workers, not refused at the gateway");
    h.hub.onReport(
      report("w1", 9, { resumed: [{ session, entity, ok: true, conn: ask.nextJti }] }),
    );
    await settle(() => second.ofOp(Op.WELCOME).length === 1, "WELCOME on resume");
    assert.equal(second.ofOp(Op.WELCOME)[0].resumed, true);
  } finally {
    h.close();
  }
});
