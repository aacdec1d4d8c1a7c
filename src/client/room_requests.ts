// A client's rooms requests in flight (docs/protocol.md, Rooms): each gets the next `ref` and a
// promise its answer settles — TRAVEL or ROOMS resolves it, an ERROR with its `ref` rejects it —
// or that rejects when no answer comes in time or the connection closes first.
import type {
  ClientMessage,
  ErrorMessage,
  RoomRequest,
  RoomsMessage,
  TravelMessage,
} from "../protocol/client_protocol.ts";
import { ErrorCode } from "../errors.ts";
import { RoomError } from "./client_events.ts";
import type { ClientTimers } from "./reconnect_backoff.ts";

/** A rooms request as the SDK takes it: the SDK adds the `ref`. */
export type RoomAsk = RoomRequest extends infer R ? R extends RoomRequest ? Omit<R, "ref"> : never
  : never;

/** The answer to a rooms request. */
export type RoomAnswer = RoomsMessage | TravelMessage;

interface Pending {
  resolve(answer: RoomAnswer): void;
  reject(error: RoomError): void;
  cancel(): void;
}

/**
 * The rooms requests of one client waiting for their answers.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { realTimers } from "./reconnect_backoff.ts";
 * const sent: unknown[] = [];
 * const rooms = new RoomRequests(realTimers, 1000);
 * const answer = rooms.ask({ op: 10, mode: "arena" }, (frame) => (sent.push(frame), true));
 * rooms.answer({ op: 14, ref: 1, instances: [] });
 * assert.deepEqual(await answer, { op: 14, ref: 1, instances: [] });
 * assert.deepEqual(sent, [{ op: 10, mode: "arena", ref: 1 }]);
 * ```
 */
export class RoomRequests {
  #timers: ClientTimers;
  #timeoutMs: number;
  #ref = 0;
  #pending = new Map<number, Pending>();

  constructor(timers: ClientTimers, timeoutMs: number) {
    this.#timers = timers;
    this.#timeoutMs = timeoutMs;
  }

  /** Sends `request` with the next ref; `send` returns false when no connection is open. */
  ask(request: RoomAsk, send: (message: ClientMessage) => boolean): Promise<RoomAnswer> {
    const ref = this.#ref = (this.#ref + 1) % 0x1_0000_0000;
    const { promise, resolve, reject } = Promise.withResolvers<RoomAnswer>();
    if (!send({ ...request, ref } as ClientMessage)) {
      reject(
        new RoomError(ErrorCode.UNAVAILABLE, "Cannot send a rooms request: not connected", ref),
      );
      return promise;
    }
    const cancel = this.#timers.after(this.#timeoutMs, () => {
      this.#pending.delete(ref);
      reject(
        new RoomError(ErrorCode.UNAVAILABLE, `No answer to rooms request ${ref} in time`, ref),
      );
    });
    this.#pending.set(ref, { resolve, reject, cancel });
    return promise;
  }

  /** A TRAVEL or ROOMS: resolves the request with its `ref`, if one waits. */
  answer(message: RoomAnswer): void {
    if (message.ref !== undefined) this.#take(message.ref)?.resolve(message);
  }

  /** An ERROR: rejects the request with its `ref`, if one waits. */
  refuse(message: ErrorMessage): void {
    if (message.ref === undefined) return;
    const code = message.code as ErrorCode;
    this.#take(message.ref)?.reject(new RoomError(code, message.message, message.ref));
  }

  /** The connection closed (with `code`): no request waiting will get its answer. */
  closed(code: number): void {
    for (const ref of [...this.#pending.keys()]) {
      this.#take(ref)?.reject(
        new RoomError(ErrorCode.UNAVAILABLE, `Connection closed (${code}) before the answer`, ref),
      );
    }
  }

  #take(ref: number): Pending | undefined {
    const pending = this.#pending.get(ref);
    if (!pending) return undefined;
    this.#pending.delete(ref);
    pending.cancel();
    return pending;
  }
}
