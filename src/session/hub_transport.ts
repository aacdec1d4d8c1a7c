// The session hub's seam to the gateway around it (HubTransport), and what a gateway implements
// it with: its Sessions streams to the workers, commands to a worker batched until the end of
// the current task, reports decoded for the hub.
import type { RelayedChat } from "./chat_relay.ts";
import { encodeCommands, reportFrom, SESSION_WIRE_VERSION } from "./session_wire.ts";
import type { GatewayCommand, WorkerReport } from "./session_messages.ts";
import { ErrorCode } from "../errors.ts";
import type { Logger } from "../observe/log.ts";
import { PeerLinks } from "../sync/peer_links.ts";

/** What the hub needs from the gateway around it. */
export interface HubTransport {
  readonly gatewayId: string;
  /** Owner of the cell at a point under the current map ("" before the world is split). */
  ownerAt(x: number, y: number, z: number): string;
  /** Every worker that may own players (resume is asked of all of them). */
  workers(): string[];
  send(worker: string, command: GatewayCommand): void;
  relay(chat: RelayedChat): void;
}

/**
 * Collects commands per worker and hands each worker's list to `flush` once, at the end of
 * the current task, so a burst of inputs is one message per worker.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * const sent: Array<[string, number]> = [];
 * const outbox = new CommandOutbox((worker, commands) => sent.push([worker, commands.length]));
 * outbox.send("w1", { op: "detach", entity: 1, session: "a", conn: "j1" });
 * outbox.send("w1", { op: "detach", entity: 2, session: "b", conn: "j2" });
 * await new Promise((resolve) => setTimeout(resolve, 0));
 * assert.deepEqual(sent, [["w1", 2]]);
 * ```
 */
export class CommandOutbox {
  #outbox = new Map<string, GatewayCommand[]>();
  #scheduled = false;
  #flush: (worker: string, commands: GatewayCommand[]) => void;

  constructor(flush: (worker: string, commands: GatewayCommand[]) => void) {
    this.#flush = flush;
  }

  /** Queues `command` for `worker`; the batch leaves at the end of this task. */
  send(worker: string, command: GatewayCommand): void {
    const list = this.#outbox.get(worker);
    if (list) list.push(command);
    else this.#outbox.set(worker, [command]);
    if (this.#scheduled) return;
    this.#scheduled = true;
    setTimeout(() => this.flush(), 0);
  }

  /** Hands every queued batch over now. */
  flush(): void {
    this.#scheduled = false;
    const batches = [...this.#outbox];
    this.#outbox.clear();
    for (const [worker, commands] of batches) this.#flush(worker, commands);
  }
}

/**
 * A gateway's Sessions streams to the workers (one each, opened by `links.update` with the
 * live workers): `outbox` batches commands per worker onto them, and each report that comes
 * back is decoded for `onReport` — one that does not decode is counted (BAD_BATCH) and
 * logged, never applied.
 */
export function sessionStreams(options: {
  self: string;
  secret: string;
  log: Logger;
  countError(code: ErrorCode): void;
  onReport(report: WorkerReport): void;
}): { links: PeerLinks; outbox: CommandOutbox } {
  const { self, secret, log } = options;
  const links = new PeerLinks({
    self,
    secret,
    log,
    link: { service: "Sessions", method: "Attach" },
    dials: () => true,
    version: SESSION_WIRE_VERSION,
    onPayload(payload, worker) {
      try {
        options.onReport(reportFrom(payload, worker));
      } catch (error) {
        options.countError(ErrorCode.BAD_BATCH);
        log.error("report.rejected", { worker, error });
      }
    },
  });
  const outbox = new CommandOutbox((to, commands) =>
    // Inputs may be dropped when the link backs up; joins, resumes, detaches and departs not.
    links.send(to, encodeCommands(self, commands), commands.some((c) => c.op !== "input"))
  );
  return { links, outbox };
}
