// A session whose worker goes quiet is closed with WORLD_STALLED (4008) once ownerSilenceMs
// passes without a diff, never left open and silent; one whose diffs keep coming stays open,
// also when they start coming from another worker (a promoted backup).
import assert from "node:assert/strict";
import { silenceOf, sweepIntervalMs } from "../../src/session/session_silence.ts";
import { SessionHub } from "../../src/session/hub.ts";
import { ManualTimers } from "../../src/session/timers.ts";
import { DEFAULTS, type GatewayConfig } from "../../src/config/config.ts";
import { signToken } from "../../src/session/login_tokens.ts";
import { Logger } from "../../src/observe/log.ts";
import { CloseCode, Op, type ServerMessage } from "../../src/protocol/client_protocol.ts";
import { emptyReport, type GatewayCommand } from "../../src/session/session_messages.ts";

const LIMITS = { idleTimeoutMs: 30_000, ownerSilenceMs: 3_000 };

Deno.test("a session is stalled only once the world was silent for more than ownerSilenceMs", () => {
  const times = { lastHeard: 10_000, lastState: 10_000 };
  assert.equal(silenceOf(times, 13_000, LIMITS), undefined);
  const silence = silenceOf(times, 13_001, LIMITS);
  assert.equal(silence?.code, "WORLD_STALLED");
  assert.match(silence!.message, /3000 ms/);
  // A diff a moment ago resets the bound.
  assert.equal(silenceOf({ lastHeard: 10_000, lastState: 12_000 }, 13_001, LIMITS), undefined);
});

Deno.test("a silent client is IDLE_TIMEOUT even when its world is silent too", () => {
  const silence = silenceOf({ lastHeard: 0, lastState: 0 }, 30_001, LIMITS);
  assert.equal(silence?.code, "IDLE_TIMEOUT");
});

Deno.test("the sweep runs at a quarter of the shorter bound, within 50 ms .. 1 s", () => {
  assert.equal(sweepIntervalMs(LIMITS), 750);
  assert.equal(sweepIntervalMs({ idleTimeoutMs: 2_000, ownerSilenceMs: 30_000 }), 500);
  assert.equal(sweepIntervalMs({ idleTimeoutMs: 60_000, ownerSilenceMs: 60_000 }), 1_000);
  assert.equal(sweepIntervalMs({ idleTimeoutMs: 10, ownerSilenceMs: 10 }), 50);
});

/** Just enough of a server-side WebSocket for the hub: frames out, close code. */
class FakeSocket {
  binaryType = "arraybuffer";
  readyState: number = WebSocket.OPEN;
  bufferedAmount = 0;
  onmessage: ((event: { data: unknown }) => void) | null = null;
  onclose: (() => void) | null = null;
  onerror: (() => void) | null = null;
  readonly sent: ServerMessage[] = [];
  closeCode: number | undefined;

  send(frame: string): void {
    this.sent.push(JSON.parse(frame));
  }

  close(code: number): void {
    this.closeCode = code;
    this.readyState = WebSocket.CLOSED;
  }

  /** A client frame arrives. */
  receive(message: unknown): void {
    this.onmessage?.({ data: JSON.stringify(message) });
  }
}

const SECRET = "session-silence-test-secret";
const WORLD = {
  dims: 2,
  size: [400, 400],
  cellSize: 100,
  tickHz: 20,
  aoiRadius: 20,
  ghostMargin: 30,
  worldStartMs: 0,
};

