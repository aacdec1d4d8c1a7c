// A session gateway (`--role=gateway`) as its own OS process next to a benchmark cluster, so
// its CPU and memory can be measured apart from the coordinator's and the workers'.
import type { BenchCluster } from "./cluster.ts";
import { NodeProcess } from "../testing/node_process.ts";
import type { Closable, ScenarioContext } from "./scenario.ts";

/** A running gateway process; closing it kills the process and removes its config file. */
export class GatewayNode implements Closable {
  readonly process: NodeProcess;
  /** HTTP base URL: check-in, login, and `/ws`. */
  readonly url: string;
  #configPath: string;

  private constructor(process: NodeProcess, url: string, configPath: string) {
    this.process = process;
    this.url = url;
    this.#configPath = configPath;
  }

  /**
   * Starts a gateway with `config` (the cluster's, accounts in memory) attached to `cluster`'s
   * coordinator; resolves once it listens and the coordinator lists it.
   */
  static async start(
    context: ScenarioContext,
    cluster: BenchCluster,
    config: Record<string, unknown>,
    options: { inspect?: boolean } = {},
  ): Promise<GatewayNode> {
    const coordinator = await cluster.coordinator.waitFor("coordinator.listening", 30_000);
    const configPath = Deno.makeTempFileSync({ prefix: "zs-bench-gw-", suffix: ".json" });
    Deno.writeTextFileSync(configPath, JSON.stringify({ ...config, storage: ":memory:" }));
    const process = new NodeProcess(
      "gateway",
      [
        "--role=gateway",
        "--config",
        configPath,
        "--coordinator",
        `127.0.0.1:${coordinator.grpcPort}`,
        "--port",
        "0",
        "--node-id",
        "g1",
      ],
      {},
      { inspect: options.inspect },
    );
    const listening = await process.waitFor("gateway.listening", 30_000).catch(async (error) => {
      await process.kill();
      Deno.removeSync(configPath);
      throw error;
    });
    const gateway = context.own(
      new GatewayNode(process, `http://127.0.0.1:${listening.httpPort}`, configPath),
    );
    // Clients check in with GET /gateways first: wait until the coordinator lists this one.
    const deadline = Date.now() + 30_000;
    for (;;) {
      context.checkAborted();
      const body = await fetch(`${gateway.url}/gateways`, { signal: AbortSignal.timeout(5_000) })
        .then((r) => r.json() as Promise<{ gateways?: unknown[] }>)
        .catch(() => ({ gateways: [] }));
      if ((body.gateways?.length ?? 0) > 0) break;
      if (Date.now() > deadline) throw new Error("The coordinator never listed the gateway");
      await context.sleep(200);
    }
    return gateway;
  }

  /** The process id (for /proc sampling). */
  get pid(): number {
    return this.process.child.pid;
  }

  async close(): Promise<void> {
    await this.process.kill();
    try {
      Deno.removeSync(this.#configPath);
    } catch {
      // already gone
    }
  }
}
