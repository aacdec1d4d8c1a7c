// One call from the client side, shaped like grpc-js's client calls: a fetch on the channel's
// HTTP/2-only client with a streaming body, replies as "data", then "error" (non-OK), "status",
// "end" and "close"; write()/end() for streaming requests, cancel() at any time.
import { EventEmitter } from "node:events";
import { Metadata, SECRET_METADATA } from "./call_metadata.ts";
import { FrameQueue } from "./frame_queue.ts";
import {
  CONTENT_TYPE,
  encodeMessage,
  formatTimeout,
  FrameFlag,
  FrameReader,
  parseTrailer,
  statusFromFields,
} from "./grpc_frame.ts";
import { RpcError, status, type StatusObject, statusOfHttp } from "./grpc_status.ts";
import type { MethodDescriptor } from "./proto_codec.ts";
import {
  formatKeepalive,
  KEEPALIVE_HEADER,
  type KeepaliveOptions,
  Liveness,
  parseKeepalive,
} from "./stream_liveness.ts";

/** Per-call options: an absolute deadline (ms since the epoch, or a Date). */
export interface CallOptions {
  deadline?: number | Date;
}

/** What the calls of one client share. */
export interface Channel {
  address: string;
  http: Deno.HttpClient;
  /** "https" when the node runs with TLS (src/net/node_tls.ts). */
  scheme: "http" | "https";
  secret: string;
  maxBytes: number;
  keepalive: KeepaliveOptions | false;
  calls: Set<ClientCall>;
}

/**
 * One call from the client: "data" for each reply, then "error" (non-OK status), "status",
 * "end" and "close"; `write()`/`end()` for streaming requests, `cancel()` at any time.
 */
export class ClientCall<Req = unknown, Res = unknown> extends EventEmitter {
  #channel: Channel;
  #method: MethodDescriptor;
  #queue?: FrameQueue;
  #abort = new AbortController();
  #liveness?: Liveness;
  #keepaliveAgreed = false;
  #timer?: ReturnType<typeof setTimeout>;
  #done = false;
  #status?: StatusObject;