/** A hub on a fake clock with one live session joined on worker w1. */
async function liveSession(config: Partial<GatewayConfig>) {
  const timers = new ManualTimers(1_000);
  const live = ["w1", "w2"];
  const commands: Array<{ worker: string; command: GatewayCommand }> = [];
  const hub = new SessionHub({
    config: { ...DEFAULTS.gateway, ...config },
    world: WORLD,
    secret: SECRET,
    log: new Logger({ role: "gateway", sink: () => {} }),
    timers,
    transport: {
      gatewayId: "g1",
      ownerAt: () => "w1",
      workers: () => live,
      send: (worker, command) => commands.push({ worker, command }),
      relay: () => {},
    },
  });
  const socket = new FakeSocket();
  hub.accept(socket as unknown as WebSocket, "json");
  const token = signToken({ sub: "guest:1", name: "ann", kind: "guest", exp: 1e13 }, SECRET);
  socket.receive({ op: Op.HELLO, protocol: 1, token });
  const join = commands.find((c) => c.command.op === "join")!.command as { session: string };
  let tick = 100;
  /** `worker` reports one (empty) diff of the player at the next tick. */
  const report = (worker: string, joined = false) =>
    hub.onReport({
      ...emptyReport(worker, ++tick),
      diffs: [{
        session: join.session,
        entity: 7,
        ack: 0,
        full: joined,
        enter: joined ? [[7, "player", 1, 1, 0, {}]] : [],
        update: [],
        leave: [],
      }],
      joined: joined ? [{ session: join.session, entity: 7 }] : [],
    });
  report("w1", true);
  await waitFor("WELCOME", () => socket.sent.some((m) => m.op === Op.WELCOME));
  return {
    hub,
    socket,
    commands,
    report,
    live,
    advance: (ms: number) => timers.advance(ms),
  };
}

/** Bounded wait on the hub's own sweep (a real interval of 50 ms here). */
async function waitFor(what: string, probe: () => boolean, timeoutMs = 2_000): Promise<void> {
  const deadline = performance.now() + timeoutMs;
  while (!probe()) {
    if (performance.now() > deadline) throw new Error(`Timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

/** The hub's sweeps run as the manual clock advances: nothing to wait for in real time. */
const twoSweeps = () => Promise.resolve();

Deno.test("a session whose worker stops sending gets ERROR WORLD_STALLED and close 4008", async () => {
  const { hub, socket, commands, advance } = await liveSession({ ownerSilenceMs: 200 });
  try {
    advance(200);
    await twoSweeps();
    assert.equal(socket.closeCode, undefined, "within the bound: still open");
    // One sweep later the bound is passed.
    advance(sweepIntervalMs({ ...DEFAULTS.gateway, ownerSilenceMs: 200 }));
    await waitFor("the close", () => socket.closeCode !== undefined);
    assert.equal(socket.closeCode, CloseCode.WORLD_STALLED);
    const error = socket.sent.find((m) => m.op === Op.ERROR);
    assert.equal(error?.op === Op.ERROR && error.code, "WORLD_STALLED");
    // The entity stays in the world for a resume: the worker is told the client detached.
    assert.ok(commands.some((c) => c.command.op === "detach" && c.worker === "w1"));
    assert.equal(hub.size, 0);
  } finally {
    hub.closeAll();
  }
});

Deno.test("a session fed by a promoted backup stays open and its inputs follow the backup", async () => {
  const { hub, socket, commands, report, advance } = await liveSession({ ownerSilenceMs: 200 });
  try {
    for (let n = 0; n < 5; n++) {
      advance(150);
      report(n < 2 ? "w1" : "w2"); // w1 dies after two ticks; its backup w2 reports the player
      await twoSweeps();
    }
    assert.equal(socket.closeCode, undefined, "never silent for more than 200 ms");
    socket.receive({ op: Op.INPUT, seq: 1, intent: { move: [1, 0] } });
    await waitFor("the input", () => commands.some((c) => c.command.op === "input"));
    const input = commands.find((c) => c.command.op === "input")!;
    assert.equal(input.worker, "w2", "inputs go to the worker that reports the entity now");
  } finally {
    hub.closeAll();
  }
});

Deno.test("a worker the map no longer lists cannot pull a session back, nor keep it alive", async () => {
  const { hub, socket, commands, report, live, advance } = await liveSession({
    ownerSilenceMs: 200,
  });
  try {
    advance(100);
    report("w2"); // w1 died; its backup w2 took the player over
    live.splice(0, 1); // and the map says w1 is down
    report("w1"); // w1 was only paused: it wakes up and reports its stale copy
    socket.receive({ op: Op.INPUT, seq: 1, intent: { move: [1, 0] } });
    await waitFor("the input", () => commands.some((c) => c.command.op === "input"));
    assert.equal(commands.find((c) => c.command.op === "input")!.worker, "w2");
    for (let n = 0; n < 3; n++) {
      advance(100);
      report("w1"); // and keeps reporting it
    }
    await waitFor("the close", () => socket.closeCode !== undefined);
    assert.equal(socket.closeCode, CloseCode.WORLD_STALLED, "stale reports are not state");
  } finally {
    hub.closeAll();
  }
});
