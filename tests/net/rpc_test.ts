import assert from "node:assert/strict";
import {
  grpc,
  type RegisterReply,
  type RegisterRequest,
  requireSecret,
  rpcClient,
  type RpcServer,
  startRpcServer,
  statusOf,
  unary,
} from "../../src/net/rpc.ts";
import { encodeFrame, FrameFlag, FrameReader, parseTrailer } from "../../src/net/grpc_frame.ts";
import { CONTENT_TYPE } from "../../src/net/grpc_frame.ts";
import { messageCodec } from "../../src/net/proto_codec.ts";
import protobuf from "protobufjs";
import { Buffer } from "node:buffer";

const SECRET = "rpc-test-secret";
type Bytes = { payload: Uint8Array };
type Duplex = grpc.ClientDuplexStream<Bytes, Bytes>;

const world = {
  dims: 2,
  size: [400, 300],
  cellSize: 100,
  tickHz: 20,
  aoiRadius: 20,
  ghostMargin: 30,
  worldStartMs: 1_700_000_000_123,
  snapshotHz: 10,
};

/** Server-side observations of the fixture's handlers. */
interface Seen {
  register: RegisterRequest[];
  syncIn: number[];
  cancelled: string[];
  serverCalls: grpc.ServerDuplexStream<Bytes, Bytes>[];
}

async function fixture(options: { maxMessageBytes?: number } = {}) {
  const seen: Seen = { register: [], syncIn: [], cancelled: [], serverCalls: [] };
  const server: RpcServer = await startRpcServer("127.0.0.1", 0, {
    Coordinator: requireSecret(SECRET, {
      Register(
        call: grpc.ServerUnaryCall<RegisterRequest, RegisterReply>,
        callback: grpc.sendUnaryData<RegisterReply>,
      ) {
        seen.register.push(call.request);
        callback(null, {
          workerId: `${call.request.nodeId}-id`,
          workerIndex: 7,
          world,
          game: new Uint8Array([1, 2, 3]),
          heartbeatMs: 500,
          workerTimeoutMs: 2_000,
          replicationTicks: 3,
          epoch: 9,
        });
      },
      // Never answers: for deadlines.
      Heartbeat(call: grpc.ServerUnaryCall<unknown, unknown>) {
        call.on("cancelled", () => seen.cancelled.push("Heartbeat"));
      },
      Drain(_call: unknown, callback: grpc.sendUnaryData<unknown>) {
        callback({ code: grpc.status.NOT_FOUND, details: "NOT_FOUND: no such worker" });
      },
      WatchMap(call: grpc.ServerWritableStream<{ nodeId: string }, unknown>) {
        for (let epoch = 1; epoch <= 5; epoch++) {
          call.write({ epoch, owners: ["w1", call.request.nodeId], workers: [], gateways: [] });
        }
        call.end();
      },
    }),
    Peer: requireSecret(SECRET, {
      Sync(call: grpc.ServerDuplexStream<Bytes, Bytes>) {
        seen.serverCalls.push(call);
        call.on("error", () => {});
        call.on("cancelled", () => seen.cancelled.push("Sync"));
        const mode = call.metadata.get("zs-mode")[0] ?? "echo";
        if (mode === "chatty") {
          // Writes before reading anything: both directions stream at once.
          for (let i = 0; i < 50; i++) call.write({ payload: new Uint8Array([i]) });
        }
        call.on("data", (m: Bytes) => {
          seen.syncIn.push(m.payload[0]);
          if (mode === "echo") call.write(m);
        });
        call.on("end", () => call.end());
      },
    }),
  }, options);
  const clients: grpc.Client[] = [];
  const client = (service: "Coordinator" | "Peer", secret = SECRET) => {
    const c = rpcClient(service, `127.0.0.1:${server.port}`, secret);
    clients.push(c);
    return c;
  };
  const close = async () => {
    for (const c of clients) c.close();
    await server.close();
  };
  return { server, seen, client, close };
}

