// The gRPC client of every node: Deno's fetch (Rust hyper) on an HTTP/2-only client, one
// full-duplex request per call, speaking the gRPC-Web binary protocol, with call objects shaped
// like grpc-js's (events data/metadata/status/error/end/close, write(), end(), cancel()). It
// replaces @grpc/grpc-js, whose node:http2 aborts the process on GOAWAY in Deno 2.9
// (denoland/deno#36788). Hand-written because no maintained package does this: @connectrpc's
// fetch transport (connect-web 2.3) refuses client and bidi streaming, its Node transport sits
// on node:http2, and both need generated code; grpc-web clients are browser, unary/server-stream.
import { Metadata } from "./call_metadata.ts";
import { MAX_MESSAGE_BYTES } from "./grpc_frame.ts";
import { RpcError, status, type StatusObject } from "./grpc_status.ts";
import { type MethodDescriptor, serviceMethods, type ServiceName } from "./proto_codec.ts";
import { type CallOptions, type Channel, ClientCall } from "./client_call.ts";
import { DEFAULT_KEEPALIVE, type KeepaliveOptions } from "./stream_liveness.ts";

export { type CallOptions, ClientCall } from "./client_call.ts";

/** Options of {@linkcode RpcClient}. */
export interface RpcClientOptions {
  /** Largest message accepted or sent (default 16 MiB). */
  maxMessageBytes?: number;
  /** Keepalive of streaming calls (default 1 s / 5 s); false to turn it off. */
  keepalive?: KeepaliveOptions | false;
}

/** A client of one service at one address; its methods are the proto's, grpc-js style. */
export class RpcClient {
  readonly service: ServiceName;
  readonly address: string;
  #channel: Channel;
  #methods = new Map<string, MethodDescriptor>();
  #closed = false;
  [method: string]: unknown;

  constructor(
    service: ServiceName,
    address: string,
    secret: string,
    options: RpcClientOptions = {},
  ) {
    this.service = service;
    this.address = address;
    this.#channel = {
      address,
      http: Deno.createHttpClient({ http1: false, http2: true }),
      secret,
      maxBytes: options.maxMessageBytes ?? MAX_MESSAGE_BYTES,
      keepalive: options.keepalive ?? DEFAULT_KEEPALIVE,
      calls: new Set(),
    };
    for (const method of serviceMethods(service)) {
      this.#methods.set(method.name, method);
      this[method.name] = method.requestStream
        ? (metadata?: Metadata, options?: CallOptions) =>
          this.call(method.name, undefined, metadata, options)
        : method.responseStream
        ? (request: unknown, metadata?: Metadata, options?: CallOptions) =>
          this.call(method.name, { message: request }, metadata, options)
        : (request: unknown, options?: CallOptions, callback?: (e: unknown, r?: unknown) => void) =>
          this.unary(method.name, request, options).then((r) => callback?.(null, r), callback);
    }
  }

  /** Calls in progress. */
  get calls(): number {
    return this.#channel.calls.size;
  }

  /** Starts a call; `request` for unary and server-streaming methods. */
  call<Req = unknown, Res = unknown>(
    name: string,
    request?: { message: Req },
    metadata: Metadata = new Metadata(),
    options: CallOptions = {},
  ): ClientCall<Req, Res> {
    const method = this.#method(name);
    if (this.#closed) {
      throw new RpcError(status.UNAVAILABLE, `UNAVAILABLE: client of ${this.address} closed`);
    }
    if (method.requestStream !== (request === undefined)) {
      throw new TypeError(
        `Cannot call ${name}: it takes ${method.requestStream ? "a stream" : "one request"}`,
      );
    }
    return new ClientCall<Req, Res>(this.#channel, method, request, metadata, options);
  }

  /** Calls a unary method and resolves with its reply (rejects with an RpcError). */
  unary<Req, Res>(name: string, request: Req, options: CallOptions = {}): Promise<Res> {
    return new Promise<Res>((resolve, reject) => {
      const method = this.#method(name);
      if (method.requestStream || method.responseStream) {
        throw new TypeError(`Cannot call ${name} as unary: it streams`);
      }
      if (this.#closed) {
        throw new RpcError(status.UNAVAILABLE, `UNAVAILABLE: client of ${this.address} closed`);
      }
      const call = new ClientCall<Req, Res>(
        this.#channel,
        method,
        { message: request },
        new Metadata(),
        options,
      );
      let reply: Res | undefined;
      call.on("data", (message: Res) => (reply = message));
      call.on("error", () => {});
      call.on("status", (final: StatusObject) => {
        if (final.code !== status.OK) reject(new RpcError(final.code, final.details));
        else if (reply === undefined) {
          reject(new RpcError(status.INTERNAL, `INTERNAL: ${name} returned OK without a reply`));
        } else resolve(reply);
      });
    });
  }

  /** Cancels the calls in progress and closes the connection (again: nothing). */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    for (const call of [...this.#channel.calls]) call.cancel();
    this.#channel.http.close();
  }

  #method(name: string): MethodDescriptor {
    const method = this.#methods.get(name);
    if (!method) {
      throw new TypeError(`Cannot call ${name}: no such method on ${this.service}`);
    }
    return method;
  }
}

/** A client of `service` at `address` that sends `secret` on every call ("" sends none). */
export function rpcClient(
  service: ServiceName,
  address: string,
  secret: string,
  options?: RpcClientOptions,
): RpcClient {
  return new RpcClient(service, address, secret, options);
}

/** Calls a unary method with a deadline and resolves with its reply. */
export function unary<Req, Res>(
  client: RpcClient,
  method: string,
  request: Req,
  timeoutMs = 5_000,
): Promise<Res> {
  try {
    return client.unary<Req, Res>(method, request, { deadline: Date.now() + timeoutMs });
  } catch (error) {
    return Promise.reject(error);
  }
}
