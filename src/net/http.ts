// HTTP plumbing shared by every role: a server that can be closed, JSON responses with stable
// error codes, and static files from `static_dir`.
import { extname, join, normalize, resolve } from "node:path";
import type { ErrorCode } from "../errors.ts";
import type { Logger } from "../observe/log.ts";
import type { TrafficCounts } from "../observe/metrics.ts";
import { isAddressInUse, PortInUseError } from "./start_failure.ts";

const TYPES: Record<string, string> = {
  ".html": "text/html; charset=utf-8",
  ".js": "text/javascript; charset=utf-8",
  ".css": "text/css; charset=utf-8",
  ".json": "application/json",
  ".png": "image/png",
  ".svg": "image/svg+xml",
  ".ico": "image/x-icon",
  ".txt": "text/plain; charset=utf-8",
};

const encoder = new TextEncoder();

/** HTTP status of each stable error code in a `{ "error": { code, message } }` body. */
const STATUS: Partial<Record<ErrorCode, number>> = {
  BAD_REQUEST: 400,
  BAD_FRAME: 400,
  UNAUTHENTICATED: 401,
  TOKEN_EXPIRED: 401,
  BAD_CREDENTIALS: 401,
  NOT_FOUND: 404,
  INSTANCE_NOT_FOUND: 404,
  METHOD_NOT_ALLOWED: 405,
  USERNAME_TAKEN: 409,
  CONFLICT: 409,
  NO_CAPACITY: 409,
  TOO_BIG: 413,
  RATE_LIMITED: 429,
  UNAVAILABLE: 503,
  INTERNAL: 500,
};

/**
 * The HTTP status for an error code in a `{ "error": { code, message } }` body; 500 for codes
 * that only arise inside the cluster.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { httpStatusOf } from "./http.ts";
 * assert.equal(httpStatusOf("USERNAME_TAKEN"), 409);
 * ```
 */
export function httpStatusOf(code: ErrorCode): number {
  return STATUS[code] ?? 500;
}

/** A JSON response (with its length, so traffic metrics need not re-measure it). */
export function json(body: unknown, status = 200): Response {
  return jsonText(JSON.stringify(body), status);
}

/** A response whose body is already JSON text. */
export function jsonText(text: string, status = 200): Response {
  const bytes = encoder.encode(text);
  return new Response(bytes, {
    status,
    headers: {
      "content-type": "application/json",
      "content-length": String(bytes.byteLength),
      "cache-control": "no-store",
    },
  });
}

/** A JSON error body `{ error: { code, message } }`. */
export function jsonError(status: number, code: string, message: string): Response {
  return json({ error: { code, message } }, status);
}

/**
 * 405 METHOD_NOT_ALLOWED for `method` on `path`, with the Allow header RFC 9110 requires
 * (HEAD is allowed wherever GET is, and left out of the message).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * const response = methodNotAllowed("PUT", "/api/state", ["GET", "HEAD"]);
 * assert.equal(response.status, 405);
 * assert.equal(response.headers.get("allow"), "GET, HEAD");
 * assert.equal((await response.json()).error.message, "PUT is not allowed on /api/state; use GET");
 * ```
 */
export function methodNotAllowed(method: string, path: string, allow: readonly string[]): Response {
  const shown = allow.filter((m) => m !== "HEAD").join(" or ");
  const response = jsonError(
    405,
    "METHOD_NOT_ALLOWED",
    `${method} is not allowed on ${path}; use ${shown}`,
  );
  response.headers.set("allow", allow.join(", "));
  return response;
}

/**
 * Serves a file under `root` for a URL path ("/" → index.html), refusing paths that escape it.
 * Returns undefined when there is no such file.
 */
export async function serveStatic(root: string, pathname: string): Promise<Response | undefined> {
  let decoded: string;
  try {
    decoded = decodeURIComponent(pathname);
  } catch {
    return jsonError(400, "BAD_REQUEST", `Cannot serve ${pathname}: malformed URL escape`);
  }
  const base = resolve(root);
  const relative = decoded.endsWith("/") ? `${decoded}index.html` : decoded;
  const path = resolve(join(base, normalize(relative)));
  if (path !== base && !path.startsWith(base + "/")) return undefined;
  try {
    const info = await Deno.stat(path);
    if (info.isDirectory) return await serveStatic(root, `${decoded.replace(/\/?$/, "/")}`);
    const file = await Deno.readFile(path);
    return new Response(file, {
      headers: {
        "content-type": TYPES[extname(path)] ?? "application/octet-stream",
        "content-length": String(file.byteLength),
      },
    });
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) return undefined;
    throw error;
  }
}

