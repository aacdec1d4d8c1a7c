// ZoneScaler entry point: parse flags and config, start the chosen role(s), stop cleanly on
// SIGTERM/SIGINT (exit 0). A bad config or a damaged coordinator state file exits with status 2
// and one line naming the field or the file.
import { type Config, loadConfig, parseFlags, USAGE } from "./src/config/config.ts";
import { ConfigError } from "./src/errors.ts";
import { StateFileError } from "./src/cluster/durable_state_reader.ts";
import { NotCoordinatorError } from "./src/cluster/standby.ts";
import { Logger } from "./src/observe/log.ts";
import type { CloseOptions } from "./src/net/rpc.ts";
import { VERSION } from "./src/version.ts";
import { startAll } from "./roles/all.ts";
import { startCoordinator } from "./roles/coordinator.ts";
import { startGateway } from "./roles/gateway.ts";
import { startWorker } from "./roles/worker.ts";
import { runBots } from "./roles/bots.ts";
import { wantsBots } from "./src/client/bot_options.ts";
import { generateOperatorToken } from "./src/net/operator_auth.ts";
import { checkPortsFree, diagnosticsUrlLine, startFailure } from "./src/net/start_failure.ts";
import { loadGame } from "./src/games/game_module.ts";

interface Closable {
  close(options?: CloseOptions): Promise<void>;
  /** Workers: move every cell away before stopping; resolves false when that failed. */
  drain?(): Promise<boolean>;
  drained?: Promise<void>;
}

async function configure(args: string[]): Promise<Config | undefined> {
  const flags = parseFlags(args);
  if (flags.help) {
    console.log(USAGE);
    return undefined;
  }
  if (flags.version) {
    console.log(`zonescaler ${VERSION}`);
    return undefined;
  }
  const config = loadConfig(flags.configPath, flags.overrides, Deno.env.toObject());
  if (config.role === "all" && config.secret === "") {
    // One process, no other nodes: a random secret still guards the loopback gRPC ports.
    config.secret = crypto.randomUUID();
  }
  // A bad --game (no such file, no defineGame export, bad options) stops here with exit 2.
  if (config.role !== "gateway") await loadGame(config);
  return config;
}

async function start(config: Config, log: Logger): Promise<Closable> {
  switch (config.role) {
    case "coordinator":
      return await startCoordinator(
        config,
        log.child("coordinator", config.nodeId || "coordinator"),
      );
    case "worker":
      return await startWorker(config, log);
    case "gateway":
      return await startGateway(config, log);
    case "all":
      return await startAll(config, log);
  }
}

async function main(args: string[]): Promise<number> {
  // The bots are a client, not a node: they take their own flags, not the config's.
  if (wantsBots(args)) return await runBots(args);
  let config: Config | undefined;
  try {
    config = await configure(args);
  } catch (error) {
    if (error instanceof ConfigError) {
      console.error(error.message);
      return 2;
    }
    throw error;
  }
  if (!config) return 0;
  const log = new Logger({ role: config.role, node: config.nodeId, level: config.logLevel });
  // Role all is the quick start: without a token it makes one and prints the page's URL.
  const generatedToken = config.role === "all" && config.operatorToken === "";
  if (generatedToken) config.operatorToken = generateOperatorToken();
  let handle: Closable;
  try {
    checkPortsFree(config);
    handle = await start(config, log);
  } catch (error) {
    log.error("start.failed", { error });
    console.error(startFailure(config, error));
    // A damaged state file or a standby pointed at something else is a bad input like a bad
    // config: fix it, do not retry.
    return error instanceof StateFileError || error instanceof NotCoordinatorError ? 2 : 1;
  }
  if (config.role === "all") {
    const port = (handle as { coordinator?: { httpPort: number } }).coordinator?.httpPort;
    console.error(diagnosticsUrlLine(config, port ?? config.port, generatedToken));
  }
  const stopped = Promise.withResolvers<void>();
  let stopping = false;
  const stop = (signal: string) => {
    if (stopping) return;
    stopping = true;
    log.info("shutdown", { signal });
    // A worker stopped by a signal first hands its cells to the others (graceful drain).
    const drained = signal !== "drained" && handle.drain ? handle.drain() : Promise.resolve(true);
    const force = setTimeout(() => {
      log.error("shutdown.timeout", { note: "forcing exit" });
      Deno.exit(1);
    }, config.drainTimeoutMs + 10_000);
    drained.then(() => handle.close({ exiting: true })).then(
      () => (clearTimeout(force), stopped.resolve()),
      (error) => {
        log.error("shutdown.failed", { error });
        Deno.exit(1);
      },
    );
  };
  // Drained through the coordinator's API: the worker has left the cluster, so stop.
  handle.drained?.then(() => stop("drained"));
  Deno.addSignalListener("SIGTERM", () => stop("SIGTERM"));
  Deno.addSignalListener("SIGINT", () => stop("SIGINT"));
  await stopped.promise;
  return 0;
}

if (import.meta.main) {
  Deno.exit(await main(Deno.args));
}
