// Opening the GameClient's WebSocket session: the session URL for a frame format, a bounded
// open, and the reasons a connection attempt ends before WELCOME.
import type { FrameFormat } from "../protocol/client_protocol.ts";
import { CodedError } from "../errors.ts";

/** The URL to open for a gateway's `/ws` URL and a frame format. */
export function sessionUrl(url: string, format: FrameFormat): string {
  const target = new URL(url);
  if (format === "json") target.searchParams.set("format", "json");
  return target.href;
}

/**
 * A connection attempt ended before WELCOME. `reason` is the ERROR code the server sent, or
 * UNAVAILABLE (no gateway answered), NO_WELCOME (none in time), CLOSED_BEFORE_WELCOME.
 */
export class ConnectError extends Error {
  readonly reason: string;
  readonly closeCode: number | undefined;

  constructor(reason: string, message: string, closeCode?: number) {
    super(message);
    this.name = "ConnectError";
    this.reason = reason;
    this.closeCode = closeCode;
  }
}

/**
 * Opens a WebSocket to a gateway's session URL; rejects (and closes it) when it does not open
 * within `timeoutMs` or when `signal` aborts.
 */
export function openSession(
  url: string,
  format: FrameFormat,
  timeoutMs: number,
  signal: AbortSignal,
): Promise<WebSocket> {
  const { promise, resolve, reject } = Promise.withResolvers<WebSocket>();
  const ws = new WebSocket(sessionUrl(url, format));
  ws.binaryType = "arraybuffer";
  const fail = (problem: string) => {
    cleanup();
    ws.onclose = null;
    if (ws.readyState !== WebSocket.CLOSED) ws.close();
    reject(new Error(`${url}: ${problem}`));
  };
  const timer = setTimeout(
    () => fail(`no answer within ${timeoutMs} ms`),
    timeoutMs,
  );
  const onAbort = () => fail("stopped");
  signal.addEventListener("abort", onAbort);
  const cleanup = () => {
    clearTimeout(timer);
    signal.removeEventListener("abort", onAbort);
  };
  ws.onerror = () => {}; // a close event follows and says more
  ws.onclose = (event) => fail(`closed with ${event.code} before it opened`);
  ws.onopen = () => {
    cleanup();
    resolve(ws);
  };
  return promise;
}

/** The reason to report for a failed connection attempt. */
export function reasonOf(error: unknown): string {
  if (error instanceof ConnectError) return error.reason;
  return error instanceof CodedError ? error.code : "CONNECT_FAILED";
}
