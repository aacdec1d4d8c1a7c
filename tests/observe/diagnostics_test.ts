import assert from "node:assert/strict";
import {
  clusterEvent,
  type ClusterEventLike,
  diagnosticsRoutes,
  type RegistryView,
} from "../../src/observe/diagnostics.ts";
import { type HttpServer, json, startHttp } from "../../src/net/http.ts";
import { Logger } from "../../src/observe/log.ts";
import { NodeMetrics } from "../../src/observe/metrics.ts";
import { EventStreams } from "../../src/observe/sse.ts";
import { History } from "../../src/observe/history.ts";
import { WorkerPositionsReader } from "../../src/observe/worker_positions.ts";
import { parseMetrics, value } from "../../testing/prometheus_text.ts";

type WorkerEntry = { id: string; httpAddress: string; state: string };

/** A registry stand-in with a bounded event ring, like the real one. */
class FakeRegistry implements RegistryView {
  workers = new Map<string, WorkerEntry>();
  ring: ClusterEventLike[] = [];
  seq = 0;
  constructor(private hub: EventStreams, private ringSize = 1_000) {}
  event(kind: string, fields: Record<string, unknown> = {}): void {
    const event = { seq: ++this.seq, time: 0, kind, ...fields };
    this.ring.push(event);
    if (this.ring.length > this.ringSize) this.ring.shift();
    this.hub.publish(clusterEvent(event));
  }
  eventsSince(since: number): ClusterEventLike[] {
    return this.ring.filter((e) => e.seq > since);
  }
}

interface Harness {
  api: string;
  server: HttpServer;
  registry: FakeRegistry;
  hub: EventStreams;
  log: Logger;
  metrics: NodeMetrics;
}

async function withDiagnostics(
  fn: (h: Harness) => Promise<void>,
  options: {
    ringSize?: number;
    maxStreams?: number;
    positions?: WorkerPositionsReader;
    history?: History;
  } = {},
): Promise<void> {
  const log = new Logger({ role: "coordinator", node: "c", sink: () => {}, level: "debug" });
  const hub = new EventStreams({ maxStreams: options.maxStreams ?? 8 });
  const registry = new FakeRegistry(hub, options.ringSize);
  const metrics = new NodeMetrics({ role: "coordinator", node: `diag-${crypto.randomUUID()}` });
  const routes = diagnosticsRoutes({
    registry,
    log,
    events: hub,
    positions: options.positions,
    history: options.history,
  });
  const server = await startHttp(
    "127.0.0.1",
    0,
    (request, url, context) => {
      return routes(request, url, context) ?? json({ fallthrough: url.pathname }, 418);
    },
    log,
    { traffic: metrics.http },
  );
  try {
    await fn({ api: `http://127.0.0.1:${server.port}`, server, registry, hub, log, metrics });
  } finally {
    await server.close();
    hub.close();
    metrics.close();
  }
}

async function getError(url: string, init?: RequestInit): Promise<[number, string, string]> {
  const response = await fetch(url, { ...init, signal: AbortSignal.timeout(5_000) });
  const body = await response.json();
  return [response.status, body.error?.code, body.error?.message];
}

/** Opens an event stream and reads until `done(text)`; the caller cancels the reader. */
async function readEvents(
  response: Response,
  done: (text: string) => boolean,
): Promise<{ text: string; reader: ReadableStreamDefaultReader<Uint8Array>; ended: boolean }> {
  const reader = response.body!.getReader();
  const decoder = new TextDecoder();
  let text = "";
  const timer = setTimeout(() => reader.cancel(), 5_000);
  try {
    while (!done(text)) {
      const chunk = await reader.read();
      if (chunk.done) return { text, reader, ended: true };
      text += decoder.decode(chunk.value);
    }
    return { text, reader, ended: false };
  } finally {
    clearTimeout(timer);
  }
}

const ids = (text: string) => [...text.matchAll(/^id: (\d+)$/gm)].map((m) => Number(m[1]));

