// Streaming body limits with a real process: 256 MiB chunked uploads (no Content-Length) to every
// HTTP endpoint that reads a body get 413 while the server's RSS (from /proc) stays flat.
import assert from "node:assert/strict";
import { NodeProcess, TEST_OPERATOR_TOKEN, writeTestConfig } from "../../testing/node_process.ts";

const UPLOAD_BYTES = 256 * 1024 * 1024;
const CHUNK_BYTES = 64 * 1024;
/** The bound of issue 14: an oversized upload costs the server less than this. */
const MAX_RSS_GROWTH_BYTES = 20 * 1024 * 1024;

function rssBytes(pid: number): number {
  const status = Deno.readTextFileSync(`/proc/${pid}/status`);
  const kib = Number(/^VmRSS:\s+(\d+) kB$/m.exec(status)?.[1]);
  assert.ok(Number.isFinite(kib), "VmRSS in /proc/<pid>/status");
  return kib * 1024;
}

/**
 * POSTs a chunked body of `UPLOAD_BYTES` over a raw socket, reading the answer as it comes;
 * stops sending once the server has answered or closed. Resolves with the status line's code,
 * the body and how many body bytes were sent.
 */
async function chunkedUpload(
  port: number,
  path: string,
  headers: Record<string, string>,
): Promise<{ status: number; body: string; sent: number }> {
  const conn = await Deno.connect({ hostname: "127.0.0.1", port });
  const encoder = new TextEncoder();
  const head = [
    `POST ${path} HTTP/1.1`,
    "Host: 127.0.0.1",
    "Transfer-Encoding: chunked",
    "Content-Type: application/json",
    ...Object.entries(headers).map(([k, v]) => `${k}: ${v}`),
    "",
    "",
  ].join("\r\n");
  let answered = false;
  const reading = (async () => {
    const chunks: Uint8Array[] = [];
    const buffer = new Uint8Array(16 * 1024);
    for (;;) {
      let n: number | null;
      try {
        n = await conn.read(buffer);
      } catch {
        n = null;
      }
      if (n === null) break;
      chunks.push(buffer.slice(0, n));
      const text = new TextDecoder().decode(concat(chunks));
      const end = text.indexOf("\r\n\r\n");
      const length = Number(/content-length: (\d+)/i.exec(text)?.[1] ?? NaN);
      if (end >= 0 && text.length >= end + 4 + length) {
        answered = true;
        return text;
      }
    }
    answered = true;
    return new TextDecoder().decode(concat(chunks));
  })();
  let sent = 0;
  try {
    await conn.write(encoder.encode(head));
    const frame = concat([
      encoder.encode(`${CHUNK_BYTES.toString(16)}\r\n`),
      new Uint8Array(CHUNK_BYTES).fill(0x61),
      encoder.encode("\r\n"),
    ]);
    while (sent < UPLOAD_BYTES && !answered) {
      await conn.write(frame);
      sent += CHUNK_BYTES;
    }
    if (!answered) await conn.write(encoder.encode("0\r\n\r\n"));
  } catch {
    // The server closed the connection after answering: the upload was cut, as it should be.
  }
  const text = await reading;
  try {
    conn.close();
  } catch { /* closed */ }
  const status = Number(/^HTTP\/1\.1 (\d{3})/.exec(text)?.[1]);
  return { status, body: text.slice(text.indexOf("\r\n\r\n") + 4), sent };
}

function concat(chunks: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(chunks.reduce((n, c) => n + c.byteLength, 0));
  let at = 0;
  for (const chunk of chunks) {
    out.set(chunk, at);
    at += chunk.byteLength;
  }
  return out;
}

Deno.test("256 MiB chunked uploads to every body-reading endpoint get 413 with RSS flat", async () => {
  const config = writeTestConfig({ role: "all", workers: 1, minWorkers: 1 });
  const node = new NodeProcess("all", ["--config", config, "--port", "0", "--storage", ":memory:"]);
  try {
    const ready = await node.waitFor("all.ready");
    const port = Number(ready.port);
    const pid = node.child.pid;
    const operator = { authorization: `Bearer ${TEST_OPERATOR_TOKEN}` };
    const endpoints: Array<[string, Record<string, string>]> = [
      ["/login", {}],
      ["/api/autoscale", operator],
      ["/api/cells/0/move", operator],
      ["/api/workers/w1/drain", operator],
    ];
    // Warm each path once with a small body, so the baseline includes what serving them costs.
    for (const [path, headers] of endpoints) {
      await (await fetch(`http://127.0.0.1:${port}${path}`, {
        method: "POST",
        headers,
        body: '{"bogus":1}',
      })).body?.cancel();
    }
    const before = rssBytes(pid);
    let peak = before;
    const sampler = setInterval(() => peak = Math.max(peak, rssBytes(pid)), 20);
    try {
      for (const [path, headers] of endpoints) {
        const answer = await chunkedUpload(port, path, headers);
        assert.equal(answer.status, 413, `${path}: ${answer.body}`);
        assert.match(answer.body, /"code":"TOO_BIG"/);
        assert.match(answer.body, /exceeds the maximum of 4096/);
      }
      // Four at once, to one endpoint each.
      const answers = await Promise.all(
        endpoints.map(([path, headers]) => chunkedUpload(port, path, headers)),
      );
      assert.deepEqual(answers.map((a) => a.status), [413, 413, 413, 413]);
    } finally {
      clearInterval(sampler);
    }
    peak = Math.max(peak, rssBytes(pid));
    const growth = peak - before;
    console.log(
      `RSS before ${(before / 2 ** 20).toFixed(1)} MiB, peak ${(peak / 2 ** 20).toFixed(1)} MiB, ` +
        `growth ${(growth / 2 ** 20).toFixed(1)} MiB over 8 uploads of 256 MiB`,
    );
    assert.ok(growth < MAX_RSS_GROWTH_BYTES, `RSS grew ${growth} bytes`);
  } finally {
    await node.kill();
    Deno.removeSync(config);
  }
});