function sync(client: grpc.Client, mode = "echo"): Duplex {
  const metadata = new grpc.Metadata();
  metadata.set("zs-node", "w1");
  metadata.set("zs-mode", mode);
  const call = (client as unknown as { Sync(m: grpc.Metadata): Duplex }).Sync(metadata);
  call.on("error", () => {});
  return call;
}

function finished(call: grpc.ClientDuplexStream<unknown, unknown>): Promise<grpc.StatusObject> {
  return new Promise((resolve) => call.on("status", resolve));
}

/** A hand-made request, over HTTP/2 unless `http1`; returns the status however it came. */
async function raw(
  port: number,
  path: string,
  body: Uint8Array | string,
  options: { headers?: Record<string, string>; http1?: boolean } = {},
) {
  const client = options.http1 ? undefined : Deno.createHttpClient({ http1: false, http2: true });
  try {
    const response = await fetch(`http://127.0.0.1:${port}${path}`, {
      method: "POST",
      body: body as BodyInit,
      headers: { "content-type": CONTENT_TYPE, "zs-secret": SECRET, ...options.headers },
      client,
    });
    const bytes = new Uint8Array(await response.arrayBuffer());
    const header = response.headers.get("grpc-status");
    if (header !== null) {
      return {
        http: response.status,
        code: Number(header),
        details: decodeURIComponent(response.headers.get("grpc-message") ?? ""),
      };
    }
    const trailer = new FrameReader().push(bytes).find((f) => f.flags === FrameFlag.TRAILER);
    assert.ok(trailer, `no status from ${path}`);
    return { http: response.status, ...parseTrailer(trailer.payload) };
  } finally {
    client?.close();
  }
}

const registerRequest: RegisterRequest = {
  nodeId: "w9",
  grpcAddress: "127.0.0.1:1234",
  httpAddress: "127.0.0.1:5678",
  version: "1.2.3",
  pool: true,
  incarnation: "b3f1c2",
  gameName: "demo",
  gameVersion: "1",
  region: "eu-west",
};

async function stillServes(client: grpc.Client): Promise<void> {
  const reply = await unary<RegisterRequest, RegisterReply>(client, "Register", registerRequest);
  assert.equal(reply.workerId, "w9-id");
}

Deno.test("unary Register round-trips the proto's request and reply messages", async () => {
  const f = await fixture();
  try {
    const reply = await unary<RegisterRequest, RegisterReply>(
      f.client("Coordinator"),
      "Register",
      registerRequest,
    );
    assert.deepEqual(f.seen.register, [registerRequest]);
    assert.equal(reply.workerId, "w9-id");
    assert.equal(reply.workerIndex, 7);
    assert.deepEqual(reply.world, world);
    assert.deepEqual([...reply.game], [1, 2, 3]);
    assert.equal(reply.heartbeatMs, 500);
    assert.equal(reply.workerTimeoutMs, 2_000, "fields added for failover travel too");
    assert.equal(reply.replicationTicks, 3);
    assert.equal(reply.epoch, 9, "uint64 epoch crosses the wire as a number");
  } finally {
    await f.close();
  }
});

Deno.test("a handler's error status reaches the caller with its code and message", async () => {
  const f = await fixture();
  try {
    const error = await unary(f.client("Coordinator"), "Drain", { workerId: "x" }).catch((
      e: grpc.ServiceError,
    ) => e);
    assert.equal(statusOf(error), grpc.status.NOT_FOUND);
    assert.match((error as grpc.ServiceError).details, /^NOT_FOUND: no such worker$/);
  } finally {
    await f.close();
  }
});

