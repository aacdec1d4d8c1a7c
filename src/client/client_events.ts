// What a GameClient tells its user: the typed events and their payloads, the errors it reports
// (ProtocolError for server frames it refused, RoomError for rooms requests), and the listener
// registry they go through.
import type {
  ChatMessage,
  DiffMessage,
  ErrorMessage,
  RoomsMessage,
  TravelMessage,
  WelcomeMessage,
} from "../protocol/client_protocol.ts";
import { CodedError, type ErrorCode } from "../errors.ts";
import type { StreamProblem } from "./client_world.ts";

/**
 * A server frame the client could not accept, or a DIFF that contradicts the stream. The frame
 * is dropped (a contradicting DIFF is applied as far as it goes) and the session goes on.
 * `kind` is BAD_FRAME (the frame breaks the protocol's rules; `cause` is the decoder's
 * FrameError), UNEXPECTED_WELCOME, or one of {@linkcode StreamProblem}.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * const error = new ProtocolError("BAD_FRAME", "Cannot decode frame: op must be 3 (CHAT), …");
 * assert.equal(error.name, "ProtocolError");
 * assert.equal(error.kind, "BAD_FRAME");
 * ```
 */
export class ProtocolError extends Error {
  readonly kind: "BAD_FRAME" | "UNEXPECTED_WELCOME" | StreamProblem;

  constructor(kind: ProtocolError["kind"], message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = "ProtocolError";
    this.kind = kind;
  }
}

/** A rooms request was refused (`code` is the server's) or got no answer in time. */
export class RoomError extends CodedError {
  readonly ref: number;

  constructor(code: ErrorCode, message: string, ref: number) {
    super(code, message);
    this.name = "RoomError";
    this.ref = ref;
  }
}

/** A connection of the session ended. */
export interface ClientClose {
  code: number;
  reason: string;
  /** The ERROR code the server sent on that connection, if any. */
  error: string | undefined;
  /** The close came from `GameClient.close`. */
  requested: boolean;
  /** The REDIRECT the server sent before it: the client goes there. */
  redirect: string | undefined;
  /** The client will reconnect (and resume) by itself. */
  reconnect: boolean;
}

/** The events of a `GameClient` and what their listeners get. */
export interface GameClientEvents {
  /** A session started or resumed (`resumed`). */
  welcome: WelcomeMessage;
  /** A DIFF, already applied to `GameClient.world`. */
  diff: DiffMessage;
  chat: ChatMessage;
  /** A PONG: the round trip it measured. */
  pong: { rttMs: number; serverTime: number };
  /** An ERROR frame (before a close it explains, or a refusal that keeps the session). */
  serverError: ErrorMessage;
  rooms: RoomsMessage;
  /** The player is in another space now (the next DIFF is full). */
  travel: TravelMessage;
  redirect: { url: string };
  close: ClientClose;
  /** A reconnect attempt starts after `delayMs`. */
  reconnecting: { attempt: number; delayMs: number };
  /** The resume was refused: the client starts a new session with the login token. */
  sessionLost: { error: Error };
  /** Every reconnect attempt of an outage failed: the client stopped. */
  reconnectFailed: { attempts: number; error: Error };
  /** A login was refused with 429 and is retried after `waitMs`. */
  loginRetry: { waitMs: number };
  protocolError: ProtocolError;
}

/** A listener of event `K`. */
export type Listener<K extends keyof GameClientEvents> = (event: GameClientEvents[K]) => void;

/**
 * The listeners of one client, by event type.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * const events = new ClientEvents();
 * const seen: string[] = [];
 * const stop = events.on("redirect", ({ url }) => seen.push(url));
 * events.emit("redirect", { url: "ws://127.0.0.1:8081/ws" });
 * stop();
 * events.emit("redirect", { url: "ws://127.0.0.1:8082/ws" });
 * assert.deepEqual(seen, ["ws://127.0.0.1:8081/ws"]);
 * ```
 */
export class ClientEvents {
  #listeners = new Map<keyof GameClientEvents, Set<(event: never) => void>>();

  /** Listens to an event; returns the function that stops listening. */
  on<K extends keyof GameClientEvents>(type: K, listener: Listener<K>): () => void {
    let set = this.#listeners.get(type);
    if (!set) this.#listeners.set(type, set = new Set());
    set.add(listener as (event: never) => void);
    return () => set.delete(listener as (event: never) => void);
  }

  /** Calls every listener of `type`, in the order they were added. */
  emit<K extends keyof GameClientEvents>(type: K, event: GameClientEvents[K]): void {
    const set = this.#listeners.get(type);
    if (set) { for (const listener of set) (listener as Listener<K>)(event); }
  }
}
