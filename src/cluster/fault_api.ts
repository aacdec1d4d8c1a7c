// The coordinator's fault injection route, `POST /api/workers/{id}/faults` (operator token): it
// checks the request and the workers it names, records a `fault.injected` event and forwards the
// fault to that worker's own `POST /api/faults`, which carries it out (src/sim/worker_faults.ts).
// The failover that follows a kill or a long pause is the registry's ordinary work.
import { CodedError, ErrorCode } from "../errors.ts";
import { methodNotAllowed } from "../net/http.ts";
import type { Logger } from "../observe/log.ts";
import { readFault } from "../sim/worker_faults.ts";
import type { Registry } from "./registry.ts";

/** Path of the route; group 1 is the worker id. */
export const FAULTS_PATH = /^\/api\/workers\/([^/]+)\/faults$/;
/** How long the worker has to answer a forwarded fault. */
export const FAULT_FORWARD_TIMEOUT_MS = 3_000;

/** Options of {@linkcode faultRoute}. */
export interface FaultRouteOptions {
  registry: Registry;
  log: Logger;
  /** Sent to the worker, whose fault route always needs it. */
  operatorToken: string;
  fetch?: typeof fetch;
}

/** Handles `POST /api/workers/{id}/faults`: the worker's answer, or an error of ours. */
export async function handleFault(
  request: Request,
  workerId: string,
  options: FaultRouteOptions,
): Promise<Response> {
  if (request.method !== "POST") {
    return methodNotAllowed(request.method, "/api/workers/{id}/faults", ["POST"]);
  }
  const { registry, log } = options;
  const fault = await readFault(request);
  const worker = registry.workers.get(workerId);
  if (!worker) throw new CodedError(ErrorCode.NOT_FOUND, `No such worker: ${workerId}`);
  // A paused worker is soon declared down: resume and heal must still reach it.
  const undoing = fault.action === "resume" || fault.action === "heal";
  if (!undoing && (worker.state === "down" || worker.state === "fenced")) {
    throw new CodedError(
      ErrorCode.CONFLICT,
      `Cannot ${fault.action} ${workerId}: it is ${worker.state}`,
    );
  }
  if ("peer" in fault && !registry.workers.has(fault.peer)) {
    throw new CodedError(ErrorCode.NOT_FOUND, `No such worker: ${fault.peer}`);
  }
  if (!worker.httpAddress) {
    throw new CodedError(ErrorCode.UNAVAILABLE, `Cannot reach ${workerId}: it has no HTTP address`);
  }
  let response: Response;
  try {
    response = await (options.fetch ?? fetch)(`http://${worker.httpAddress}/api/faults`, {
      method: "POST",
      headers: {
        "content-type": "application/json",
        authorization: `Bearer ${options.operatorToken}`,
      },
      body: JSON.stringify(fault),
      signal: AbortSignal.timeout(FAULT_FORWARD_TIMEOUT_MS),
    });
  } catch (error) {
    throw new CodedError(
      ErrorCode.UNAVAILABLE,
      `Cannot reach ${workerId} at ${worker.httpAddress}: ${(error as Error).message}`,
      { cause: error },
    );
  }
  if (response.ok) {
    registry.event("fault.injected", { worker: workerId, ...fault });
    log.warn("api.fault", { worker: workerId, ...fault });
  }
  return response;
}
