import assert from "node:assert/strict";
import { GatewayStreams } from "../../src/sim/session_service.ts";
import { sessionStreams } from "../../src/session/hub_transport.ts";
import { requireSecret, startRpcServer } from "../../src/net/rpc.ts";
import { Logger } from "../../src/observe/log.ts";
import type { Space } from "../../src/sim/space.ts";
import { waitUntil } from "../../testing/wait_until.ts";

const SECRET = "session-service-test-secret";
const log = new Logger({ role: "test", node: "t", level: "error" });

Deno.test("every attach of a gateway's stream, the first and each one after a break, is announced", async () => {
  const attached: string[] = [];
  const worker = new GatewayStreams({
    log,
    space: () => ({ command() {} }) as unknown as Space,
    onAttached: (gateway) => void attached.push(gateway),
  });
  const server = await startRpcServer("127.0.0.1", 0, {
    Sessions: requireSecret(SECRET, worker.service()),
  });
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