Deno.test("/api/logs returns records after since, newest limit, filtered by level", async () => {
  await withDiagnostics(async ({ api, log }) => {
    log.info("one");
    log.debug("two");
    log.warn("three", { error: new RangeError("bad") });
    log.info("four");
    const all = await (await fetch(`${api}/api/logs`)).json();
    assert.equal(all.latest, 4);
    assert.deepEqual(all.records.map((r: { seq: number }) => r.seq), [1, 2, 3, 4]);
    assert.deepEqual(all.records[2].record.error, {
      name: "RangeError",
      message: "bad",
    }, "errors are serialized as in the log line");
    const after = await (await fetch(`${api}/api/logs?since=2&limit=1`)).json();
    assert.deepEqual(after.records.map((r: { seq: number }) => r.seq), [4]);
    const warn = await (await fetch(`${api}/api/logs?level=warn`)).json();
    assert.deepEqual(warn.records.map((r: { record: { event: string } }) => r.record.event), [
      "three",
    ]);
  });
});

Deno.test("/api/logs rejects bad query parameters with 400 BAD_REQUEST naming them", async () => {
  await withDiagnostics(async ({ api }) => {
    const cases: Array<[string, RegExp]> = [
      ["since=-1", /since must be an integer/],
      ["since=abc", /since must be an integer/],
      ["since=1.5", /since must be an integer/],
      ["limit=0", /limit must be an integer from 1 to 1000/],
      ["limit=5000", /limit must be an integer from 1 to 1000/],
      ["level=verbose", /level must be one of debug, info, warn, error/],
      ["sinse=3", /Unknown query parameter "sinse"/],
      ["since=1&since=2", /since is given more than once/],
    ];
    for (const [query, message] of cases) {
      const [status, code, text] = await getError(`${api}/api/logs?${query}`);
      assert.equal(status, 400, query);
      assert.equal(code, "BAD_REQUEST", query);
      assert.match(text, message, query);
    }
    const [status, code] = await getError(`${api}/api/logs`, { method: "POST", body: "{}" });
    assert.equal(status, 405);
    assert.equal(code, "METHOD_NOT_ALLOWED");
  });
});

Deno.test("/api/events replays from Last-Event-ID, then streams live events", async () => {
  await withDiagnostics(async ({ api, registry }) => {
    registry.event("worker.joined", { worker: "w1" });
    registry.event("worker.joined", { worker: "w2" });
    registry.event("map.assigned", { epoch: 1 });
    const response = await fetch(`${api}/api/events`, { headers: { "last-event-id": "1" } });
    assert.equal(response.status, 200);
    assert.match(response.headers.get("content-type") ?? "", /^text\/event-stream/);
    const first = await readEvents(response, (t) => ids(t).includes(3));
    assert.deepEqual(ids(first.text), [2, 3]);
    registry.event("worker.down", { worker: "w2" });
    const decoder = new TextDecoder();
    let live = "";
    while (!live.includes("id: 4")) live += decoder.decode((await first.reader.read()).value);
    assert.match(live, /data: \{"seq":4,"time":0,"kind":"worker.down","worker":"w2"\}/);
    await first.reader.cancel();

    const fromQuery = await fetch(`${api}/api/events?since=2`);
    const replay = await readEvents(fromQuery, (t) => ids(t).includes(4));
    assert.deepEqual(ids(replay.text), [3, 4]);
    await replay.reader.cancel();
  });
});

Deno.test("/api/events says which events the ring lost, and replays all after a restart", async () => {
  await withDiagnostics(async ({ api, registry }) => {
    for (let i = 0; i < 6; i++) registry.event("tick", { i });
    // The ring keeps events 3..6; a client that saw 1 missed 2.
    const gap = await fetch(`${api}/api/events`, { headers: { "last-event-id": "1" } });
    const read = await readEvents(gap, (t) => ids(t).includes(6));
    assert.match(read.text, /id: 2\nevent: gap\ndata: \{"from":2,"to":2\}/);
    assert.deepEqual(ids(read.text), [2, 3, 4, 5, 6]);
    await read.reader.cancel();
    // An id from before a coordinator restart (beyond the last event) gets everything kept.
    const restarted = await fetch(`${api}/api/events`, { headers: { "last-event-id": "99" } });
    const all = await readEvents(restarted, (t) => ids(t).includes(6));
    assert.deepEqual(ids(all.text), [3, 4, 5, 6]);
    await all.reader.cancel();
  }, { ringSize: 4 });
});