Deno.test("bidi Sync streams both ways at once, in order, then ends OK", async () => {
  const f = await fixture();
  try {
    const call = sync(f.client("Peer"), "chatty");
    const got: number[] = [];
    const all = new Promise<void>((resolve) =>
      call.on("data", (m: Bytes) => got.push(m.payload[0]) === 50 && resolve())
    );
    for (let i = 0; i < 50; i++) call.write({ payload: new Uint8Array([100 + i]) });
    await all;
    // Both directions are done while the call is still open.
    assert.deepEqual(got, Array.from({ length: 50 }, (_, i) => i));
    assert.equal(call.status, undefined);
    const status = finished(call);
    call.end();
    assert.equal((await status).code, grpc.status.OK);
    assert.deepEqual(f.seen.syncIn, Array.from({ length: 50 }, (_, i) => 100 + i));
  } finally {
    await f.close();
  }
});

Deno.test("server-streaming WatchMap delivers every update in order, then ends OK", async () => {
  const f = await fixture();
  try {
    const call = (f.client("Coordinator") as unknown as {
      WatchMap(
        r: { nodeId: string },
      ): grpc.ClientReadableStream<{ epoch: number; owners: string[] }>;
    }).WatchMap({ nodeId: "w2" });
    const epochs: number[] = [];
    call.on("data", (u: { epoch: number; owners: string[] }) => {
      assert.deepEqual(u.owners, ["w1", "w2"]);
      epochs.push(u.epoch);
    });
    const ended = new Promise((resolve) => call.on("end", resolve));
    assert.equal((await finished(call)).code, grpc.status.OK);
    await ended;
    assert.deepEqual(epochs, [1, 2, 3, 4, 5]);
  } finally {
    await f.close();
  }
});

Deno.test("a wrong or missing secret is UNAUTHENTICATED on unary and streaming calls", async () => {
  const f = await fixture();
  try {
    for (const secret of ["wrong", ""]) {
      const error = await unary(f.client("Coordinator", secret), "Register", registerRequest)
        .catch((e) => e);
      assert.equal(statusOf(error), grpc.status.UNAUTHENTICATED, `secret "${secret}"`);
      const call = sync(f.client("Peer", secret));
      assert.equal((await finished(call)).code, grpc.status.UNAUTHENTICATED);
    }
    assert.deepEqual(f.seen.register, []);
    assert.deepEqual(f.seen.syncIn, []);
  } finally {
    await f.close();
  }
});

Deno.test("an unknown method or a service the server does not serve is UNIMPLEMENTED", async () => {
  const f = await fixture();
  try {
    const unknown = await raw(f.server.port, "/zonescaler.Coordinator/Nope", new Uint8Array());
    assert.equal(unknown.code, grpc.status.UNIMPLEMENTED);
    assert.match(unknown.details, /no method \/zonescaler.Coordinator\/Nope/);
    const sessions = rpcClient("Sessions", `127.0.0.1:${f.server.port}`, SECRET);
    try {
      const call = (sessions as unknown as { Attach(m: grpc.Metadata): Duplex }).Attach(
        new grpc.Metadata(),
      );
      call.on("error", () => {});
      assert.equal((await finished(call)).code, grpc.status.UNIMPLEMENTED);
    } finally {
      sessions.close();
    }
    await stillServes(f.client("Coordinator"));
  } finally {
    await f.close();
  }
});

Deno.test("a call past its deadline is DEADLINE_EXCEEDED and the server sees it cancelled", async () => {
  const f = await fixture();
  try {
    const error = await unary(f.client("Coordinator"), "Heartbeat", { workerId: "w1" }, 200)
      .catch((e) => e);
    assert.equal(statusOf(error), grpc.status.DEADLINE_EXCEEDED);
    const deadline = Date.now() + 5_000;
    while (!f.seen.cancelled.includes("Heartbeat") && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 20));
    }
    assert.deepEqual(f.seen.cancelled, ["Heartbeat"]);
  } finally {
    await f.close();
  }
});

