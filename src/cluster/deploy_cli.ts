// The deploy command line (`npm run deploy -- ...`): its flags, the request each action sends to
// the coordinator's deploy API (docs/api.md), and the one-screen summary of the deploy state.
import { ConfigError } from "../errors.ts";

/** Usage text of `npm run deploy`. */
export const DEPLOY_USAGE = `Usage: npm run deploy -- <action> [version] [flags]

Actions:
  status               versions, their nodes, cells and sessions, and the deploy in progress
  start <version>      move the world and new logins to <version> (its nodes must be registered)
  pause | resume       hold the deploy in progress where it is, or continue it
  abort                end it where it is (cells stay where they are)
  rollback             move every cell it moved back to the version it started from

Flags:
  --coordinator URL    the coordinator's HTTP (or admin) address (default http://127.0.0.1:8080)
  --token TOKEN        the operator token (default: ZS_OPERATOR_TOKEN)
  --wait               after start or rollback, follow the deploy until it ends (exit 1 unless
                       it ended done or rolled_back)
  --timeout-ms N       give up waiting after N ms (default 600000)`;

/** What the command line asks for. */
export interface DeployCommand {
  action: "status" | "start" | "pause" | "resume" | "abort" | "rollback";
  version?: string;
  coordinator: URL;
  token: string;
  wait: boolean;
  timeoutMs: number;
  help: boolean;
}

const ACTIONS = ["status", "start", "pause", "resume", "abort", "rollback"] as const;

/**
 * Parses the command line; a bad one is a ConfigError naming the flag.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * const c = parseDeployArgs(["start", "0.2.0", "--wait"], {});
 * assert.equal(c.version, "0.2.0");
 * assert.equal(c.request().method, "POST");
 * assert.throws(() => parseDeployArgs(["launch"], {}), /action/);
 * ```
 */
export function parseDeployArgs(
  args: readonly string[],
  env: Readonly<Record<string, string>>,
): DeployCommand & { request(): Request } {
  const positional: string[] = [];
  let coordinator = "http://127.0.0.1:8080", token = env.ZS_OPERATOR_TOKEN ?? "";
  let wait = false, timeoutMs = 600_000, help = false;
  for (let i = 0; i < args.length; i++) {
    const arg = args[i];
    const value = () => {
      const next = args[++i];
      if (next === undefined) throw new ConfigError(arg, "expected a value");
      return next;
    };
    if (arg === "--help" || arg === "-h") help = true;
    else if (arg === "--wait") wait = true;
    else if (arg === "--coordinator") coordinator = value();
    else if (arg === "--token") token = value();
    else if (arg === "--timeout-ms") {
      timeoutMs = Number(value());
      if (!Number.isSafeInteger(timeoutMs) || timeoutMs < 1) {
        throw new ConfigError("--timeout-ms", `expected a positive integer, got ${args[i]}`);
      }
    } else if (arg.startsWith("-")) throw new ConfigError(arg, "unknown flag (see --help)");
    else positional.push(arg);
  }
  const [action = "status", version, extra] = positional;
  if (!help && !(ACTIONS as readonly string[]).includes(action)) {
    throw new ConfigError("action", `expected one of ${ACTIONS.join(", ")}, got ${action}`);
  }
  if (!help && action === "start" && !version) {
    throw new ConfigError("version", "start needs the version to deploy");
  }
  if (!help && (extra !== undefined || (action !== "start" && version !== undefined))) {
    throw new ConfigError("action", `unexpected argument ${extra ?? version}`);
  }
  let base: URL;
  try {
    base = new URL(coordinator);
  } catch {
    throw new ConfigError("--coordinator", `expected an http(s) URL, got ${coordinator}`);
  }
  const command: DeployCommand = {
    action: action as DeployCommand["action"],
    version,
    coordinator: base,
    token,
    wait,
    timeoutMs,
    help,
  };
  return {
    ...command,
    request: () => {
      const headers: Record<string, string> = token ? { authorization: `Bearer ${token}` } : {};
      if (command.action === "status") {
        return new Request(new URL("/api/deploys", base), { headers });
      }
      const path = command.action === "start"
        ? "/api/deploys"
        : `/api/deploys/current/${command.action}`;
      return new Request(new URL(path, base), {
        method: "POST",
        headers: { ...headers, "content-type": "application/json" },
        body: command.action === "start" ? JSON.stringify({ version }) : "{}",
      });
    },
  };
}

/** The deploy state as GET /api/deploys returns it (the fields the summary shows). */
export interface DeployDocument {
  live: string;
  cells: number;
  current: { version: string; from: string; state: string; moves: number } | null;
  versions: Array<
    {
      version: string;
      state: string;
      workers: number;
      gateways: number;
      cells: number;
      sessions: number;
    }
  >;
}

/** A few lines for a terminal: the deploy in progress and one row per version. */
export function formatDeployState(state: DeployDocument): string {
  const run = state.current;
  const head = run
    ? `deploy of ${run.version} (from ${run.from || "-"}): ${run.state}, ${run.moves} cell moves`
    : `no deploy in progress; live version ${state.live || "-"}`;
  const rows = state.versions.map((v) =>
    `  ${v.version.padEnd(12)} ${v.state.padEnd(12)} ${String(v.workers).padStart(3)} workers ` +
    `${String(v.gateways).padStart(3)} gateways ${
      String(v.cells).padStart(5)
    }/${state.cells} cells ` +
    `${String(v.sessions).padStart(6)} sessions`
  );
  return [head, ...rows].join("\n");
}
