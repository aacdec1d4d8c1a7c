import assert from "node:assert/strict";
import { FrameQueue } from "../../src/net/frame_queue.ts";
import { parseKeepalive } from "../../src/net/stream_liveness.ts";

Deno.test("a frame queue says full at its high-water mark and drains as the stream is read", async () => {
  let drained = 0;
  const queue = new FrameQueue({ highWaterBytes: 10, onDrain: () => drained++ });
  assert.equal(queue.push(new Uint8Array([1, 1, 1, 1, 1, 1])), true);
  assert.equal(queue.push(new Uint8Array([2, 2, 2, 2, 2, 2])), false);
  assert.equal(queue.bytes, 12);
  const reader = queue.stream.getReader();
  // What was queued together is read as one chunk, in order.
  assert.deepEqual([...(await reader.read()).value!], [1, 1, 1, 1, 1, 1, 2, 2, 2, 2, 2, 2]);
  assert.equal(drained, 1);
  assert.equal(queue.bytes, 0);
  const next = reader.read();
  queue.push(new Uint8Array([3]));
  assert.deepEqual((await next).value, new Uint8Array([3]));
  queue.close(new Uint8Array([9]));
  assert.equal(queue.push(new Uint8Array(1)), false, "nothing is queued after close");
  assert.deepEqual((await reader.read()).value, new Uint8Array([9]));
  assert.equal((await reader.read()).done, true);
});

Deno.test("a frame queue hands over at most 256 KiB at a time", async () => {
  const queue = new FrameQueue();
  for (let i = 0; i < 5; i++) queue.push(new Uint8Array(100 * 1024));
  queue.close();
  const sizes = [];
  for await (const chunk of queue.stream) sizes.push(chunk.byteLength);
  assert.deepEqual(sizes, [200 * 1024, 200 * 1024, 100 * 1024]);
});

Deno.test("a frame queue past its hard bound throws a RangeError naming the bytes waiting", () => {
  const queue = new FrameQueue({ highWaterBytes: 4, maxBytes: 10 });
  queue.push(new Uint8Array(8));
  assert.throws(
    () => queue.push(new Uint8Array(3)),
    (e: unknown) => e instanceof RangeError && /8 bytes are already waiting/.test(e.message),
  );
  queue.discard();
});

Deno.test("an aborted frame queue errors its stream instead of ending it", async () => {
  const queue = new FrameQueue();
  const reader = queue.stream.getReader();
  const read = reader.read();
  queue.abort(new Error("reset"));
  await assert.rejects(read, /reset/);
});

Deno.test("a reader cancelling the stream is reported once and empties the queue", async () => {
  let cancelled = 0;
  const queue = new FrameQueue({ onCancel: () => cancelled++ });
  queue.push(new Uint8Array(3));
  await queue.stream.cancel();
  assert.equal(cancelled, 1);
  assert.equal(queue.done, true);
  assert.equal(queue.bytes, 0);
});

Deno.test("keepalive headers are clamped to sane bounds and malformed ones ignored", () => {
  assert.deepEqual(parseKeepalive("1000,5000"), { intervalMs: 1000, timeoutMs: 5000 });
  assert.deepEqual(parseKeepalive("1,1"), { intervalMs: 100, timeoutMs: 200 });
  assert.deepEqual(parseKeepalive("999999999,1"), { intervalMs: 60_000, timeoutMs: 120_000 });
  assert.equal(parseKeepalive("1000"), undefined);
  assert.equal(parseKeepalive("-1,5"), undefined);
  assert.equal(parseKeepalive(null), undefined);
});
