import assert from "node:assert/strict";
import fc from "fast-check";
import {
  encodeFrame,
  encodeTrailer,
  formatTimeout,
  FrameFlag,
  FrameReader,
  KEEPALIVE_FRAME,
  parseTimeout,
  parseTrailer,
  statusFromFields,
} from "../../src/net/grpc_frame.ts";
import { RpcError, status } from "../../src/net/grpc_status.ts";

const frames = fc.array(
  fc.record({
    flags: fc.constantFrom(FrameFlag.MESSAGE, FrameFlag.TRAILER),
    payload: fc.uint8Array({ maxLength: 300 }),
  }),
  { maxLength: 8 },
);

function concat(parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.byteLength, 0));
  let at = 0;
  for (const p of parts) (out.set(p, at), at += p.byteLength);
  return out;
}

function rejection(fn: () => void): RpcError {
  try {
    fn();
  } catch (error) {
    assert.ok(error instanceof RpcError, `expected an RpcError, got ${error}`);
    return error;
  }
  assert.fail("expected a rejection");
}

Deno.test("frames split at any byte boundaries decode to the frames that were sent", () => {
  fc.assert(
    fc.property(frames, fc.array(fc.nat(), { maxLength: 10 }), (sent, cuts) => {
      const bytes = concat(sent.map((f) => encodeFrame(f.flags, f.payload)));
      const points = [...new Set(cuts.map((c) => c % (bytes.byteLength + 1)))].sort((a, b) =>
        a - b
      );
      const reader = new FrameReader();
      const got = [];
      let from = 0;
      for (const to of [...points, bytes.byteLength]) {
        got.push(...reader.push(bytes.subarray(from, to)));
        from = to;
      }
      reader.finish();
      assert.deepEqual(
        got.map((f) => [f.flags, [...f.payload]]),
        sent.map((f) => [f.flags, [...f.payload]]),
      );
    }),
  );
});

Deno.test("a message arriving a byte at a time decodes once, into bytes of its own", () => {
  const payload = Uint8Array.from({ length: 5000 }, (_, i) => i % 251);
  const bytes = encodeFrame(FrameFlag.MESSAGE, payload);
  const reader = new FrameReader();
  const got = [];
  for (let i = 0; i < bytes.byteLength; i++) {
    const frames = reader.push(bytes.subarray(i, i + 1));
    // Nothing comes out before the last byte, and everything at it.
    assert.equal(frames.length, i === bytes.byteLength - 1 ? 1 : 0);
    got.push(...frames);
  }
  reader.finish();
  bytes.fill(0); // the reader copied the payload out: the sender's buffer may be reused
  assert.deepEqual(got[0].payload, payload);
});

Deno.test("a length prefix over the maximum is refused with RESOURCE_EXHAUSTED before buffering", () => {
  const reader = new FrameReader({ maxMessageBytes: 1000 });
  const prefix = new Uint8Array([0, 0, 0, 0x03, 0xe9]); // 1001 bytes announced
  const error = rejection(() => reader.push(prefix));
  assert.equal(error.code, status.RESOURCE_EXHAUSTED);
  assert.match(error.details, /length 1001 exceeds the maximum of 1000 bytes/);
});

Deno.test("a stream that stops inside a frame is INVALID_ARGUMENT naming how far it got", () => {
  const reader = new FrameReader();
  reader.push(encodeFrame(FrameFlag.MESSAGE, new Uint8Array(10)).subarray(0, 8));
  const error = rejection(() => reader.finish());
  assert.equal(error.code, status.INVALID_ARGUMENT);
  assert.match(error.details, /ended 3 bytes into a 10-byte message/);
  const prefixOnly = new FrameReader();
  prefixOnly.push(new Uint8Array([0, 0]));
  assert.match(rejection(() => prefixOnly.finish()).details, /2 bytes into a 5-byte frame prefix/);
});

Deno.test("compressed frames are UNIMPLEMENTED and every other unknown flag is INVALID_ARGUMENT", () => {
  assert.equal(
    rejection(() => new FrameReader().push(encodeFrame(0x01, new Uint8Array(1)))).code,
    status.UNIMPLEMENTED,
  );
  for (let flags = 0; flags < 256; flags++) {
    if ([FrameFlag.MESSAGE, FrameFlag.KEEPALIVE, FrameFlag.TRAILER].includes(flags as 0)) continue;
    if (flags & 0x01) continue;
    const error = rejection(() => new FrameReader().push(encodeFrame(flags, new Uint8Array())));
    assert.equal(error.code, status.INVALID_ARGUMENT, `flags 0x${flags.toString(16)}`);
  }
});

Deno.test("a keepalive frame must be empty", () => {
  assert.equal(new FrameReader().push(KEEPALIVE_FRAME)[0].flags, FrameFlag.KEEPALIVE);
  const error = rejection(() =>
    new FrameReader().push(encodeFrame(FrameFlag.KEEPALIVE, new Uint8Array(1)))
  );
  assert.equal(error.code, status.INVALID_ARGUMENT);
});

Deno.test("random bytes never make the frame reader throw anything but an RpcError", () => {
  fc.assert(
    fc.property(fc.uint8Array({ maxLength: 200 }), (bytes) => {
      const reader = new FrameReader({ maxMessageBytes: 64 });
      try {
        reader.push(bytes);
        reader.finish();
      } catch (error) {
        assert.ok(error instanceof RpcError);
      }
    }),
  );
});

Deno.test("a trailer frame carries the status code and the percent-encoded message", () => {
  const details = "UNAVAILABLE: 100% gone\r\nüber";
  const [frame] = new FrameReader().push(encodeTrailer({ code: status.UNAVAILABLE, details }));
  assert.equal(frame.flags, FrameFlag.TRAILER);
  assert.deepEqual(parseTrailer(frame.payload), { code: status.UNAVAILABLE, details });
});

Deno.test("a status field that is not a gRPC code reads as INTERNAL", () => {
  assert.equal(statusFromFields("17", "x").code, status.INTERNAL);
  assert.equal(statusFromFields("ok", "x").code, status.INTERNAL);
  assert.equal(statusFromFields(undefined, "x").code, status.INTERNAL);
  assert.equal(parseTrailer(new TextEncoder().encode("garbage")).code, status.INTERNAL);
});

Deno.test("grpc-timeout values parse in every unit and malformed ones are ignored", () => {
  assert.equal(parseTimeout("1H"), 3_600_000);
  assert.equal(parseTimeout("2M"), 120_000);
  assert.equal(parseTimeout("250m"), 250);
  assert.equal(parseTimeout("5000u"), 5);
  assert.equal(parseTimeout("123456789m"), undefined); // 9 digits
  assert.equal(parseTimeout("-5m"), undefined);
  assert.equal(parseTimeout(null), undefined);
  assert.equal(parseTimeout(formatTimeout(1500.2)), 1501);
  assert.equal(parseTimeout(formatTimeout(3e9)), 3e9);
});
