// The session hub's seam to the gateway around it (HubTransport), and what a gateway implements
// it with: its Sessions streams to the workers, commands to a worker batched and delivered one
// call at a time, reports decoded for the hub.
import type { RelayedChat } from "./chat_relay.ts";
import { encodeCommands, reportFrom } from "./session_wire.ts";
import type { GatewayCommand, WorkerReport } from "./session_messages.ts";
import { ErrorCode } from "../errors.ts";
import type { Logger } from "../observe/log.ts";
import { PeerLinks } from "../sync/peer_links.ts";
import { status } from "../net/rpc.ts";

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

/** Options of {@linkcode CommandOutbox}. */
export interface CommandOutboxOptions {
  /** Wait after a failed delivery before trying again (default 100 ms). */
  retryMs?: number;
  /** Commands waiting for one worker past which the oldest input is dropped (default 4096). */
  maxQueued?: number;
  /** A delivery failed (logged by the caller). */
  onError?: (worker: string, error: unknown) => void;
}

/**
 * Collects commands per worker and hands each worker's list to `deliver`, with one delivery
 * in flight per worker: commands that arrive meanwhile wait and leave as one batch when it
 * returns, so batches reach a worker in order and a burst of inputs is one message. When a
 * delivery fails, its inputs are dropped (newer ones follow, each carrying the whole intent)
 * and its other commands (joins, resumes, detaches, departs) go first in the next delivery,
 * tried after `retryMs`.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * const sent: Array<[string, number]> = [];
 * const outbox = new CommandOutbox(async (worker, commands) => {
 *   sent.push([worker, commands.length]);
 * });
 * outbox.send("w1", { op: "detach", entity: 1, session: "a", conn: "j1" });
 * outbox.send("w1", { op: "detach", entity: 2, session: "b", conn: "j2" });
 * await new Promise((resolve) => setTimeout(resolve, 0));
 * assert.deepEqual(sent, [["w1", 2]]);
 * outbox.close();
 * ```
 */
export class CommandOutbox {
  #queues = new Map<string, GatewayCommand[]>();
  /** Workers with a delivery in flight. */
  #busy = new Set<string>();
  #scheduled = false;
  #retry: ReturnType<typeof setTimeout> | undefined;
  #closed = false;
  #deliver: (worker: string, commands: GatewayCommand[]) => Promise<void>;
  #options: CommandOutboxOptions;
  /** Inputs dropped: over `maxQueued`, or in a failed delivery. */
  dropped = 0;

  constructor(
    deliver: (worker: string, commands: GatewayCommand[]) => Promise<void>,
    options: CommandOutboxOptions = {},
  ) {
    this.#deliver = deliver;
    this.#options = options;
  }

  /** Queues `command` for `worker`; it leaves at the end of this task, or after the delivery in flight. */
  send(worker: string, command: GatewayCommand): void {
    if (this.#closed) return;
    let queue = this.#queues.get(worker);
    if (!queue) this.#queues.set(worker, queue = []);
    queue.push(command);
    if (queue.length > (this.#options.maxQueued ?? 4096)) {
      const at = queue.findIndex((c) => c.op === "input");
      if (at >= 0) {
        queue.splice(at, 1);
        this.dropped++;
      }
    }
    if (this.#scheduled) return;
    this.#scheduled = true;
    setTimeout(() => this.flush(), 0);
  }

  /** Starts a delivery to every worker with commands waiting and none in flight. */
  flush(): void {
    this.#scheduled = false;
    for (const worker of [...this.#queues.keys()]) this.#next(worker);
  }

  /** Drops what waits for `worker` (it left the map). */
  forget(worker: string): void {
    this.#queues.delete(worker);
  }

  /** Drops everything waiting; deliveries in flight finish on their own. */
  close(): void {
    this.#closed = true;
    this.#queues.clear();
    if (this.#retry !== undefined) clearTimeout(this.#retry);
  }

  #next(worker: string): void {
    if (this.#closed || this.#busy.has(worker)) return;
    const commands = this.#queues.get(worker);
    if (!commands?.length) return;
    this.#queues.delete(worker);
    this.#busy.add(worker);
    this.#deliver(worker, commands).then(
      () => {
        this.#busy.delete(worker);
        this.#next(worker);
      },
      (error) => {
        this.#busy.delete(worker);
        if (this.#closed) return;
        const kept = commands.filter((c) => c.op !== "input");
        this.dropped += commands.length - kept.length;
        if (kept.length > 0) this.#queues.set(worker, [...kept, ...this.#queues.get(worker) ?? []]);
        this.#options.onError?.(worker, error);
        this.#retry ??= setTimeout(() => {
          this.#retry = undefined;
          this.flush();
        }, this.#options.retryMs ?? 100);
      },
    );
  }
}

/**
 * A gateway's session link to the workers: a Sessions.Attach stream to each (opened by
 * `links.update` with the live workers) on which the worker's reports come, decoded for
 * `onReport` — one that does not decode is counted (BAD_BATCH) and logged, never applied —
 * and `outbox`, which delivers commands with Sessions.Send calls on the same connections.
 */
export function sessionStreams(options: {
  self: string;
  secret: string;
  log: Logger;
  countError(code: ErrorCode): void;
  onReport(report: WorkerReport): void;
}): { links: PeerLinks; outbox: CommandOutbox } {
  const { self, secret, log } = options;
  const links: PeerLinks = new PeerLinks({
    self,
    secret,
    log,
    link: { service: "Sessions", method: "Attach" },
    dials: () => true,
    onPayload(payload, worker) {
      try {
        options.onReport(reportFrom(payload, worker));
      } catch (error) {
        options.countError(ErrorCode.BAD_BATCH);
        log.error("report.rejected", { worker, error });
      }
    },
    onPeerRemoved: (worker) => outbox.forget(worker),
  });
  const outbox = new CommandOutbox(
    async (worker, commands) => {
      await links.unary(worker, "Send", { payload: encodeCommands(self, commands) }, 2_000);
    },
    {
      onError(worker, error) {
        // Down or not attached yet: tried again shortly. Anything else is a bug to look at.
        const code = (error as { code?: number })?.code;
        if (code === status.UNAVAILABLE || code === status.DEADLINE_EXCEEDED) {
          log.debug("commands.undelivered", { worker, error });
        } else log.warn("commands.undelivered", { worker, error });
      },
    },
  );
  return { links, outbox };
}
