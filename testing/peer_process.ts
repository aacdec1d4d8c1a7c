// A small process speaking the real Peer service, for tests that kill -9 or SIGSTOP the far
// side of a stream: `serve` echoes every Sync batch back; `dial <host:port>` opens a Sync
// stream to a server and sends one batch every 50 ms. Prints JSON lines: peer.listening,
// peer.dialed, peer.stream_ended. Args: mode, secret, [address], [keepalive "interval,timeout"].
import { parseKeepalive } from "../src/net/stream_liveness.ts";
import { grpc, requireSecret, rpcClient, startRpcServer } from "../src/net/rpc.ts";

const [mode, secret, address, keepaliveArg] = Deno.args;
const say = (event: string, fields: Record<string, unknown> = {}) =>
  console.log(JSON.stringify({ event, ...fields }));

if (mode === "serve") {
  const rpc = await startRpcServer("127.0.0.1", 0, {
    Peer: requireSecret(secret, {
      Sync(call: grpc.ServerDuplexStream<{ payload: Uint8Array }, { payload: Uint8Array }>) {
        call.on("data", (message: { payload: Uint8Array }) => call.write(message));
        call.on("end", () => call.end());
        call.on("error", () => {});
      },
    }),
  });
  say("peer.listening", { grpcPort: rpc.port });
} else if (mode === "dial") {
  const client = rpcClient("Peer", address, secret, {
    keepalive: parseKeepalive(keepaliveArg ?? null) ?? undefined,
  });
  const metadata = new grpc.Metadata();
  metadata.set("zs-node", "child");
  const call = (client as unknown as {
    Sync(m: grpc.Metadata): grpc.ClientDuplexStream<{ payload: Uint8Array }, unknown>;
  }).Sync(metadata);
  call.on("error", (error: Error) => say("peer.stream_error", { message: error.message }));
  call.on("close", () => say("peer.stream_ended"));
  let n = 0;
  const timer = setInterval(() => call.write({ payload: new Uint8Array([n++ & 0xff]) }), 50);
  call.on("close", () => clearInterval(timer));
  // The process lives on after its stream ends, until the test stops it: a test checks that it
  // dies of its signal, not of an empty event loop.
  setInterval(() => {}, 60_000);
  say("peer.dialed");
} else {
  console.error(`usage: peer_process.ts serve|dial <secret> [address] [interval,timeout]`);
  Deno.exit(2);
}