Deno.test("malformed requests get a clear status and the server keeps serving", async () => {
  const f = await fixture({ maxMessageBytes: 1024 });
  const port = f.server.port;
  const register = "/zonescaler.Coordinator/Register";
  const syncPath = "/zonescaler.Peer/Sync";
  try {
    const cases: Array<[string, () => ReturnType<typeof raw>, number, number, RegExp]> = [
      [
        "bad length prefix",
        () => raw(port, register, new Uint8Array([0, 0xff, 0xff, 0xff, 0xff, 1])),
        200,
        grpc.status.RESOURCE_EXHAUSTED,
        /length 4294967295 exceeds the maximum of 1024 bytes/,
      ],
      [
        "truncated message",
        () => raw(port, register, encodeFrame(FrameFlag.MESSAGE, new Uint8Array(10)).slice(0, 8)),
        200,
        grpc.status.INVALID_ARGUMENT,
        /ended 3 bytes into a 10-byte message/,
      ],
      [
        "oversized message",
        () => raw(port, register, encodeFrame(FrameFlag.MESSAGE, new Uint8Array(2000))),
        200,
        grpc.status.RESOURCE_EXHAUSTED,
        /length 2000 exceeds the maximum of 1024 bytes/,
      ],
      [
        "garbage protobuf",
        () => raw(port, register, encodeFrame(FrameFlag.MESSAGE, new Uint8Array([0x0a, 0xff]))),
        200,
        grpc.status.INVALID_ARGUMENT,
        /Cannot decode RegisterRequest/,
      ],
      [
        "garbage protobuf on a stream",
        () =>
          raw(port, syncPath, encodeFrame(FrameFlag.MESSAGE, new Uint8Array([0x0a, 0xff])), {
            headers: { "zs-node": "w1" },
          }),
        200,
        grpc.status.INVALID_ARGUMENT,
        /Cannot decode Batch/,
      ],
      [
        "unknown frame flags on a stream",
        () => raw(port, syncPath, encodeFrame(0x20, new Uint8Array())),
        200,
        grpc.status.INVALID_ARGUMENT,
        /unknown flags 0x20/,
      ],
      [
        "no message",
        () => raw(port, register, new Uint8Array()),
        200,
        grpc.status.INVALID_ARGUMENT,
        /got no request message/,
      ],
      [
        "wrong content-type",
        () => raw(port, register, "{}", { headers: { "content-type": "application/json" } }),
        415,
        grpc.status.INTERNAL,
        /expected content-type application\/grpc-web\+proto, got application\/json/,
      ],
      [
        "HTTP/1.1 request",
        () => raw(port, register, new Uint8Array(), { http1: true }),
        505,
        grpc.status.UNIMPLEMENTED,
        /needs HTTP\/2/,
      ],
    ];
    const client = f.client("Coordinator");
    for (const [name, send, http, code, details] of cases) {
      const got = await send();
      assert.equal(got.http, http, name);
      assert.equal(got.code, code, `${name}: ${got.details}`);
      assert.match(got.details, details, name);
      await stillServes(client);
    }
    assert.equal(f.seen.register.length, cases.length);
  } finally {
    await f.close();
  }
});

Deno.test("a message over the size limit is refused on the sending side with RESOURCE_EXHAUSTED", async () => {
  const f = await fixture();
  try {
    const call = sync(f.client("Peer"));
    assert.equal(call.write({ payload: new Uint8Array(16 * 1024 * 1024 + 1) }), false);
    const status = await finished(call);
    assert.equal(status.code, grpc.status.RESOURCE_EXHAUSTED);
    assert.match(status.details, /exceed the maximum of 16777216 bytes/);
  } finally {
    await f.close();
  }
});

