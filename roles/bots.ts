// Role "bots": simulated players against a running gateway. Parses its own flags, prints the
// progress and the report, writes the JSON report, and stops early on SIGINT/SIGTERM.
import { BOTS_USAGE, parseBotArgs } from "../src/client/bot_options.ts";
import { formatReport } from "../src/client/bot_report.ts";
import { runBotSwarm } from "../src/client/bot_swarm.ts";
import { ConfigError } from "../src/errors.ts";

/**
 * Runs `--role=bots` with the whole command line; resolves with the exit status: 0 when every
 * client connected and no error was seen, 1 otherwise, 2 for bad flags.
 */
export async function runBots(args: string[]): Promise<number> {
  let options;
  try {
    options = parseBotArgs(args);
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    console.error(error.message);
    return 2;
  }
  if (options.help) {
    console.log(BOTS_USAGE);
    return 0;
  }
  const stop = new AbortController();
  const onSignal = () => stop.abort();
  Deno.addSignalListener("SIGINT", onSignal);
  Deno.addSignalListener("SIGTERM", onSignal);
  console.log(
    `bots: ${options.clients} clients against ${options.gateway.origin} for ` +
      `${options.durationMs / 1000} s (${options.format}, ${options.rateHz} inputs/s each)`,
  );
  try {
    const report = await runBotSwarm(options, {
      signal: stop.signal,
      onProgress: (line) => console.log(line),
    });
    console.log(formatReport(report));
    if (options.reportPath) {
      await Deno.writeTextFile(options.reportPath, JSON.stringify(report, null, 2) + "\n");
      console.log(`report written to ${options.reportPath}`);
    }
    return report.connected === report.clients && report.errors.total === 0 ? 0 : 1;
  } finally {
    Deno.removeSignalListener("SIGINT", onSignal);
    Deno.removeSignalListener("SIGTERM", onSignal);
  }
}
