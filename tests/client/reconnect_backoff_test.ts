import assert from "node:assert/strict";
import { ReconnectBackoff } from "../../src/client/reconnect_backoff.ts";

Deno.test("pauses double from the base up to the cap, for at most maxAttempts per outage", () => {
  const backoff = new ReconnectBackoff({ maxAttempts: 6, baseMs: 100, maxMs: 1000, jitter: 0 });
  const pauses = [];
  for (let p = backoff.next(); p !== undefined; p = backoff.next()) pauses.push(p);
  assert.deepEqual(pauses, [100, 200, 400, 800, 1000, 1000]);
  assert.equal(backoff.attempts, 6);
  assert.equal(backoff.next(), undefined, "still none left");
  backoff.reset();
  assert.equal(backoff.next(), 100, "a new outage starts from the base");
});

Deno.test("jitter takes up to its share off each pause, never more, never adds", () => {
  const at = (random: number) =>
    new ReconnectBackoff({ maxAttempts: 3, baseMs: 400, maxMs: 800, jitter: 0.25 }, () => random);
  const highest = at(0), lowest = at(0.999999);
  assert.deepEqual([highest.next(), highest.next(), highest.next()], [400, 800, 800]);
  assert.deepEqual([lowest.next(), lowest.next(), lowest.next()], [300, 600, 600]);
});

Deno.test("maxAttempts 0 never reconnects; bad options are refused naming the field", () => {
  assert.equal(new ReconnectBackoff({ maxAttempts: 0 }).next(), undefined);
  assert.throws(
    () => new ReconnectBackoff({ maxAttempts: -1 }),
    /maxAttempts must be an integer >= 0/,
  );
  assert.throws(() => new ReconnectBackoff({ maxAttempts: 1.5 }), /maxAttempts/);
  assert.throws(() => new ReconnectBackoff({ baseMs: 500, maxMs: 100 }), /baseMs <= maxMs/);
  assert.throws(() => new ReconnectBackoff({ jitter: 2 }), /jitter must be in 0\.\.1/);
  assert.throws(() => new ReconnectBackoff({ baseMs: NaN }), RangeError);
});
