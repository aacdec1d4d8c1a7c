// The manual clock the hub's timer tests run on must behave like the runtime's timers.
import assert from "node:assert/strict";
import { ManualTimers } from "../../src/session/timers.ts";

Deno.test("timers fire in due order with now() at their due time, and cleared ones never", () => {
  const timers = new ManualTimers(100);
  const log: string[] = [];
  const late = timers.setTimeout(() => log.push(`late@${timers.now()}`), 30);
  timers.setTimeout(() => log.push(`early@${timers.now()}`), 10);
  const cleared = timers.setTimeout(() => log.push("cleared"), 20);
  timers.clearTimeout(cleared);
  timers.advance(29);
  assert.deepEqual(log, ["early@110"]);
  assert.equal(timers.now(), 129);
  timers.advance(1);
  assert.deepEqual(log, ["early@110", "late@130"]);
  timers.clearTimeout(late); // clearing a fired timer is harmless
  assert.equal(timers.pending, 0);
});

Deno.test("intervals repeat until cleared, and timers set by a callback run in the same advance", () => {
  const timers = new ManualTimers();
  const ticks: number[] = [];
  const id = timers.setInterval(() => {
    ticks.push(timers.now());
    if (ticks.length === 2) timers.setTimeout(() => ticks.push(-timers.now()), 5);
  }, 10);
  timers.advance(35);
  assert.deepEqual(ticks, [10, 20, -25, 30]);
  timers.clearInterval(id);
  timers.advance(100);
  assert.deepEqual(ticks, [10, 20, -25, 30]);
  assert.equal(timers.pending, 0);
});
