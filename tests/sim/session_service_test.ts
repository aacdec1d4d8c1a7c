import assert from "node:assert/strict";
import { GatewayStreams } from "../../src/sim/session_service.ts";
import { sessionStreams } from "../../src/session/hub_transport.ts";
import { grpc, requireSecret, rpcClient, startRpcServer } from "../../src/net/rpc.ts";
import { NODE_METADATA, VERSION_METADATA } from "../../src/sync/peer_links.ts";
import { SESSION_WIRE_VERSION } from "../../src/session/session_wire.ts";
import { Logger } from "../../src/observe/log.ts";
import type { Space } from "../../src/sim/space.ts";
import { waitUntil } from "../../testing/wait_until.ts";

const SECRET = "session-service-test-secret";
const log = new Logger({ role: "test", node: "t", level: "error" });

/** A worker's Sessions service on a real gRPC server, and the gateways it saw attach. */
async function workerSessions() {
  const attached: string[] = [];
  const worker = new GatewayStreams({
    log,
    space: () => ({ command() {} }) as unknown as Space,
    onAttached: (gateway) => void attached.push(gateway),
  });
  const server = await startRpcServer("127.0.0.1", 0, {
    Sessions: requireSecret(SECRET, worker.service()),
  });
  return { attached, worker, server };
}

Deno.test("every attach of a gateway's stream, the first and each one after a break, is announced", async () => {
  const { attached, worker, server } = await workerSessions();
  // The gateway's side as the gateway role builds it: PeerLinks dialing Sessions.Attach.
  const { links } = sessionStreams({
    self: "g1",
    secret: SECRET,
    log,
    countError() {},
    onReport() {},
  });
  try {
    links.update([{ id: "w1", grpcAddress: `127.0.0.1:${server.port}`, state: "active" }]);
    await waitUntil("the first attach", () => attached.length === 1);
    links.cut("w1"); // the stream breaks, as a network fault would
    links.heal("w1");
    await waitUntil("the attach after the break", () => attached.length === 2);
    assert.deepEqual(attached, ["g1", "g1"]);
  } finally {
    links.close();
    worker.close();
    await server.close();
  }
});

Deno.test("a gateway of another session wire version is refused at attach, and says so", async () => {
  const { attached, worker, server } = await workerSessions();
  const client = rpcClient("Sessions", `127.0.0.1:${server.port}`, SECRET);
  try {
    const metadata = new grpc.Metadata();
    metadata.set(NODE_METADATA, "g9");
    metadata.set(VERSION_METADATA, String(SESSION_WIRE_VERSION - 1));
    const call = (client as unknown as Record<
      string,
      (m: grpc.Metadata) => grpc.ClientDuplexStream<unknown, unknown>
    >)
      .Attach(metadata);
    const error = await new Promise<{ code?: number; details?: string }>((resolve) =>
      call.on("error", resolve)
    );
    assert.equal(error.code, grpc.status.FAILED_PRECONDITION);
    assert.equal(
      error.details,
      `g9 sends payload version ${
        SESSION_WIRE_VERSION - 1
      }; this worker reads version ${SESSION_WIRE_VERSION} only`,
    );
    assert.deepEqual(attached, [], "no stream was attached");
  } finally {
    client.close();
    worker.close();
    await server.close();
  }
});
