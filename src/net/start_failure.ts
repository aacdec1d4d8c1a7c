// What a node prints at start-up outside its JSON log: one line for a failure (a taken port
// names the role, host and port) and, in role all, the diagnostics URL ready to click.
import type { Config } from "../config/schema.ts";

/** A port that could not be bound; carries which role, host and port for the message. */
export class PortInUseError extends Error {
  readonly host: string;
  readonly port: number;
  readonly what: string;

  constructor(what: string, host: string, port: number, options?: ErrorOptions) {
    super(`${what} port ${host}:${port} is already in use`, options);
    this.name = "PortInUseError";
    this.what = what;
    this.host = host;
    this.port = port;
  }
}

/** True for the error Deno.listen / Deno.serve / grpc-js throw for a taken address. */
export function isAddressInUse(error: unknown): boolean {
  return error instanceof Deno.errors.AddrInUse ||
    /EADDRINUSE|address already in use|os error 98/i.test(String((error as Error)?.message));
}

/**
 * The one line printed when a node cannot start. HTTP servers name their port themselves
 * (startHttp); any other taken address is the node's gRPC port.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * const node = { role: "gateway" as const, host: "127.0.0.1", grpcPort: 7070 };
 * const line = startFailure(node, new PortInUseError("HTTP", "127.0.0.1", 8081));
 * assert.equal(line, "zonescaler: cannot start gateway: HTTP port 127.0.0.1:8081 is already in use");
 * ```
 */
export function startFailure(
  node: Pick<Config, "role" | "host" | "grpcPort">,
  error: unknown,
): string {
  let message = error instanceof Error ? error.message : String(error);
  if (!(error instanceof PortInUseError) && isAddressInUse(error)) {
    message = new PortInUseError("gRPC", node.host, node.grpcPort).message;
  }
  return `zonescaler: cannot start ${node.role}: ${message.split("\n")[0]}`;
}

/** The start line of role all: the diagnostics URL, with the token when it was generated. */
export function diagnosticsUrlLine(config: Config, port: number, withToken: boolean): string {
  const host = config.host === "0.0.0.0" || config.host === "::" ? "127.0.0.1" : config.host;
  const shown = host.includes(":") ? `[${host}]` : host;
  const url = `http://${shown}:${port}/`;
  return withToken
    ? `zonescaler: diagnostics at ${url}?token=${config.operatorToken} (operator token generated for this run)`
    : `zonescaler: diagnostics at ${url} (operator token from config)`;
}

/**
 * Throws {@linkcode PortInUseError} for the first fixed port of `config` (HTTP, gRPC, admin)
 * that cannot be bound now, before any server starts: grpc-js would otherwise print its own
 * multi-line complaint first. Port 0 (any free port) is never checked.
 */
export function checkPortsFree(config: Pick<Config, "host" | "port" | "grpcPort" | "adminPort">) {
  const ports: Array<[string, number]> = [
    ["HTTP", config.port],
    ["gRPC", config.grpcPort],
    ["admin", config.adminPort],
  ];
  for (const [what, port] of ports) {
    if (port === 0) continue;
    try {
      Deno.listen({ hostname: config.host, port }).close();
    } catch (error) {
      if (isAddressInUse(error)) {
        throw new PortInUseError(what, config.host, port, { cause: error });
      }
      throw error;
    }
  }
}