Deno.test("/api/events rejects a bad Last-Event-ID, since or parameter, and POST", async () => {
  await withDiagnostics(async ({ api }) => {
    let [status, code, message] = await getError(`${api}/api/events`, {
      headers: { "last-event-id": "abc" },
    });
    assert.deepEqual([status, code], [400, "BAD_REQUEST"]);
    assert.match(message, /Last-Event-ID must be a non-negative integer, got "abc"/);
    [status, code, message] = await getError(`${api}/api/events?since=-5`);
    assert.deepEqual([status, code], [400, "BAD_REQUEST"]);
    assert.match(message, /since must be a non-negative integer/);
    [status, code, message] = await getError(`${api}/api/events?from=3`);
    assert.deepEqual([status, code], [400, "BAD_REQUEST"]);
    assert.match(message, /Unknown query parameter "from"/);
    [status, code] = await getError(`${api}/api/events`, { method: "POST" });
    assert.deepEqual([status, code], [405, "METHOD_NOT_ALLOWED"]);
  });
});

Deno.test("/api/events answers 503 once the most streams are open", async () => {
  await withDiagnostics(async ({ api }) => {
    const open = await fetch(`${api}/api/events`);
    const reader = (await readEvents(open, (t) => t.includes("retry:"))).reader;
    const [status, code] = await getError(`${api}/api/events`);
    assert.deepEqual([status, code], [503, "UNAVAILABLE"]);
    await reader.cancel();
  }, { maxStreams: 1 });
});

Deno.test("closing the server ends open event streams instead of waiting for them", async () => {
  const log = new Logger({ role: "coordinator", sink: () => {} });
  const hub = new EventStreams({ keepaliveMs: 60_000 });
  const registry = new FakeRegistry(hub);
  const routes = diagnosticsRoutes({ registry, log, events: hub });
  const server = await startHttp("127.0.0.1", 0, (request, url, context) => {
    return routes(request, url, context) ?? json({}, 404);
  }, log);
  let closed = false;
  let streams: ReadableStreamDefaultReader<Uint8Array>[] = [];
  try {
    streams = await Promise.all([1, 2].map(async () => {
      const response = await fetch(`http://127.0.0.1:${server.port}/api/events`);
      return (await readEvents(response, (t) => t.includes("retry:"))).reader;
    }));
    assert.equal(hub.size, 2);
    let timer: ReturnType<typeof setTimeout> | undefined;
    await Promise.race([
      server.close(),
      new Promise((_, reject) => {
        timer = setTimeout(() => reject(new Error("shutdown hung on open streams")), 5_000);
      }),
    ]).finally(() => clearTimeout(timer));
    closed = true;
    assert.equal(hub.size, 0);
    for (const reader of streams) {
      const end = await reader.read().catch(() => ({ done: true }));
      assert.ok(end.done, "the client sees the stream end");
    }
  } finally {
    if (!closed) {
      // A failed run: end the streams from the client side so the server can still stop.
      await Promise.all(streams.map((r) => r.cancel().catch(() => {})));
      hub.close();
      await server.close();
    }
    hub.close();
  }
});

Deno.test("/metrics serves Prometheus text, and HTTP traffic is counted with stream bytes", async () => {
  await withDiagnostics(async ({ api, metrics, registry }) => {
    registry.event("worker.joined", { worker: "w1" });
    const events = await fetch(`${api}/api/events`);
    const read = await readEvents(events, (t) => ids(t).includes(1));
    await read.reader.cancel();
    await (await fetch(`${api}/api/logs`, { method: "GET" })).body?.cancel();
    const response = await fetch(`${api}/metrics`);
    assert.match(response.headers.get("content-type") ?? "", /^text\/plain; version=0\.0\.4/);
    const families = parseMetrics(await response.text());
    const node = { node: metrics.node, transport: "http" };
    assert.equal(value(families, "zs_messages_total", { ...node, direction: "in" }), 3);
    assert.ok(
      value(families, "zs_bytes_total", { ...node, direction: "out" }) >= read.text.length,
      "bytes of the event stream are counted as they flow",
    );
  });
});

