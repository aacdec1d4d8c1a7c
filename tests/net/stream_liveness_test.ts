import assert from "node:assert/strict";
import { KEEPALIVE_FRAME } from "../../src/net/grpc_frame.ts";
import { Liveness, type LivenessClock } from "../../src/net/stream_liveness.ts";

/** A clock that moves only when told, running the scheduled check on every step. */
function fakeClock() {
  let now = 0;
  let check = () => {};
  let stopped = false;
  const clock: LivenessClock = {
    now: () => now,
    every(_ms, fn) {
      check = fn;
      return () => (stopped = true);
    },
  };
  const advance = (ms: number, step = 50) => {
    for (let t = 0; t < ms; t += step) {
      now += step;
      if (!stopped) check();
    }
  };
  return { clock, advance, stopped: () => stopped };
}

function liveness(peerSending = true) {
  const fake = fakeClock();
  const sent: Uint8Array[] = [];
  const silent: number[] = [];
  const live = new Liveness({ intervalMs: 1_000, timeoutMs: 5_000 }, {
    send: (frame) => (sent.push(frame), true),
    onSilent: (ms) => silent.push(ms),
    peerSending: () => peerSending,
  }, fake.clock);
  return { ...fake, live, sent, silent };
}

Deno.test("a keepalive frame goes out after each interval without a write, not after writes", () => {
  const t = liveness();
  t.advance(950);
  assert.equal(t.sent.length, 0);
  t.advance(100);
  assert.deepEqual(t.sent, [KEEPALIVE_FRAME]);
  for (let i = 0; i < 10; i++) {
    t.live.sent();
    t.live.received();
    t.advance(500);
  }
  assert.equal(t.sent.length, 1, "regular writes make keepalives unnecessary");
  t.live.stop();
});

Deno.test("a peer silent past the timeout is reported once, and not before", () => {
  const t = liveness();
  t.advance(4_950);
  assert.deepEqual(t.silent, []);
  t.live.received();
  t.advance(4_950);
  assert.deepEqual(t.silent, [], "what arrived restarted the wait");
  t.advance(200);
  assert.equal(t.silent.length, 1);
  assert.ok(t.silent[0] > 5_000 && t.silent[0] <= 5_100, `silent for ${t.silent[0]} ms`);
  assert.ok(t.stopped(), "the timer stops after reporting");
});

Deno.test("a peer that half-closed is not expected to send", () => {
  const t = liveness(false);
  t.advance(20_000);
  assert.deepEqual(t.silent, []);
  assert.ok(t.sent.length >= 19, "our side still sends keepalives");
  t.live.stop();
});
