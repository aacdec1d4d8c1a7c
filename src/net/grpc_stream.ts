// A bidirectional stream to a standard gRPC server (grpcio, grpc-go, grpc-java...) over HTTP/2
// cleartext, for servers outside the cluster that do not speak our gRPC-Web framing: the game
// logic servers of remoteGame(). Deno's fetch carries the full-duplex request (TOOLCHAIN.md) but
// exposes no HTTP trailers (denoland/deno#10214), where standard gRPC puts a call's final status:
// a status is read from the response headers when the server answers "trailers-only" (how
// gRPC servers refuse a call: unknown method, unavailable), and a stream that simply ends
// reports that its status could not be read. Protocols on this stream should carry their own
// errors in their messages (TickOut.error does). Hand-written for the reasons in rpc_client.ts.
import { encodeFrame, FrameFlag, FrameReader } from "./grpc_frame.ts";
import { RpcError, status } from "./grpc_status.ts";

/** What a {@linkcode GrpcStream} reports. */
export interface GrpcStreamHandlers {
  /** One response message (protobuf bytes). */
  onMessage(bytes: Uint8Array): void;
  /** The stream is over: `error` says why (undefined after {@linkcode GrpcStream.close}). */
  onEnd(error: RpcError | undefined): void;
}

/** Options of {@linkcode openGrpcStream}. */
export interface GrpcStreamOptions {
  /** Largest response message accepted (default 4 MiB, gRPC's default). */
  maxMessageBytes?: number;
}

/** A started call: write request messages, close when done. */
export interface GrpcStream {
  /** Queues one request message; false once the stream is over. */
  write(bytes: Uint8Array): boolean;
  /** Ends the request side and stops reading. */
  close(): void;
  readonly ended: boolean;
}

/**
 * Opens `path` (`/package.Service/Method`) at `address` (host:port) with `first` as the first
 * request message: a gRPC server sends its response headers only once it has a message to
 * answer, so the call starts with one.
 */
export function openGrpcStream(
  address: string,
  path: string,
  first: Uint8Array,
  handlers: GrpcStreamHandlers,
  options: GrpcStreamOptions = {},
): GrpcStream {
  const http = Deno.createHttpClient({ http1: false, http2: true });
  const abort = new AbortController();
  let requests!: ReadableStreamDefaultController<Uint8Array>;
  const body = new ReadableStream<Uint8Array>({ start: (c) => void (requests = c) });
  let ended = false;
  const end = (error: RpcError | undefined) => {
    if (ended) return;
    ended = true;
    try {
      requests.close();
    } catch { /* already closed */ }
    abort.abort();
    http.close();
    handlers.onEnd(error);
  };
  requests.enqueue(encodeFrame(FrameFlag.MESSAGE, first));
  void (async () => {
    try {
      const response = await fetch(`http://${address}${path}`, {
        method: "POST",
        client: http,
        body,
        signal: abort.signal,
        headers: { "content-type": "application/grpc+proto", te: "trailers" },
        duplex: "half",
      } as RequestInit);
      const refused = headerStatus(response);
      if (refused) {
        await response.body?.cancel();
        return end(refused);
      }
      const reader = new FrameReader({ maxMessageBytes: options.maxMessageBytes ?? 4 << 20 });
      for await (const chunk of response.body!) {
        for (const frame of reader.push(chunk)) {
          if (frame.flags !== FrameFlag.MESSAGE) {
            throw new RpcError(
              status.INTERNAL,
              `${address}${path} sent a frame with flags ${frame.flags} (compressed?)`,
            );
          }
          if (!ended) handlers.onMessage(frame.payload);
        }
      }
      reader.finish();
      end(
        ended ? undefined : new RpcError(
          status.UNAVAILABLE,
          `${address}${path}: the server ended the stream (its status is in HTTP trailers, ` +
            `which fetch cannot read)`,
        ),
      );
    } catch (error) {
      if (ended) return;
      end(
        error instanceof RpcError ? error : new RpcError(
          status.UNAVAILABLE,
          `${address}${path}: ${(error as Error)?.message ?? error}`,
          { cause: error },
        ),
      );
    }
  })();
  return {
    write(bytes) {
      if (ended) return false;
      requests.enqueue(encodeFrame(FrameFlag.MESSAGE, bytes));
      return true;
    },
    close: () => end(undefined),
    get ended() {
      return ended;
    },
  };
}

/** The refusal a server put in its response headers (HTTP error or trailers-only status). */
function headerStatus(response: Response): RpcError | undefined {
  if (response.status !== 200) {
    return new RpcError(status.UNAVAILABLE, `HTTP ${response.status} from the gRPC server`);
  }
  const code = response.headers.get("grpc-status");
  if (code !== null && code !== "0") {
    const message = decodeURIComponent(response.headers.get("grpc-message") ?? "");
    return new RpcError(Number(code) as status, message || `gRPC status ${code}`);
  }
  const type = response.headers.get("content-type") ?? "";
  if (!type.startsWith("application/grpc")) {
    return new RpcError(status.UNAVAILABLE, `not a gRPC server (content-type ${type || "none"})`);
  }
  return undefined;
}
