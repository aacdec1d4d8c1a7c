import assert from "node:assert/strict";
import { formatRecord, Logger } from "../../src/observe/log.ts";

Deno.test("the ring keeps the newest records with consecutive sequence numbers", () => {
  const log = new Logger({ role: "coordinator", sink: () => {}, ringSize: 3 });
  for (let i = 1; i <= 5; i++) log.info(`e${i}`);
  assert.equal(log.lastSeq, 5);
  assert.deepEqual(log.since(0).map((r) => r.seq), [3, 4, 5]);
  assert.deepEqual(log.since(3).map((r) => r.record.event), ["e4", "e5"]);
  assert.deepEqual(log.since(5), []);
  assert.deepEqual(log.since(99), []);
  assert.deepEqual(log.since(0, 2).map((r) => r.seq), [4, 5], "limit keeps the newest");
  assert.deepEqual(log.recent().map((r) => r.event), ["e3", "e4", "e5"]);
});

Deno.test("records below the level are neither written nor numbered", () => {
  const lines: string[] = [];
  const log = new Logger({ role: "worker", level: "warn", sink: (l) => lines.push(l) });
  log.info("quiet");
  log.warn("loud");
  assert.equal(lines.length, 1);
  assert.deepEqual(log.since(0).map((r) => [r.seq, r.record.event]), [[1, "loud"]]);
});

Deno.test("children share the ring and its numbering", () => {
  const root = new Logger({ role: "all", sink: () => {} });
  const child = root.child("coordinator", "c1");
  root.info("a");
  child.info("b");
  assert.deepEqual(child.since(0).map((r) => [r.seq, r.record.role]), [[1, "all"], [
    2,
    "coordinator",
  ]]);
  assert.equal(root.lastSeq, 2);
});

Deno.test("a formatted record shows errors by name, message and code", () => {
  const error = Object.assign(new Error("nope"), { code: "BAD_BATCH" });
  const line = formatRecord({
    time: "t",
    level: "error",
    role: "worker",
    node: "w1",
    event: "batch.rejected",
    error,
    big: 10n,
  });
  assert.deepEqual(JSON.parse(line).error, { name: "Error", message: "nope", code: "BAD_BATCH" });
  assert.equal(JSON.parse(line).big, "10");
});
