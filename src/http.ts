// HTTP plumbing shared by every role: a server that can be closed, JSON responses with stable
// error codes, and static files from `static_dir`.
import { extname, join, normalize, resolve } from "node:path";
import type { Logger } from "./log.ts";

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

/** A JSON response. */
export function json(body: unknown, status = 200): Response {
  return new Response(JSON.stringify(body), {
    status,
    headers: { "content-type": "application/json", "cache-control": "no-store" },
  });
}

/** A JSON error body `{ error: { code, message } }`. */
export function jsonError(status: number, code: string, message: string): Response {
  return json({ error: { code, message } }, status);
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
      headers: { "content-type": TYPES[extname(path)] ?? "application/octet-stream" },
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

/** Starts Deno.serve on host:port; handler errors become 500 with code INTERNAL and a log line. */
export function startHttp(
  host: string,
  port: number,
  handler: (request: Request, url: URL) => Response | Promise<Response>,
  log: Logger,
): Promise<HttpServer> {
  return new Promise((resolveStarted, reject) => {
    try {
      const server = Deno.serve({
        hostname: host,
        port,
        onListen: ({ port: bound }) => {
          resolveStarted({ port: bound, close: () => server.shutdown() });
        },
        onError: (error) => {
          log.error("http.error", { error });
          return jsonError(500, "INTERNAL", "Internal error");
        },
      }, (request) => handler(request, new URL(request.url)));
    } catch (error) {
      reject(error);
    }
  });
}
