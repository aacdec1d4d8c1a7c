// Entry point of a worker thread started by role "all": runs one worker until told to close.
/// <reference lib="deno.worker" />
import { Logger } from "../src/observe/log.ts";
import type { ThreadMessage } from "./all.ts";
import { startWorker, type WorkerHandle } from "./worker.ts";

let handle: WorkerHandle | undefined;

self.onmessage = async (event: MessageEvent<ThreadMessage>) => {
  const message = event.data;
  if (message.type === "start") {
    const log = new Logger({
      role: "worker",
      node: message.config.nodeId,
      level: message.config.logLevel,
    });
    try {
      // An injected kill: the main thread terminates this thread at once, closing nothing.
      const kill = () => self.postMessage({ type: "killed", id: message.config.nodeId });
      handle = await startWorker(message.config, log, { kill });
      const started = handle;
      // Drained through the coordinator's API: this worker has left; the main thread ends us.
      started.drained.then(async () => {
        await started.close({ exiting: true });
        self.postMessage({ type: "drained", id: started.id });
      });
      self.postMessage({
        type: "ready",
        id: handle.id,
        grpcPort: handle.grpcPort,
        httpPort: handle.httpPort,
      });
    } catch (error) {
      self.postMessage({ type: "failed", message: (error as Error).message });
    }
  } else if (message.type === "close") {
    await handle?.close({ exiting: true });
    self.postMessage({ type: "closed" });
  }
};
