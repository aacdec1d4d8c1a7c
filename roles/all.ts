// Role "all": the coordinator on the main thread and each worker on its own thread (a Deno
// Worker) talking gRPC over loopback — the same code path as a cluster, in one process.
import type { Config } from "../src/config/config.ts";
import type { Logger } from "../src/observe/log.ts";
import type { CloseOptions } from "../src/net/rpc.ts";
import { type CoordinatorHandle, type ExtraRoutes, startCoordinator } from "./coordinator.ts";
import { type GatewayHandle, startGateway } from "./gateway.ts";

/** Messages between the main thread and a worker thread. */
export type ThreadMessage =
  | { type: "start"; config: Config }
  | { type: "ready"; id: string; grpcPort: number; httpPort: number }
  | { type: "failed"; message: string }
  | { type: "drained"; id: string }
  | { type: "killed"; id: string }
  | { type: "close" }
  | { type: "closed" };

/** The running all-in-one process. */
export interface AllHandle {
  coordinator: CoordinatorHandle;
  close(options?: CloseOptions): Promise<void>;
}

const THREAD_URL = new URL("./worker_thread.ts", import.meta.url);

function waitFor(
  thread: Worker,
  type: ThreadMessage["type"],
  timeoutMs: number,
): Promise<ThreadMessage> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      thread.removeEventListener("message", onMessage);
      reject(new Error(`worker thread did not answer "${type}" within ${timeoutMs} ms`));
    }, timeoutMs);
    const onMessage = (event: MessageEvent<ThreadMessage>) => {
      if (event.data.type !== type && event.data.type !== "failed") return;
      clearTimeout(timer);
      thread.removeEventListener("message", onMessage);
      if (event.data.type === "failed") reject(new Error(event.data.message));
      else resolve(event.data);
    };
    thread.addEventListener("message", onMessage);
  });
}

/** Starts the coordinator and `config.workers` worker threads. */
export async function startAll(config: Config, log: Logger): Promise<AllHandle> {
  const extraRoutes: ExtraRoutes = { pending: true }; // /readyz: 503 until the gateway is up
  const coordinator = await startCoordinator(
    // Its workers are threads of this process: none outlives it to re-attach to a stored map.
    { ...config, coordinatorState: ":memory:" },
    log.child("coordinator", "coordinator"),
    extraRoutes,
  );
  let gateway: GatewayHandle | undefined;
  const threads: Worker[] = [];
  try {
    for (let i = 0; i < config.workers; i++) {
      const thread = new Worker(THREAD_URL, { type: "module", name: `worker-${i + 1}` });
      threads.push(thread);
      const workerConfig: Config = {
        ...config,
        role: "worker",
        nodeId: `w${i + 1}`,
        port: 0,
        grpcPort: 0,
        coordinator: `127.0.0.1:${coordinator.grpcPort}`,
      };
      thread.addEventListener("message", (event: MessageEvent<ThreadMessage>) => {
        // Drained: it has left. Killed (fault injection): it dies at once, as kill -9 would.
        if (event.data.type !== "drained" && event.data.type !== "killed") return;
        log.info(`thread.${event.data.type}`, { worker: event.data.id });
        threads.splice(threads.indexOf(thread), 1);
        thread.terminate();
      });
      const ready = waitFor(thread, "ready", 30_000);
      thread.postMessage({ type: "start", config: workerConfig } satisfies ThreadMessage);
      await ready;
    }
    // The gateway serves its routes (/login, /gateways, /ws, /play) on the coordinator's port.
    gateway = await startGateway(
      {
        ...config,
        role: "gateway",
        nodeId: "g1",
        coordinator: `127.0.0.1:${coordinator.grpcPort}`,
      },
      log,
      { sharedHttpAddress: `${config.advertiseHost}:${coordinator.httpPort}` },
    );
    extraRoutes.current = gateway.routes;
    extraRoutes.pending = false;
  } catch (error) {
    for (const thread of threads) thread.terminate();
    await gateway?.close({ exiting: true });
    await coordinator.close();
    throw error;
  }
  log.info("all.ready", { workers: config.workers, port: coordinator.httpPort });
  return {
    coordinator,
    async close(options: CloseOptions = {}) {
      extraRoutes.current = undefined;
      await gateway?.close({ exiting: true });
      // Threads are terminated right after closing, so their sockets just go (see CloseOptions).
      await Promise.all(threads.map(async (thread) => {
        const closed = waitFor(thread, "closed", 5_000).catch((error) =>
          log.warn("thread.close_timeout", { error })
        );
        thread.postMessage({ type: "close" } satisfies ThreadMessage);
        await closed;
        thread.terminate();
      }));
      await coordinator.close(options);
    },
  };
}
