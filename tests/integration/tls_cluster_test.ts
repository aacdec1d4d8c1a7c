// A TLS cluster of real processes: gRPC between coordinator, two workers and a gateway over TLS
// (certificates this test generates), the gateway serving https and wss, and the bots playing
// through it with no error.
import assert from "node:assert/strict";
import type { BotReport } from "../../src/client/bot_report.ts";
import {
  coordinatorArgs,
  NodeProcess,
  until,
  workerArgs,
  writeTestConfig,
} from "../../testing/node_process.ts";
import { makeTestCertificates } from "../../testing/tls.ts";

const ROOT = new URL("../../", import.meta.url).pathname;

Deno.test({
  name: "a TLS cluster (coordinator, 2 workers, gateway with wss) runs the bots with 0 errors",
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    const certs = await makeTestCertificates();
    const tls = { cert: certs.cert, key: certs.key, ca: certs.ca };
    const config = writeTestConfig({ tls });
    const nodes: NodeProcess[] = [];
    const client = Deno.createHttpClient({ caCerts: [Deno.readTextFileSync(certs.ca)] });
    try {
      const coordinator = new NodeProcess("coordinator", coordinatorArgs(config));
      nodes.push(coordinator);
      const listening = await coordinator.waitFor("coordinator.listening");
      const grpcPort = Number(listening.grpcPort);
      for (const id of ["w1", "w2"]) {
        nodes.push(new NodeProcess(id, workerArgs(config, grpcPort, "--node-id", id)));
      }
      const api = `https://127.0.0.1:${listening.httpPort}`;
      // The gRPC port speaks TLS only: a cleartext HTTP/2 call does not get through.
      const cleartext = Deno.createHttpClient({ http1: false, http2: true });
      await assert.rejects(
        fetch(`http://127.0.0.1:${grpcPort}/zonescaler.Coordinator/Register`, {
          method: "POST",
          client: cleartext,
        }),
        TypeError,
      );
      cleartext.close();
      await until("two active workers over TLS gRPC", async () => {
        const state = await (await fetch(`${api}/api/state`, { client })).json();
        const active = state.workers.filter((w: { state: string; entities: number }) =>
          w.state === "active" && w.entities > 0
        );
        return active.length === 2 ? true : undefined;
      }, 60_000);
      const gateway = new NodeProcess("gateway", [
        "--role=gateway",
        "--config",
        config,
        "--coordinator",
        `127.0.0.1:${grpcPort}`,
        "--port",
        "0",
        "--storage",
        ":memory:",
      ]);
      nodes.push(gateway);
      const ready = await gateway.waitFor("gateway.listening");
      const base = `https://${ready.httpAddress}`;
      // Without the CA the gateway is not trusted; with it, the list says wss://.
      await assert.rejects(fetch(`${base}/gateways`), TypeError);
      const listed = await (await fetch(`${base}/gateways`, { client })).json();
      assert.deepEqual(listed.gateways.map((g: { url: string }) => g.url), [
        `wss://${ready.httpAddress}/ws`,
      ]);
      const reportPath = `${certs.dir}/report.json`;
      const bots = await new Deno.Command(Deno.execPath(), {
        args: [
          "run",
          "-A",
          `${ROOT}main.ts`,
          "--role=bots",
          "--gateway",
          base,
          "--clients",
          "20",
          "--duration",
          "5",
          "--ramp",
          "1",
          "--report",
          reportPath,
        ],
        cwd: ROOT,
        stdin: "null",
        env: { DENO_CERT: certs.ca },
        signal: AbortSignal.timeout(90_000),
      }).output();
      const context = new TextDecoder().decode(bots.stderr);
      const report: BotReport = JSON.parse(Deno.readTextFileSync(reportPath));
      assert.equal(report.connected, 20, context);
      assert.equal(report.errors.total, 0, JSON.stringify(report.errors));
      assert.ok(report.snapshots > 0, "DIFFs arrived over wss");
    } finally {
      client.close();
      await Promise.all(nodes.map((p) => p.kill()));
      Deno.removeSync(config);
      await certs.close();
    }
  },
});
