import assert from "node:assert/strict";
import fc from "fast-check";
import { Strikes, TokenBucket } from "../../src/session/rate_limit.ts";

function fakeClock(start = 0) {
  const state = { now: start };
  return { state, now: () => state.now };
}

Deno.test("a bucket allows a burst of its capacity, then refuses until it refills", () => {
  const { state, now } = fakeClock();
  const bucket = new TokenBucket({ capacity: 5, refillPerSecond: 20, now });
  for (let i = 0; i < 5; i++) assert.equal(bucket.take(), true, `take ${i}`);
  assert.equal(bucket.take(), false);
  state.now += 49;
  assert.equal(bucket.take(), false, "0.98 of a token is not a token");
  state.now += 1;
  assert.equal(bucket.take(), true);
  assert.equal(bucket.take(), false);
});

Deno.test("a bucket never holds more than its capacity however long it idles", () => {
  const { state, now } = fakeClock();
  const bucket = new TokenBucket({ capacity: 3, refillPerSecond: 100, now });
  state.now += 3_600_000;
  assert.equal(bucket.available, 3);
  assert.equal(bucket.take(3), true);
  assert.equal(bucket.take(), false);
});

Deno.test("take(n) is all or nothing and costs can be fractional", () => {
  const { state, now } = fakeClock();
  const bucket = new TokenBucket({ capacity: 10, refillPerSecond: 1, now });
  assert.equal(bucket.take(7), true);
  assert.equal(bucket.take(4), false);
  assert.equal(bucket.available, 3, "a refused take costs nothing");
  assert.equal(bucket.take(2.5), true);
  assert.equal(bucket.available, 0.5);
  state.now += 500;
  assert.equal(bucket.take(1), true);
  assert.equal(bucket.take(11), false, "more than the capacity is never possible");
  assert.throws(() => bucket.take(0), RangeError);
  assert.throws(() => bucket.take(Number.NaN), RangeError);
});

Deno.test("msUntil says how long until a take would succeed", () => {
  const { state, now } = fakeClock();
  const bucket = new TokenBucket({ capacity: 2, refillPerSecond: 4, now });
  assert.equal(bucket.msUntil(), 0);
  bucket.take(2);
  assert.equal(bucket.msUntil(), 250);
  assert.equal(bucket.msUntil(2), 500);
  assert.equal(bucket.msUntil(3), Infinity);
  state.now += 250;
  assert.equal(bucket.msUntil(), 0);
  const frozen = new TokenBucket({ capacity: 1, refillPerSecond: 0, now });
  frozen.take();
  assert.equal(frozen.msUntil(), Infinity);
});

Deno.test("a clock that steps back neither refills nor drains the bucket", () => {
  const { state, now } = fakeClock(10_000);
  const bucket = new TokenBucket({ capacity: 4, refillPerSecond: 10, now });
  bucket.take(4);
  state.now = 5_000;
  assert.equal(bucket.take(), false);
  state.now = 10_100;
  assert.equal(bucket.take(), true, "refill resumes from the latest time seen");
});

Deno.test("over any schedule a bucket grants at most capacity + rate × elapsed", () => {
  fc.assert(
    fc.property(
      fc.integer({ min: 1, max: 50 }),
      fc.integer({ min: 0, max: 100 }),
      fc.array(fc.tuple(fc.integer({ min: 0, max: 300 }), fc.integer({ min: 1, max: 5 })), {
        maxLength: 200,
      }),
      (capacity, rate, schedule) => {
        const { state, now } = fakeClock();
        const bucket = new TokenBucket({ capacity, refillPerSecond: rate, now });
        let granted = 0;
        for (const [advance, cost] of schedule) {
          state.now += advance;
          if (bucket.take(cost)) granted += cost;
          assert.ok(granted <= capacity + (rate * state.now) / 1000 + 1e-9);
          assert.ok(bucket.available >= 0 && bucket.available <= capacity);
        }
      },
    ),
    { numRuns: 300 },
  );
});

Deno.test("invalid bucket settings are refused with a RangeError", () => {
  assert.throws(() => new TokenBucket({ capacity: 0, refillPerSecond: 1 }), /capacity must be > 0/);
  assert.throws(() => new TokenBucket({ capacity: Infinity, refillPerSecond: 1 }), RangeError);
  assert.throws(() => new TokenBucket({ capacity: 1, refillPerSecond: -1 }), RangeError);
});

Deno.test("strikes warn once, drop the rest, and close at the limit within the window", () => {
  const { state, now } = fakeClock();
  const strikes = new Strikes({ limit: 4, windowMs: 1000, now });
  assert.deepEqual(
    [strikes.strike(), strikes.strike(), strikes.strike()],
    ["warn", "drop", "drop"],
  );
  state.now += 999;
  assert.equal(strikes.strike(), "close");
  assert.equal(strikes.strike(), "close", "stays closed while the burst lasts");
});

Deno.test("refusals older than the window are forgotten, so slow offenders are never closed", () => {
  const { state, now } = fakeClock();
  const strikes = new Strikes({ limit: 3, windowMs: 1000, now });
  for (let i = 0; i < 100; i++) {
    // Two refusals per window, never three.
    const verdict = strikes.strike();
    assert.notEqual(verdict, "close", `strike ${i}`);
    state.now += 500;
  }
  state.now += 1000;
  assert.equal(strikes.count, 0);
  assert.equal(strikes.strike(), "warn", "a new burst is warned again");
  strikes.strike();
  assert.equal(strikes.count, 2);
  strikes.reset();
  assert.equal(strikes.strike(), "warn");
  assert.throws(() => new Strikes({ limit: 0, windowMs: 1 }), RangeError);
  assert.throws(() => new Strikes({ limit: 1, windowMs: 0 }), RangeError);
});

Deno.test("a flood through bucket and strikes is warned once and closed at a known frame", () => {
  // The gateway's policy: 20 inputs/s with bursts of 40; 50 refusals within 10 s close.
  const { state, now } = fakeClock();
  const bucket = new TokenBucket({ capacity: 40, refillPerSecond: 20, now });
  const strikes = new Strikes({ limit: 50, windowMs: 10_000, now });
  const verdicts: string[] = [];
  let accepted = 0;
  for (let frame = 0; frame < 1000; frame++) {
    state.now += 1; // 1000 frames per second
    if (bucket.take()) accepted++;
    else {
      const verdict = strikes.strike();
      verdicts.push(verdict);
      if (verdict === "close") break;
    }
  }
  assert.equal(verdicts.filter((v) => v === "warn").length, 1);
  assert.equal(verdicts.at(-1), "close");
  assert.equal(verdicts.length, 50);
  assert.equal(accepted, 41, "the burst of 40 plus one token refilled in the first 91 ms");
  // A client that stays under the rate is never refused.
  const polite = new TokenBucket({ capacity: 40, refillPerSecond: 20, now });
  for (let i = 0; i < 10_000; i++) {
    state.now += 50;
    assert.equal(polite.take(), true);
  }
});
