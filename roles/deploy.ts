// `npm run deploy -- ...`: drives the coordinator's deploy API (docs/api.md) from a terminal:
// sends the action, prints the state, and with --wait follows the deploy until it ends.
import {
  DEPLOY_USAGE,
  type DeployDocument,
  formatDeployState,
  parseDeployArgs,
} from "../src/cluster/deploy_cli.ts";
import { ConfigError } from "../src/errors.ts";

/** Exit status: 0 done, 1 refused or ended otherwise, 2 bad command line. */
export async function runDeploy(args: string[]): Promise<number> {
  let command;
  try {
    command = parseDeployArgs(args, Deno.env.toObject());
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    console.error(error.message);
    return 2;
  }
  if (command.help) {
    console.log(DEPLOY_USAGE);
    return 0;
  }
  const response = await fetch(command.request(), { signal: AbortSignal.timeout(10_000) });
  const body = await response.json();
  if (!response.ok) {
    console.error(`${body.error?.code ?? response.status}: ${body.error?.message ?? ""}`);
    return 1;
  }
  const status = () =>
    parseDeployArgs(["status", "--coordinator", command.coordinator.href], {
      ZS_OPERATOR_TOKEN: command.token,
    }).request();
  const read = async () => (await (await fetch(status())).json()) as DeployDocument;
  if (command.action === "status") {
    console.log(formatDeployState(body));
    return 0;
  }
  console.log(`${command.action}: run ${body.id} of ${body.version} is ${body.state}`);
  if (!command.wait || !["start", "rollback", "resume"].includes(command.action)) return 0;
  const deadline = Date.now() + command.timeoutMs;
  let last = "";
  while (Date.now() < deadline) {
    const state = await read();
    const line = formatDeployState(state);
    if (line !== last) console.log(line);
    last = line;
    if (!state.current) {
      const runs = (state as unknown as { runs: Array<{ id: number; state: string }> }).runs;
      const ended = runs.find((r) => r.id === body.id)?.state;
      console.log(`run ${body.id} ended: ${ended}`);
      return ended === "done" || ended === "rolled_back" ? 0 : 1;
    }
    await new Promise((resolve) => setTimeout(resolve, 500));
  }
  console.error(`run ${body.id} did not end within ${command.timeoutMs} ms`);
  return 1;
}

if (import.meta.main) Deno.exit(await runDeploy(Deno.args));
