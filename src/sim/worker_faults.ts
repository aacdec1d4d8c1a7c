// Fault injection on a worker (operator only): kill it as `kill -9` would, pause (freeze its
// tick, heartbeats and peer links) and resume it, cut and heal its link to another worker. The
// request body is parsed here for the worker's `POST /api/faults` and for the coordinator's
// `POST /api/workers/{id}/faults`, which forwards it; docs/api.md documents both.
import { CodedError, ErrorCode } from "../errors.ts";
import { json } from "../net/http.ts";
import { readJsonObject } from "../protocol/json_body.ts";

/** The faults a worker can be given. */
export const FAULT_ACTIONS = ["kill", "pause", "resume", "cut", "heal"] as const;
/** One of {@linkcode FAULT_ACTIONS}. */
export type FaultAction = typeof FAULT_ACTIONS[number];

/** A parsed fault request: `peer` for cut and heal. */
export type Fault =
  | { action: "kill" | "pause" | "resume" }
  | { action: "cut" | "heal"; peer: string };

/** Time between answering a kill and dying, so the answer reaches the caller. */
export const KILL_DELAY_MS = 50;

/** Reads `{"action": ..., "peer"?: ...}`; BAD_REQUEST naming what is wrong. */
export async function readFault(request: Request): Promise<Fault> {
  const body = await readJsonObject(request, ["action", "peer"]);
  const action = body.action;
  if (typeof action !== "string" || !(FAULT_ACTIONS as readonly string[]).includes(action)) {
    throw new CodedError(
      ErrorCode.BAD_REQUEST,
      `Cannot inject a fault: "action" must be one of ${FAULT_ACTIONS.join(", ")}, got ${
        JSON.stringify(action)?.slice(0, 40)
      }`,
    );
  }
  if (action === "cut" || action === "heal") {
    if (typeof body.peer !== "string" || body.peer === "") {
      throw new CodedError(
        ErrorCode.BAD_REQUEST,
        `Cannot ${action} a link: "peer" must be the id of another worker`,
      );
    }
    return { action, peer: body.peer };
  }
  if (body.peer !== undefined) {
    throw new CodedError(
      ErrorCode.BAD_REQUEST,
      `Cannot ${action}: "peer" is only for cut and heal`,
    );
  }
  return { action: action as "kill" | "pause" | "resume" };
}

/** What a fault acts on: the running worker, and how its process (or thread) dies. */
export interface FaultTarget {
  id: string;
  pause(): void;
  resume(): void;
  cut(peer: string): void;
  heal(peer: string): void;
  /** Ends the worker at once, without closing anything (a process: SIGKILL to itself). */
  kill(): void;
}

/** Applies a fault and answers 202 with what was done; a kill happens just after the answer. */
export function applyFault(fault: Fault, target: FaultTarget): Response {
  if ((fault.action === "cut" || fault.action === "heal") && fault.peer === target.id) {
    throw new CodedError(ErrorCode.BAD_REQUEST, `Cannot ${fault.action} a link to itself`);
  }
  switch (fault.action) {
    case "kill":
      setTimeout(() => target.kill(), KILL_DELAY_MS);
      break;
    case "pause":
      target.pause();
      break;
    case "resume":
      target.resume();
      break;
    case "cut":
      target.cut(fault.peer);
      break;
    case "heal":
      target.heal(fault.peer);
      break;
  }
  return json({ worker: target.id, ...fault }, 202);
}
