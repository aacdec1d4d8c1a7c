// Starting a node from code: a config object (the JSON file's shape) in, a running role out,
// with the same validation and game loading as the command line, and one close().
import { type Config, parseConfig } from "../config/config.ts";
import { loadGame } from "../games/game_module.ts";
import { Logger, type LoggerOptions } from "../observe/log.ts";
import { startAll } from "../../roles/all.ts";
import { startCoordinator } from "../../roles/coordinator.ts";
import { startGateway } from "../../roles/gateway.ts";
import { startWorker } from "../../roles/worker.ts";

/** A running node started by {@linkcode startNode}. */
export interface NodeHandle {
  /** The validated configuration it runs with. */
  readonly config: Config;
  /** Its HTTP port (role all and gateway: where clients log in and connect). */
  readonly httpPort: number;
  /** Its gRPC port (0 in role all, where only the internal coordinator listens). */
  readonly grpcPort: number;
  /** Stops every server, stream and thread the node started. */
  close(): Promise<void>;
}

/** Options of {@linkcode startNode}. */
export interface StartNodeOptions {
  /** Where log lines go (default: JSON lines on stdout at the config's logLevel). */
  sink?: LoggerOptions["sink"];
}

/**
 * Starts a node (`role` "all" by default: coordinator, workers and gateway in one process)
 * from a config object shaped like the JSON config file. A bad value rejects with a
 * `ConfigError` naming the field, as the command line would exit 2.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * const node = await startNode(
 *   { port: 0, workers: 1, minWorkers: 1, logLevel: "error", storage: ":memory:", game: { options: { npcs: 5 } } },
 * );
 * try {
 *   const response = await fetch(`http://127.0.0.1:${node.httpPort}/gateways`);
 *   assert.equal(response.status, 200);
 *   await response.body?.cancel();
 * } finally {
 *   await node.close();
 * }
 * ```
 */
export async function startNode(
  raw: Record<string, unknown>,
  options: StartNodeOptions = {},
): Promise<NodeHandle> {
  const config = parseConfig(raw);
  // One process, no other nodes: a random secret still guards the loopback gRPC ports.
  if (config.role === "all" && config.secret === "") config.secret = crypto.randomUUID();
  if (config.role !== "gateway") await loadGame(config);
  const log = new Logger({
    role: config.role,
    node: config.nodeId,
    level: config.logLevel,
    ...(options.sink ? { sink: options.sink } : {}),
  });
  switch (config.role) {
    case "all": {
      const all = await startAll(config, log);
      const { httpPort } = all.coordinator;
      return { config, httpPort, grpcPort: 0, close: () => all.close() };
    }
    case "coordinator": {
      const node = await startCoordinator(config, log.child("coordinator", config.nodeId));
      return {
        config,
        httpPort: node.httpPort,
        grpcPort: node.grpcPort,
        close: () => node.close(),
      };
    }
    case "worker": {
      const node = await startWorker(config, log);
      return {
        config,
        httpPort: node.httpPort,
        grpcPort: node.grpcPort,
        close: () => node.close(),
      };
    }
    case "gateway": {
      const node = await startGateway(config, log);
      return { config, httpPort: node.httpPort, grpcPort: 0, close: () => node.close() };
    }
  }
}
