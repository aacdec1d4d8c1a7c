// One call on the server side, shaped like grpc-js's server calls so handlers stay as they were:
// the request or "data" events in, write()/end() out, `emit("error", { code, details })` to end
// with a status, "cancelled" when the client goes, "close" when it is over.
import { EventEmitter } from "node:events";
import type { Metadata } from "./call_metadata.ts";
import { FrameQueue } from "./frame_queue.ts";
import { encodeMessage, encodeTrailer } from "./grpc_frame.ts";
import { RpcError, status, type StatusObject, toStatus } from "./grpc_status.ts";
import type { MethodDescriptor } from "./proto_codec.ts";

/**
 * One call on the server: the request (unary, server streaming), incoming messages as "data"
 * events (client streaming), `write()` for replies (streaming), `end()` to finish with OK and
 * `emit("error", { code, details })` to finish with a status, as with grpc-js.
 */
export class ServerCall<Req = unknown, Res = unknown> extends EventEmitter {
  readonly metadata: Metadata;
  request!: Req;
  /** True once the client went away, cancelled or the deadline passed. */
  cancelled = false;
  #method: MethodDescriptor;
  #queue: FrameQueue;
  #peer: string;
  #maxBytes: number;
  #done = false;
  #requestEnded = false;
  #timers: Array<() => void> = [];
  #stopReading = () => {};

  constructor(method: MethodDescriptor, metadata: Metadata, peer: string, maxBytes: number) {
    super();
    this.#method = method;
    this.metadata = metadata;
    this.#peer = peer;
    this.#maxBytes = maxBytes;
    this.#queue = new FrameQueue({
      onDrain: () => this.emit("drain"),
      onCancel: () => this.cancel(),
    });
    // Emitting "error" on a call finishes it with that status (grpc-js semantics).
    this.on("error", (error: unknown) => this.#finish(toStatus(error)));
  }

  /** The response body. */
  get body(): ReadableStream<Uint8Array> {
    return this.#queue.stream;
  }

  /** Whether the call has finished (status sent or cancelled). */
  get done(): boolean {
    return this.#done;
  }

  /** The client's address. */
  getPeer(): string {
    return this.#peer;
  }

  /** Sends one reply message; false when the write queue is full (wait for "drain"). */
  write(message: Res): boolean {
    if (this.#done) return false;
    try {
      return this.writeFrame(encodeMessage(this.#method.response.encode(message), this.#maxBytes));
    } catch (error) {
      this.#failLocally(error);
      return false;
    }
  }

  /** Finishes the call with OK. */
  end(): void {
    this.#finish({ code: status.OK, details: "" });
  }

  /** Finishes the call with `final` (what a unary callback and `emit("error")` end up doing). */
  sendStatus(final: StatusObject): void {
    this.#finish(final);
  }

  /** @internal Queues an encoded frame. */
  writeFrame(frame: Uint8Array): boolean {
    if (this.#done) return false;
    return this.#queue.push(frame);
  }

  /** @internal Registers cleanup to run when the call is over. */
  onDone(cleanup: () => void): void {
    this.#timers.push(cleanup);
  }

  /** @internal Set by the reader of a streaming request. */
  set stopReading(stop: () => void) {
    this.#stopReading = stop;
  }

  /** @internal Whether the client may still send messages. */
  get requestOpen(): boolean {
    return this.#method.requestStream && !this.#requestEnded && !this.#done;
  }

  /** @internal The client half-closed its side. */
  requestEnd(): void {
    if (this.#requestEnded || this.#done) return;
    this.#requestEnded = true;
    this.emit("end");
  }

  /** @internal The client went away (reset, disconnect) or the deadline passed. */
  cancel(final?: StatusObject): void {
    if (this.#done) return;
    this.cancelled = true;
    if (final) {
      this.#finish(final);
    } else {
      this.#done = true;
      this.#cleanup();
      this.#queue.discard();
    }
    this.emit("cancelled");
    if (!final) this.#closed();
  }

  #failLocally(error: unknown): void {
    const final = error instanceof RangeError
      ? { code: status.RESOURCE_EXHAUSTED, details: error.message }
      : error instanceof RpcError
      ? { code: error.code, details: error.details }
      : { code: status.INTERNAL, details: `Cannot send reply: ${(error as Error).message}` };
    this.emit("error", new RpcError(final.code, final.details, { cause: error }));
  }

  #finish(final: StatusObject): void {
    if (this.#done) return;
    this.#done = true;
    this.#cleanup();
    this.#queue.close(encodeTrailer(final));
    this.#closed();
  }

  #cleanup(): void {
    for (const cleanup of this.#timers) cleanup();
    this.#timers = [];
    this.#stopReading();
  }

  #closed(): void {
    queueMicrotask(() => this.emit("close"));
  }
}
