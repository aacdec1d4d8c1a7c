import assert from "node:assert/strict";
import {
  GATEWAY_FIELDS,
  History,
  type HistorySample,
  MAX_HISTORY_NODES,
  WORKER_FIELDS,
} from "../../src/observe/history.ts";

const worker = (id: string, entities: number, state = "active") => ({
  id,
  state,
  values: {
    tickP50Ms: 1,
    tickP99Ms: 2,
    entities,
    players: 0,
    ghosts: 0,
    load: entities,
    handoffsPerS: 0,
  },
});
const sample = (workers: HistorySample["workers"], entities = 0): HistorySample => ({
  workers,
  gateways: [],
  cluster: { workersUp: workers.length, entities, sessions: 0, migrations: 0 },
});

function clocked(capacity: number) {
  let now = 10_000;
  const history = new History({ capacity, now: () => now });
  return { history, tick: () => (now += 1_000) };
}

Deno.test("history keeps the last capacity samples in order, oldest first", () => {
  const { history, tick } = clocked(3);
  for (let i = 1; i <= 5; i++) {
    history.record(sample([worker("w1", i * 10)], i));
    tick();
  }
  const window = history.window(900);
  assert.deepEqual(window.cluster.entities, [3, 4, 5]);
  assert.deepEqual(window.times, [12_000, 13_000, 14_000]);
  assert.deepEqual(window.workers[0].series.entities, [30, 40, 50]);
  assert.deepEqual(history.window(2).cluster.entities, [4, 5], "seconds cuts the window");
  assert.equal(history.samples, 5);
});

Deno.test("a worker that stops being reported is 'left' with its series, until it ages out", () => {
  const { history, tick } = clocked(3);
  history.record(sample([worker("w1", 5), worker("w2", 7)]));
  tick();
  history.record(sample([worker("w1", 6)]));
  const left = history.window(10).workers.find((w) => w.id === "w2")!;
  assert.equal(left.state, "left");
  assert.equal(left.lastSeen, 10_000);
  assert.deepEqual(left.series.entities, [7, null], "null where it reported nothing");
  tick();
  history.record(sample([worker("w1", 6)]));
  tick();
  history.record(sample([worker("w1", 6)]));
  assert.deepEqual(history.window(10).workers.map((w) => w.id), ["w1"], "w2 aged out");
});

Deno.test("history holds at most MAX_HISTORY_NODES workers; the longest silent goes first", () => {
  const { history, tick } = clocked(4);
  history.record(sample([worker("old", 1)]));
  tick();
  const many = Array.from({ length: MAX_HISTORY_NODES }, (_, i) => worker(`w${i}`, i));
  history.record(sample(many));
  const ids = history.window(10).workers.map((w) => w.id);
  assert.equal(ids.length, MAX_HISTORY_NODES);
  assert.ok(!ids.includes("old"));
  for (const w of history.window(10).workers) {
    assert.deepEqual(Object.keys(w.series), [...WORKER_FIELDS]);
  }
  assert.deepEqual([...GATEWAY_FIELDS], ["sessions", "bytesPerS"]);
});

Deno.test("an empty history answers empty series; a bad capacity is a RangeError", () => {
  const history = new History({ capacity: 5 });
  assert.deepEqual(history.window(60), {
    intervalMs: 1_000,
    times: [],
    cluster: { workersUp: [], entities: [], sessions: [], migrations: [] },
    workers: [],
    gateways: [],
  });
  assert.throws(() => new History({ capacity: 0 }), RangeError);
  assert.throws(() => new History({ capacity: 1.5 }), RangeError);
});