Deno.test("/api/entities gathers capped positions and reports unreachable workers", async () => {
  const log = new Logger({ role: "worker", sink: () => {} });
  const owned = Array.from({ length: 10 }, (_, i) => [i, i * 10.123, 5, 0, 1]);
  let release = () => {};
  const hung = new Promise<void>((resolve) => (release = resolve));
  const workers = await Promise.all([
    startHttp("127.0.0.1", 0, () => json({ tick: 42, owned }), log),
    startHttp("127.0.0.1", 0, () => json({ tick: "soon", owned: [] }), log),
    startHttp("127.0.0.1", 0, async () => (await hung, json({})), log),
  ]);
  const registryWorkers = (registry: FakeRegistry) => {
    const entries: WorkerEntry[] = [
      { id: "good", httpAddress: `127.0.0.1:${workers[0].port}`, state: "active" },
      { id: "garbled", httpAddress: `127.0.0.1:${workers[1].port}`, state: "active" },
      { id: "slow", httpAddress: `127.0.0.1:${workers[2].port}`, state: "active" },
      { id: "gone", httpAddress: "127.0.0.1:1", state: "down" },
    ];
    for (const w of entries) registry.workers.set(w.id, w);
  };
  try {
    let registryRef: FakeRegistry | undefined;
    const reader = new WorkerPositionsReader({
      workers: () => [...registryRef!.workers.values()].filter((w) => w.state !== "down"),
      timeoutMs: 200,
      reuseMs: 0,
    });
    await withDiagnostics(async ({ api, registry }) => {
      registryRef = registry;
      registryWorkers(registry);
      const body = await (await fetch(`${api}/api/entities?max=4`)).json();
      assert.equal(body.max, 4);
      const byId = new Map(body.workers.map((w: { id: string }) => [w.id, w]));
      assert.deepEqual([...byId.keys()], ["good", "garbled", "slow"], "down workers are skipped");
      const good = byId.get("good") as { tick: number; total: number; entities: number[][] };
      assert.equal(good.tick, 42);
      assert.equal(good.total, 10);
      assert.deepEqual(good.entities.map((e) => e[0]), [0, 2, 5, 7], "evenly thinned to max");
      assert.equal(good.entities[1][1], 20.24, "coordinates cut to 0.01");
      const garbled = byId.get("garbled") as { error: { code: string; message: string } };
      assert.equal(garbled.error.code, "UNAVAILABLE");
      assert.match(garbled.error.message, /tick must be an integer/);
      const slow = byId.get("slow") as { error: { message: string }; entities: unknown[] };
      assert.match(slow.error.message, /no answer from .* within 200 ms/);
      assert.deepEqual(slow.entities, []);

      for (const query of ["max=0", "max=5001", "max=ten", "limit=3"]) {
        const [status, code] = await getError(`${api}/api/entities?${query}`);
        assert.deepEqual([status, code], [400, "BAD_REQUEST"], query);
      }
    }, { positions: reader });
  } finally {
    release();
    await Promise.all(workers.map((w) => w.close()));
  }
});

Deno.test("/api/history serves the last seconds of samples and rejects bad parameters", async () => {
  let now = 5_000;
  const history = new History({ capacity: 10, now: () => now });
  for (let i = 0; i < 4; i++, now += 1_000) {
    history.record({
      workers: [],
      gateways: [],
      cluster: { workersUp: 1, entities: i, sessions: 0, migrations: 0 },
    });
  }
  await withDiagnostics(async ({ api }) => {
    const body = await (await fetch(`${api}/api/history?seconds=2`)).json();
    assert.deepEqual(body.times, [7_000, 8_000]);
    assert.deepEqual(body.cluster.entities, [2, 3]);
    assert.equal(body.intervalMs, 1_000);
    for (const query of ["seconds=0", "seconds=901", "seconds=1.5", "seconds=x", "since=1"]) {
      const [status, code, message] = await getError(`${api}/api/history?${query}`);
      assert.deepEqual([status, code], [400, "BAD_REQUEST"], query);
      assert.match(message, /seconds|since/, query);
    }
    const [status, code] = await getError(`${api}/api/history`, { method: "POST" });
    assert.deepEqual([status, code], [405, "METHOD_NOT_ALLOWED"]);
  }, { history });
  await withDiagnostics(async ({ api }) => {
    const [status, code] = await getError(`${api}/api/history`);
    assert.deepEqual([status, code], [404, "NOT_FOUND"], "a node without history says so");
  });
});

Deno.test("paths that are not diagnostics fall through to the caller", async () => {
  await withDiagnostics(async ({ api }) => {
    const response = await fetch(`${api}/api/state`);
    assert.equal(response.status, 418);
    assert.deepEqual(await response.json(), { fallthrough: "/api/state" });
  });
});
