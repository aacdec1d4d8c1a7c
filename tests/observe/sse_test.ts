import assert from "node:assert/strict";
import { EventStreams, formatEvent, parseEventId } from "../../src/observe/sse.ts";

const decoder = new TextDecoder();

/** Reads chunks until `done(text)` holds or the stream ends; bounded by a timeout. */
async function readUntil(
  body: ReadableStream<Uint8Array>,
  done: (text: string) => boolean,
  timeoutMs = 5_000,
): Promise<{ text: string; ended: boolean }> {
  const reader = body.getReader();
  let text = "";
  const timer = setTimeout(() => reader.cancel(new Error("timed out")), timeoutMs);
  try {
    while (!done(text)) {
      const { value, done: ended } = await reader.read();
      if (ended) return { text, ended: true };
      text += decoder.decode(value);
    }
    return { text, ended: false };
  } finally {
    clearTimeout(timer);
    reader.releaseLock();
  }
}

Deno.test("a stream starts with retry and the backlog in order, then live events", async () => {
  const hub = new EventStreams({ retryMs: 1500 });
  try {
    const body = hub.open({
      backlog: [{ id: 1, data: { kind: "a" } }, { id: 2, data: { kind: "b" } }],
    });
    hub.publish({ id: 3, data: { kind: "c" } });
    const { text } = await readUntil(body, (t) => t.includes("id: 3"));
    assert.equal(
      text,
      'retry: 1500\n\nid: 1\ndata: {"kind":"a"}\n\nid: 2\ndata: {"kind":"b"}\n\n' +
        'id: 3\ndata: {"kind":"c"}\n\n',
    );
  } finally {
    hub.close();
  }
});

Deno.test("event data stays on one line and a typed event names its type", () => {
  assert.equal(
    formatEvent({ id: 9, event: "gap", data: { note: "two\nlines\r\n" } }),
    'id: 9\nevent: gap\ndata: {"note":"two\\nlines\\r\\n"}\n\n',
  );
  assert.equal(formatEvent({ id: 1, event: "x\ny", data: 1 }), "id: 1\nevent: xy\ndata: 1\n\n");
});

Deno.test("Last-Event-ID and since accept only non-negative integers", () => {
  assert.equal(parseEventId(null, "since"), 0);
  assert.equal(parseEventId("", "since"), 0);
  assert.equal(parseEventId("0", "since"), 0);
  assert.equal(parseEventId("123456789012345", "since"), 123456789012345);
  for (const bad of ["-1", "1.5", "abc", "1e3", " 1", "0x10", "9999999999999999", "NaN"]) {
    assert.throws(
      () => parseEventId(bad, "Last-Event-ID"),
      (e: unknown) => e instanceof RangeError && e.message.startsWith("Last-Event-ID must be"),
      bad,
    );
  }
});

Deno.test("a reader that falls behind is closed instead of being buffered without bound", async () => {
  const hub = new EventStreams({ maxQueuedBytes: 300 });
  try {
    const slow = hub.open();
    const fast = hub.open();
    const fastReader = readUntil(fast, (t) => t.includes("id: 20"));
    for (let id = 1; id <= 20; id++) {
      hub.publish({ id, data: "x".repeat(40) });
      // The fast reader drains between events; the slow one never reads.
      await new Promise((r) => setTimeout(r, 0));
    }
    assert.equal(hub.dropped, 1, "exactly the slow stream was dropped");
    assert.equal(hub.size, 1);
    assert.ok((await fastReader).text.includes("id: 20"), "the fast reader got everything");
    const { text, ended } = await readUntil(slow, () => false);
    assert.ok(ended, "the slow stream ended");
    assert.ok(text.length <= 300 + 100, `queued at most about the limit, got ${text.length} bytes`);
  } finally {
    hub.close();
  }
});

Deno.test("close ends every open stream and stops the keepalive timer", async () => {
  const hub = new EventStreams({ keepaliveMs: 60_000 });
  const a = hub.open();
  const b = hub.open();
  assert.equal(hub.size, 2);
  hub.close();
  assert.equal(hub.size, 0);
  assert.ok((await readUntil(a, () => false)).ended);
  assert.ok((await readUntil(b, () => false)).ended);
  // The op sanitizer fails this test if the keepalive interval were still running.
});

Deno.test("aborting the server's signal ends the stream; a cancelled reader leaves the hub", async () => {
  const hub = new EventStreams();
  try {
    const closing = new AbortController();
    const body = hub.open({ signal: closing.signal });
    closing.abort();
    assert.ok((await readUntil(body, () => false)).ended);
    assert.equal(hub.size, 0);

    const other = hub.open();
    await other.cancel();
    assert.equal(hub.size, 0);
    hub.publish({ id: 1, data: null }); // no stream left to write to: nothing throws

    const aborted = new AbortController();
    aborted.abort();
    assert.ok((await readUntil(hub.open({ signal: aborted.signal }), () => false)).ended);
  } finally {
    hub.close();
  }
});

Deno.test("more than maxStreams streams are refused with a RangeError", () => {
  const hub = new EventStreams({ maxStreams: 2 });
  try {
    hub.open();
    hub.open();
    assert.equal(hub.hasRoom, false);
    assert.throws(() => hub.open(), RangeError);
  } finally {
    hub.close();
  }
});

Deno.test("an idle stream receives keepalive comments", async () => {
  const hub = new EventStreams({ keepaliveMs: 5 });
  try {
    const { text } = await readUntil(hub.open(), (t) => t.includes(": keepalive\n\n"));
    assert.ok(text.startsWith("retry:"));
  } finally {
    hub.close();
  }
});
