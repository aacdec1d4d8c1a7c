import assert from "node:assert/strict";
import fc from "fast-check";
import {
  parseWorkerState,
  thin,
  WorkerPositionsReader,
} from "../../src/observe/worker_positions.ts";

const worker = { id: "w1", httpAddress: "127.0.0.1:9" };

function fakeFetch(bodies: Array<() => Response>): { fetch: typeof fetch; calls: string[] } {
  const calls: string[] = [];
  const fetch = ((input: string | URL | Request) => {
    calls.push(String(input));
    const next = bodies.shift();
    return next ? Promise.resolve(next()) : Promise.reject(new TypeError("connection refused"));
  }) as typeof globalThis.fetch;
  return { fetch, calls };
}

Deno.test("thinning keeps at most max items, in order, spread over the whole list", () => {
  fc.assert(fc.property(
    fc.array(fc.integer(), { maxLength: 300 }),
    fc.integer({ min: 1, max: 100 }),
    (items, max) => {
      const out = thin(items, max);
      assert.equal(out.length, Math.min(items.length, max));
      // Every kept item comes from the list, in the original order.
      let at = -1;
      for (const item of out) {
        const next = items.indexOf(item, at + 1);
        assert.ok(next > at);
        at = next;
      }
      if (items.length > max) assert.equal(out[0], items[0], "the spread starts at the front");
    },
  ));
});

Deno.test("a worker state is checked field by field before any position is used", () => {
  assert.deepEqual(parseWorkerState({ tick: 3, owned: [[1, 2, 3, 0, 4]], ghosts: [] }), {
    tick: 3,
    owned: [[1, 2, 3, 0, 4]],
    players: [],
  });
  assert.deepEqual(
    parseWorkerState({ tick: 3, owned: [[1, 2, 3, 0, 4]], players: [1] }).players,
    [1],
  );
  const bad: Array<[unknown, RegExp]> = [
    [null, /not a JSON object/],
    [[1], /not a JSON object/],
    [{ owned: [] }, /tick must be an integer, got nothing/],
    [{ tick: 1.5, owned: [] }, /tick must be an integer/],
    [{ tick: 1 }, /owned must be an array/],
    [{ tick: 1, owned: [[1, 2, 3, 4]] }, /owned\[0\] must have 5 fields, got 4/],
    [
      { tick: 1, owned: [[1, 2, 3, 0, 4], [1, "2", 3, 0, 4]] },
      /owned\[1\] \(x\) must be a finite number, got "2"/,
    ],
    [{ tick: 1, owned: [[1, null, 3, 0, 4]] }, /owned\[0\]/],
    [{ tick: 1, owned: [{ id: 1 }] }, /owned\[0\]/],
    [{ tick: 1, owned: [], players: 1 }, /players must be an array/],
    [
      { tick: 1, owned: [], players: [1.5] },
      /players\[0\] must be a non-negative integer, got 1.5/,
    ],
    [{ tick: 1, owned: [], players: [-1] }, /players\[0\]/],
  ];
  for (const [body, message] of bad) {
    assert.throws(
      () => parseWorkerState(body),
      (e: unknown) => e instanceof TypeError && message.test(e.message),
      JSON.stringify(body),
    );
  }
  // JSON cannot carry NaN, but a decoder bug could hand one over.
  assert.throws(() => parseWorkerState({ tick: 1, owned: [[1, NaN, 0, 0, 0]] }), TypeError);
});

Deno.test("a body larger than the limit is refused without being read whole", async () => {
  const big = JSON.stringify({ tick: 1, owned: Array(500).fill([1, 2, 3, 0, 4]) });
  const { fetch } = fakeFetch([
    () => new Response(big, { headers: { "content-length": String(big.length) } }),
    () => new Response(ReadableStream.from([new TextEncoder().encode(big)])),
  ]);
  const reader = new WorkerPositionsReader({
    workers: () => [worker],
    fetch,
    maxBodyBytes: 1_000,
    reuseMs: 0,
  });
  const [declared] = await reader.read(10);
  assert.match(declared.error?.message ?? "", /exceeds the limit of 1000/);
  const [streamed] = await reader.read(10);
  assert.match(streamed.error?.message ?? "", /exceeds the limit of 1000 bytes/);
});

Deno.test("an HTTP error from a worker is reported with its status", async () => {
  const { fetch } = fakeFetch([
    () =>
      new Response('{"error":{"code":"UNAVAILABLE","message":"worker not registered yet"}}', {
        status: 503,
      }),
  ]);
  const reader = new WorkerPositionsReader({ workers: () => [worker], fetch, reuseMs: 0 });
  const [result] = await reader.read(10);
  assert.equal(result.error?.code, "UNAVAILABLE");
  assert.match(result.error?.message ?? "", /HTTP 503: .*worker not registered yet/);
  const [refused] = await reader.read(10);
  assert.match(refused.error?.message ?? "", /connection refused/);
});

Deno.test("callers within reuseMs share one round of fetches, then it is refreshed", async () => {
  let now = 1_000;
  const state = () => Response.json({ tick: 1, owned: [[1, 2, 3, 0, 4], [2, 5, 6, 0, 4]] });
  const { fetch, calls } = fakeFetch([state, state]);
  const reader = new WorkerPositionsReader({
    workers: () => [worker],
    fetch,
    reuseMs: 250,
    now: () => now,
  });
  const [a, b] = await Promise.all([reader.read(10), reader.read(1)]);
  assert.equal(calls.length, 1, "concurrent callers share one fetch");
  assert.equal(a[0].entities.length, 2);
  assert.equal(b[0].entities.length, 1, "each caller gets its own cap");
  assert.equal(b[0].total, 2);
  now += 249;
  await reader.read(10);
  assert.equal(calls.length, 1);
  now += 1;
  await reader.read(10);
  assert.equal(calls.length, 2, "refreshed once reuseMs passed");
  assert.equal(calls[0], "http://127.0.0.1:9/api/state");
});

Deno.test("positions are cut to 0.01, so a point at the world's edge stays inside it", async () => {
  const { fetch } = fakeFetch([
    () => Response.json({ tick: 1, owned: [[7, 399.999, 0.004, 12.3456, 3]] }),
  ]);
  const reader = new WorkerPositionsReader({ workers: () => [worker], fetch, reuseMs: 0 });
  const [result] = await reader.read(10);
  assert.deepEqual(result.entities, [[7, 399.99, 0, 12.34, 3]]);
});