  constructor(
    channel: Channel,
    method: MethodDescriptor,
    request: { message: Req } | undefined,
    metadata: Metadata,
    options: CallOptions,
  ) {
    super();
    this.#channel = channel;
    this.#method = method;
    channel.calls.add(this as ClientCall);
    const headers = new Headers();
    metadata.writeTo(headers);
    if (channel.secret) headers.set(SECRET_METADATA, channel.secret);
    headers.set("content-type", CONTENT_TYPE);
    headers.set("x-grpc-web", "1");
    if (options.deadline !== undefined) {
      const ms = Number(options.deadline) - Date.now();
      headers.set("grpc-timeout", formatTimeout(ms));
      this.#timer = setTimeout(() =>
        this.#fail(
          status.DEADLINE_EXCEEDED,
          `DEADLINE_EXCEEDED: no reply from ${channel.address} within ${Math.round(ms)} ms`,
        ), Math.max(0, ms));
    }
    const streaming = method.requestStream || method.responseStream;
    if (streaming && channel.keepalive) {
      headers.set(KEEPALIVE_HEADER, formatKeepalive(channel.keepalive));
      this.#liveness = new Liveness(channel.keepalive, {
        send: (frame) => this.#keepaliveAgreed && this.#push(frame),
        peerSending: () => true,
        onSilent: (ms) =>
          this.#fail(
            status.UNAVAILABLE,
            `UNAVAILABLE: nothing from ${channel.address} for ${ms} ms (peer dead or paused)`,
          ),
      });
    }
    let body: BodyInit;
    try {
      if (request) {
        body = encodeMessage(method.request.encode(request.message), channel.maxBytes);
      } else {
        this.#queue = new FrameQueue({ onDrain: () => this.emit("drain") });
        body = this.#queue.stream;
      }
    } catch (error) {
      this.#fail(
        error instanceof RpcError ? error.code : status.INTERNAL,
        `Cannot send ${method.request.name}: ${(error as Error).message}`,
      );
      return;
    }
    void this.#run(headers, body);
  }

  /** Whether the call takes no more request messages (over, half-closed or unary). */
  get done(): boolean {
    return this.#done || !this.#queue || this.#queue.done;
  }

  /** The final status, once the call is over. */
  get status(): StatusObject | undefined {
    return this.#status;
  }

  /** The server's address. */
  getPeer(): string {
    return this.#channel.address;
  }

  /** Sends one request message; false when the write queue is full (wait for "drain"). */
  write(message: Req): boolean {
    if (this.#done || !this.#queue || this.#queue.done) return false;
    try {
      const frame = encodeMessage(this.#method.request.encode(message), this.#channel.maxBytes);
      return this.#push(frame);
    } catch (error) {
      const code = error instanceof RpcError ? error.code : status.INTERNAL;
      this.#fail(code, `Cannot send ${this.#method.request.name}: ${(error as Error).message}`);
      return false;
    }
  }

  /** Half-closes: no more request messages; replies keep coming until the status. */
  end(): void {
    this.#queue?.close();
  }

  /** Ends the call now with CANCELLED (the server sees the stream reset). */
  cancel(): void {
    this.#fail(status.CANCELLED, "CANCELLED: cancelled on the client");
  }

  #push(frame: Uint8Array): boolean {
    const queue = this.#queue;
    if (!queue || queue.done) return false;
    try {
      const room = queue.push(frame);
      this.#liveness?.sent();
      return room;
    } catch (error) {
      this.#fail(status.RESOURCE_EXHAUSTED, `RESOURCE_EXHAUSTED: ${(error as Error).message}`);
      return false;
    }
  }

  async #run(headers: Headers, body: BodyInit): Promise<void> {
    const channel = this.#channel;
    let response: Response;
    try {
      response = await fetch(`${channel.scheme}://${channel.address}${this.#method.path}`, {
        method: "POST",
        headers,
        body,
        client: channel.http,
        signal: this.#abort.signal,
        duplex: "half",
      } as RequestInit);
    } catch (error) {
      this.#fail(
        status.UNAVAILABLE,
        `UNAVAILABLE: cannot call ${channel.address}: ${(error as Error).message}`,
      );
      return;
    }
    if (this.#done) {
      await response.body?.cancel().catch(() => {});
      return;
    }
    this.#liveness?.received();
    const code = response.headers.get("grpc-status");
    const type = response.headers.get("content-type") ?? "";
    if (code !== null || response.status !== 200 || !type.startsWith("application/grpc-web")) {
      await response.body?.cancel().catch(() => {});
      if (code !== null) {
        const final = statusFromFields(code, response.headers.get("grpc-message"));
        this.#finish(final);
      } else if (response.status !== 200) {
        this.#fail(
          statusOfHttp(response.status),
          `HTTP ${response.status} from ${channel.address}`,
        );
      } else {
        this.#fail(
          status.UNKNOWN,
          `unexpected content-type ${type || "none"} from ${channel.address}`,
        );
      }
      return;
    }
    this.#keepaliveAgreed = parseKeepalive(response.headers.get(KEEPALIVE_HEADER)) !== undefined;
    if (!this.#keepaliveAgreed) this.#liveness?.stop();
    this.emit("metadata", Metadata.fromHeaders(response.headers));
    await this.#read(response.body);
  }

  async #read(body: ReadableStream<Uint8Array> | null): Promise<void> {
    const frames = new FrameReader({ maxMessageBytes: this.#channel.maxBytes });
    let final: StatusObject | undefined;
    const reader = body?.getReader();
    try {
      while (reader) {
        const { done, value } = await reader.read();
        if (this.#done) break;
        if (done) break;
        this.#liveness?.received();
        for (const frame of frames.push(value)) {
          if (frame.flags === FrameFlag.KEEPALIVE) continue;
          if (final) throw new RpcError(status.INTERNAL, "a frame followed the status");
          if (frame.flags === FrameFlag.TRAILER) {
            final = parseTrailer(frame.payload);
            continue;
          }
          const message = this.#method.response.decode(frame.payload);
          try {
            this.emit("data", message as Res);
          } catch (error) {
            this.#fail(status.INTERNAL, `INTERNAL: a "data" listener threw: ${error}`);
          }
          if (this.#done) break;
        }
        if (this.#done) break;
      }
      if (this.#done) {
        await reader?.cancel().catch(() => {});
        return;
      }
      frames.finish();
      this.#finish(
        final ?? {
          code: status.INTERNAL,
          details: `INTERNAL: ${this.#channel.address} ended the call without a status`,
        },
      );
    } catch (error) {
      await reader?.cancel().catch(() => {});
      if (error instanceof RpcError) {
        this.#fail(
          error.code === status.INVALID_ARGUMENT ? status.INTERNAL : error.code,
          error.details,
        );
      } else {
        this.#fail(
          status.UNAVAILABLE,
          `UNAVAILABLE: connection to ${this.#channel.address} lost: ${(error as Error).message}`,
        );
      }
    }
  }

  #fail(code: status, details: string): void {
    if (this.#done) return;
    this.#abort.abort();
    this.#finish({ code, details });
  }

  #finish(final: StatusObject): void {
    if (this.#done) return;
    this.#done = true;
    this.#status = final;
    this.#liveness?.stop();
    clearTimeout(this.#timer);
    if (final.code === status.OK) this.#queue?.discard();
    else this.#queue?.abort(new RpcError(final.code, final.details));
    this.#channel.calls.delete(this as ClientCall);
    queueMicrotask(() => {
      if (final.code !== status.OK && this.listenerCount("error") > 0) {
        this.emit("error", new RpcError(final.code, final.details));
      }
      this.emit("status", final);
      this.emit("end");
      this.emit("close");
    });
  }
}
