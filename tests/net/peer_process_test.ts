// The far side of a stream dies (kill -9) or pauses (SIGSTOP, then SIGCONT) in another process:
// the near side must see an end or an error, and both processes must keep running.
import assert from "node:assert/strict";
import { PeerChild } from "../../testing/peer_child.ts";
import { CRASH_LINE } from "../../testing/fault_cycles.ts";
import { grpc, rpcClient, type RpcServer, startRpcServer } from "../../src/net/rpc.ts";

const SECRET = "peer-process-test";
const KEEPALIVE = { intervalMs: 200, timeoutMs: 1_000 };
type Bytes = { payload: Uint8Array };
type Duplex = grpc.ClientDuplexStream<Bytes, Bytes>;

function sync(client: grpc.Client): Duplex {
  const metadata = new grpc.Metadata();
  metadata.set("zs-node", "parent");
  const call = (client as unknown as { Sync(m: grpc.Metadata): Duplex }).Sync(metadata);
  call.on("error", () => {});
  return call;
}

const statusOfCall = (call: Duplex) =>
  new Promise<grpc.StatusObject>((resolve) => call.on("status", resolve));

async function echoOnce(call: Duplex, byte: number): Promise<void> {
  const echoed = new Promise<Bytes>((resolve) => call.once("data", resolve));
  call.write({ payload: new Uint8Array([byte]) });
  assert.equal((await echoed).payload[0], byte);
}

function assertNoCrash(child: PeerChild, status: Deno.CommandStatus): void {
  assert.equal(status.signal, "SIGTERM", `the child died of ${status.signal ?? status.code}`);
  assert.deepEqual(child.stderr.filter((l) => CRASH_LINE.test(l)), []);
}

/** A peer server child and a client whose first stream echoed a byte; `ended` is its status. */
async function servingPeer() {
  const child = new PeerChild(["serve", SECRET]);
  const { grpcPort } = await child.waitFor("peer.listening");
  const client = rpcClient("Peer", `127.0.0.1:${grpcPort}`, SECRET, { keepalive: KEEPALIVE });
  try {
    const call = sync(client);
    await echoOnce(call, 1);
    return { child, client, ended: statusOfCall(call) };
  } catch (error) {
    client.close();
    await child.stop();
    throw error;
  }
}

Deno.test("a stream to a server killed with kill -9 ends with UNAVAILABLE", async () => {
  const { child, client, ended } = await servingPeer();
  try {
    child.child.kill("SIGKILL");
    const status = await ended;
    assert.equal(status.code, grpc.status.UNAVAILABLE, status.details);
    assert.equal((await child.child.status).signal, "SIGKILL");
  } finally {
    client.close();
    await child.stop();
  }
});

Deno.test("a stream to a SIGSTOPped server fails after the keepalive timeout; after SIGCONT it serves again", async () => {
  const { child, client, ended } = await servingPeer();
  try {
    child.child.kill("SIGSTOP");
    const status = await ended;
    assert.equal(status.code, grpc.status.UNAVAILABLE);
    assert.match(status.details, /nothing from 127\.0\.0\.1:\d+ for \d+ ms/);
    child.child.kill("SIGCONT");
    const again = sync(client);
    await echoOnce(again, 2);
    again.end();
    assert.equal((await statusOfCall(again)).code, grpc.status.OK);
  } finally {
    client.close();
    assertNoCrash(child, await child.stop());
  }
});

async function acceptingServer() {
  const calls: grpc.ServerDuplexStream<Bytes, Bytes>[] = [];
  const server: RpcServer = await startRpcServer("127.0.0.1", 0, {
    Peer: {
      Sync(call: grpc.ServerDuplexStream<Bytes, Bytes>) {
        call.on("error", () => {});
        calls.push(call);
      },
    },
  });
  return { server, calls };
}

function serverCallOver(call: grpc.ServerDuplexStream<Bytes, Bytes>): Promise<string> {
  return new Promise((resolve) => {
    call.on("error", (e: Error) => resolve(`error: ${e.message}`));
    call.on("cancelled", () => resolve("cancelled"));
  });
}

async function firstCall(calls: unknown[]): Promise<void> {
  const deadline = Date.now() + 20_000;
  while (calls.length === 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
  assert.equal(calls.length, 1, "the child never dialed");
}

Deno.test("the server's side of a stream whose client is killed with kill -9 is cancelled", async () => {
  const { server, calls } = await acceptingServer();
  const child = new PeerChild(["dial", SECRET, `127.0.0.1:${server.port}`, "200,1000"]);
  try {
    await firstCall(calls);
    await new Promise((resolve) => calls[0].once("data", resolve));
    const over = serverCallOver(calls[0]);
    child.child.kill("SIGKILL");
    assert.match(await over, /cancelled|UNAVAILABLE/);
  } finally {
    await child.stop();
    await server.close();
  }
});

Deno.test("the server's side of a stream whose client is SIGSTOPped fails; the client survives SIGCONT", async () => {
  const { server, calls } = await acceptingServer();
  const child = new PeerChild(["dial", SECRET, `127.0.0.1:${server.port}`, "200,1000"]);
  try {
    await firstCall(calls);
    await new Promise((resolve) => calls[0].once("data", resolve));
    const over = serverCallOver(calls[0]);
    child.child.kill("SIGSTOP");
    assert.match(await over, /error: .*UNAVAILABLE: nothing from the client for \d+ ms/);
    child.child.kill("SIGCONT");
    // The resumed child learns its stream is gone and carries on.
    await child.waitFor("peer.stream_ended");
  } finally {
    assertNoCrash(child, await child.stop());
    await server.close();
  }
});