Deno.test("cancelling on the client resets the server's call, and a server error ends the client's", async () => {
  const f = await fixture();
  try {
    const first = sync(f.client("Peer"));
    first.write({ payload: new Uint8Array([1]) });
    await new Promise((resolve) => first.on("data", resolve));
    const cancelled = finished(first);
    first.cancel();
    assert.equal((await cancelled).code, grpc.status.CANCELLED);
    const deadline = Date.now() + 5_000;
    while (!f.seen.cancelled.includes("Sync") && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 20));
    }
    assert.deepEqual(f.seen.cancelled, ["Sync"]);

    const second = sync(f.client("Peer"));
    second.write({ payload: new Uint8Array([2]) });
    await new Promise((resolve) => second.on("data", resolve));
    const errored = new Promise<Error>((resolve) => second.on("error", resolve));
    f.seen.serverCalls[1].emit("error", {
      code: grpc.status.FAILED_PRECONDITION,
      details: "FAILED_PRECONDITION: stale epoch",
    });
    const error = await errored;
    assert.equal(statusOf(error), grpc.status.FAILED_PRECONDITION);
    assert.match(error.message, /stale epoch/);
  } finally {
    await f.close();
  }
});

Deno.test("a writer that outruns the connection is told to wait and every message arrives", async () => {
  const f = await fixture();
  try {
    const call = sync(f.client("Peer"), "sink");
    const mib = new Uint8Array(1024 * 1024);
    let refused = 0;
    for (let i = 0; i < 8; i++) {
      mib[0] = i;
      if (!call.write({ payload: mib.slice() })) refused++;
    }
    assert.ok(refused > 0, "write() never reported a full queue");
    await new Promise((resolve) => call.once("drain", resolve));
    const status = finished(call);
    call.end();
    assert.equal((await status).code, grpc.status.OK);
    assert.deepEqual(f.seen.syncIn, [0, 1, 2, 3, 4, 5, 6, 7]);
  } finally {
    await f.close();
  }
});

Deno.test("closing the server ends open streams with UNAVAILABLE", async () => {
  const f = await fixture();
  const client = f.client("Peer");
  const call = sync(client);
  call.write({ payload: new Uint8Array([1]) });
  await new Promise((resolve) => call.on("data", resolve));
  const status = finished(call);
  await f.server.close();
  assert.equal((await status).code, grpc.status.UNAVAILABLE);
  client.close();
});

Deno.test("messages decode with the proto's defaults for absent fields", () => {
  const codec = messageCodec("HeartbeatRequest");
  assert.deepEqual(codec.decode(codec.encode({ workerId: "w1", tick: 2 ** 40 })), {
    workerId: "w1",
    tick: 2 ** 40,
    epoch: 0,
    cells: [],
    ghosts: 0,
    tickP50Ms: 0,
    tickP99Ms: 0,
    pendingTransfers: 0,
    pendingHandoffs: 0,
    mirrored: 0,
    handoffsOut: 0,
  });
});

Deno.test("the hand-written codec of one-bytes-field messages matches protobufjs byte for byte", () => {
  const codec = messageCodec("Batch");
  const reference = protobuf.Root.fromJSON({
    nested: { t: { nested: { Batch: { fields: { payload: { type: "bytes", id: 1 } } } } } },
  }).lookupType("t.Batch");
  const sizes = [0, 1, 127, 128, 300, 16_383, 16_384, 70_000, 2_097_152];
  for (const size of sizes) {
    const payload = new Uint8Array(size).map((_, i) => (i * 31) & 0xff);
    const bytes = codec.encode({ payload });
    const expected = reference.encode({ payload }).finish(); // a Buffer: compare the bytes
    assert.ok(Buffer.from(bytes).equals(Buffer.from(expected)), `${size} bytes`);
    assert.deepEqual(codec.decode(bytes), { payload });
  }
  // Another shape is left to protobufjs: an unknown field after the payload, a field repeated.
  const extra = new Uint8Array([0x0a, 0x01, 0x07, 0x10, 0x05]);
  assert.deepEqual(codec.decode(extra), { payload: new Uint8Array([7]) });
  const twice = new Uint8Array([0x0a, 0x01, 0x07, 0x0a, 0x01, 0x08]);
  assert.deepEqual(codec.decode(twice), { payload: new Uint8Array([8]) }, "the last one wins");
  assert.throws(() => codec.decode(new Uint8Array([0x0a, 0x05, 0x01])), /Cannot decode Batch/);
});
