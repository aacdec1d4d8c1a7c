// What a GameClient does after its connection dropped (docs/protocol.md, "Reconnecting"): which
// close codes it resumes after, and the resume loop — a pause from the backoff (none after a
// REDIRECT, whose gateway is tried first), the live gateway list before a later attempt, HELLO
// with the resume token, and a new session with the login token when the resume is refused
// (renewing the login token once when that is refused too).
import { CloseCode, type HelloMessage, Op, PROTOCOL_VERSION } from "../protocol/client_protocol.ts";
import type { GameClientEvents } from "./client_events.ts";
import type { ClusterAccess } from "./cluster_access.ts";
import type { ReconnectBackoff } from "./reconnect_backoff.ts";
import { ConnectError } from "./session_socket.ts";

/** Close codes after which docs/protocol.md tells a client to resume. */
const RESUMABLE: ReadonlySet<number> = new Set([
  CloseCode.GOING_AWAY,
  1006,
  CloseCode.INTERNAL,
  CloseCode.IDLE_TIMEOUT,
  CloseCode.SLOW_CONSUMER,
  CloseCode.RATE_LIMITED,
  CloseCode.WORLD_STALLED,
]);

/** A close with `code` is one to resume after. */
export function resumesAfter(code: number): boolean {
  return RESUMABLE.has(code);
}

/** The parts of a GameClient the resume loop works with. */
export interface RecoveryContext {
  readonly signal: AbortSignal;
  readonly backoff: ReconnectBackoff;
  readonly access: ClusterAccess;
  emit<K extends keyof GameClientEvents>(type: K, event: GameClientEvents[K]): void;
  /** Waits `ms`, or less when the client is closed. */
  sleep(ms: number): Promise<void>;
  /** Opens a connection with `hello`, current gateway first; resolves on WELCOME. */
  open(hello: HelloMessage): Promise<unknown>;
  /** The session's resume token (the last WELCOME's or TRAVEL's). */
  resumeToken(): string;
  /** The session is gone: forget what the player saw. */
  lost(): void;
}

/**
 * Takes the session back with the resume token, after a pause from the backoff (none after a
 * REDIRECT, whose gateway is tried first); a refused resume starts a new session instead.
 * Emits `reconnectFailed` when the backoff runs out.
 */
export async function recoverSession(
  context: RecoveryContext,
  redirect: string | undefined,
): Promise<void> {
  const { signal, backoff } = context;
  if (redirect !== undefined) context.access.preferFirst(redirect);
  let lastError: Error = new Error("no attempt made");
  for (let delay = backoff.next(); delay !== undefined; delay = backoff.next()) {
    const immediate = redirect !== undefined && backoff.attempts === 1;
    const delayMs = immediate ? 0 : delay;
    context.emit("reconnecting", { attempt: backoff.attempts, delayMs });
    await context.sleep(delayMs);
    if (backoff.attempts > 1) await context.access.refresh(signal);
    if (signal.aborted) return;
    try {
      await context.open({
        op: Op.HELLO,
        protocol: PROTOCOL_VERSION,
        resumeToken: context.resumeToken(),
      });
      return;
    } catch (error) {
      if (signal.aborted) return;
      lastError = error as Error;
      if (!(error instanceof ConnectError && error.closeCode === CloseCode.RESUME_FAILED)) {
        continue;
      }
    }
    // The grace period is over or the token was used: a new session with the login token.
    context.emit("sessionLost", { error: lastError });
    context.lost();
    try {
      await newSession(context);
      return;
    } catch (error) {
      if (signal.aborted) return;
      lastError = error as Error;
    }
  }
  context.emit("reconnectFailed", { attempts: backoff.attempts, error: lastError });
}

/** HELLO with the login token; once more after a fresh login when the token was refused. */
async function newSession(context: RecoveryContext): Promise<void> {
  const hello = () =>
    context.open({ op: Op.HELLO, protocol: PROTOCOL_VERSION, token: context.access.token });
  try {
    await hello();
  } catch (error) {
    if (!(error instanceof ConnectError && error.closeCode === CloseCode.UNAUTHENTICATED)) {
      throw error;
    }
    await context.access.renewToken(context.signal);
    await hello();
  }
}