/** A running HTTP server. */
export interface HttpServer {
  port: number;
  close(): Promise<void>;
}

/** What a handler gets besides the request. */
export interface HttpContext {
  /** Aborted when the server starts closing: long-lived responses (event streams) end then. */
  closing: AbortSignal;
  /** The client's IP address ("" when unknown), for per-client limits. */
  remoteAddress: string;
}

/** A request handler of {@linkcode startHttp}. */
export type HttpHandler = (
  request: Request,
  url: URL,
  context: HttpContext,
) => Response | Promise<Response>;

/** Options of {@linkcode startHttp}. */
export interface HttpOptions {
  /** What the port is, for a start-up failure ("HTTP", "admin"); default "HTTP". */
  name?: string;
  /** Serve HTTPS (and so WSS) with this PEM certificate and key. */
  tls?: { cert: string; key: string };
  /** Counts requests (in) and responses (out) with their body bytes. */
  traffic?: TrafficCounts;
}

/**
 * Starts Deno.serve on host:port; handler errors become 500 with code INTERNAL and a log line.
 * `close()` first aborts `context.closing`, so open streams end and shutdown does not wait on
 * them.
 */
export function startHttp(
  host: string,
  port: number,
  handler: HttpHandler,
  log: Logger,
  options: HttpOptions = {},
): Promise<HttpServer> {
  const closing = new AbortController();
  const contextOf = (info: Deno.ServeHandlerInfo): HttpContext => ({
    closing: closing.signal,
    remoteAddress: (info.remoteAddr as Deno.NetAddr).hostname ?? "",
  });
  const { traffic } = options;
  const serve = traffic
    ? async (request: Request, info: Deno.ServeHandlerInfo) => {
      traffic.messagesIn++;
      traffic.bytesIn += declaredLength(request.headers);
      return countOut(await handler(request, new URL(request.url), contextOf(info)), traffic);
    }
    : (request: Request, info: Deno.ServeHandlerInfo) =>
      handler(request, new URL(request.url), contextOf(info));
  return new Promise((resolveStarted, reject) => {
    try {
      const server = Deno.serve({
        hostname: host,
        port,
        ...(options.tls ? { cert: options.tls.cert, key: options.tls.key } : {}),
        onListen: ({ port: bound }) => {
          resolveStarted({
            port: bound,
            close: () => {
              closing.abort();
              return server.shutdown();
            },
          });
        },
        onError: (error) => {
          log.error("http.error", { error });
          return jsonError(500, "INTERNAL", "Internal error");
        },
      }, serve);
    } catch (error) {
      reject(
        isAddressInUse(error)
          ? new PortInUseError(options.name ?? "HTTP", host, port, { cause: error })
          : error,
      );
    }
  });
}

function declaredLength(headers: Headers): number {
  const length = Number(headers.get("content-length") ?? 0);
  return Number.isSafeInteger(length) && length > 0 ? length : 0;
}

/** Counts a response; a body of unknown length (an event stream) is counted as it flows. */
function countOut(response: Response, traffic: TrafficCounts): Response {
  traffic.messagesOut++;
  if (!response.body || response.headers.has("content-length")) {
    traffic.bytesOut += declaredLength(response.headers);
    return response;
  }
  const counted = response.body.pipeThrough(
    new TransformStream<Uint8Array, Uint8Array>({
      transform(chunk, controller) {
        traffic.bytesOut += chunk.byteLength;
        controller.enqueue(chunk);
      },
    }),
  );
  return new Response(counted, {
    status: response.status,
    statusText: response.statusText,
    headers: response.headers,
  });
}

/** A `/readyz` answer: 200 `ready` once the node is registered and serving, else 503. */
export function readiness(role: string, ready: boolean): Response {
  return json({ status: ready ? "ready" : "starting", role }, ready ? 200 : 503);
}
