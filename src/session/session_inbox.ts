// What a client's frames do once the hub has a session for its socket: decode and validate each
// frame (BAD_INPUT is answered and the session goes on, any other bad frame closes it), the
// frame and chat rate limits, HELLO to the handshake, INPUT to the worker that last reported
// the player, CHAT to the listeners on this gateway and to the relay, PING answered with PONG,
// rooms requests to RoomTravel. The sessions' lifecycle (accept, fail, close) stays in hub.ts.
import { chatMessage, hears, type RelayedChat } from "./chat_relay.ts";
import {
  type ClientMessage,
  CloseCode,
  decodeClientFrame,
  FrameError,
  Op,
  type ServerMessage,
} from "../protocol/client_protocol.ts";
import type { GatewayConfig } from "../config/config.ts";
import { CodedError, ErrorCode } from "../errors.ts";
import type { Logger } from "../observe/log.ts";
import type { ClientSession } from "./client_session.ts";
import type { Handshake } from "./handshake.ts";
import type { HubTransport } from "./hub_transport.ts";
import type { Timers } from "./timers.ts";
import type { RoomTravel } from "./room_travel.ts";

/** Counters the inbox keeps (shared with the hub). */
export interface InboxCounters {
  framesIn: number;
  badFrames: number;
  rateLimited: number;
}

/** Options of {@linkcode SessionInbox}. */
export interface SessionInboxOptions {
  config: GatewayConfig;
  /** Radius of the nearby chat channel (the world's AOI radius). */
  aoiRadius: number;
  transport: HubTransport;
  handshake: Handshake;
  rooms: RoomTravel;
  sessions: Map<string, ClientSession>;
  timers: Timers;
  log: Logger;
  counters: InboxCounters;
  send(session: ClientSession, message: ServerMessage): void;
  /** Sends ERROR with a stable code, then closes (the hub's fail). */
  fail(session: ClientSession, code: string, message: string, closeCode?: number): void;
  /** The client was heard from: it is not idle. */
  heard(session: ClientSession): void;
}

/** The handling of every frame a gateway's clients send. */
export class SessionInbox {
  #o: SessionInboxOptions;

  constructor(options: SessionInboxOptions) {
    this.#o = options;
  }

  /** One frame from the socket of `session`, as the WebSocket delivered it. */
  onFrame(session: ClientSession, data: unknown): void {
    if (session.state === "closed") return;
    this.#o.counters.framesIn++;
    if (!this.#allow(session, session.frames)) return;
    let message: ClientMessage;
    try {
      message = decodeClientFrame(data as Uint8Array | ArrayBuffer | string, {
        maxBytes: this.#o.config.maxFrameBytes,
      });
    } catch (error) {
      if (!(error instanceof FrameError)) throw error;
      this.#o.counters.badFrames++;
      if (error.code === ErrorCode.BAD_INPUT) {
        // Only the input is dropped; the session goes on (docs/protocol.md, INPUT).
        this.#o.send(session, { op: Op.ERROR, code: error.code, message: error.message });
        return;
      }
      this.#o.fail(session, error.code, error.message);
      return;
    }
    if (session.state === "live") this.#o.heard(session);
    else if (message.op !== Op.HELLO) {
      // Until WELCOME only HELLO is allowed (docs/protocol.md, "Handshake").
      this.#o.fail(session, ErrorCode.UNAUTHENTICATED, "Send HELLO and wait for WELCOME first");
      return;
    }
    switch (message.op) {
      case Op.HELLO:
        this.#hello(session, message);
        return;
      case Op.INPUT:
        if (!session.worker) return;
        if (message.seq <= session.lastSeq) return; // old or repeated
        session.lastSeq = message.seq;
        this.#o.transport.send(session.worker, {
          op: "input",
          entity: session.entity,
          conn: session.conn,
          input: {
            seq: message.seq,
            move: message.intent.move,
            action: message.intent.action,
            ...(message.intent.data != null ? { data: message.intent.data } : {}),
          },
        });
        return;
      case Op.CHAT: {
        if (!this.#allow(session, session.chats)) return;
        if (message.channel === "instance" && !session.room) {
          this.#o.send(session, {
            op: Op.ERROR,
            code: ErrorCode.NOT_ALLOWED,
            message: "Not in an instance: the instance channel is for players in one",
          });
          return;
        }
        const chat: RelayedChat = {
          gateway: this.#o.transport.gatewayId,
          channel: message.channel,
          instance: session.room?.row.id ?? "",
          from: session.name,
          text: message.text,
          time: this.#o.timers.now(),
          ...session.position,
        };
        this.deliver(chat);
        this.#o.transport.relay(chat);
        return;
      }
      case Op.PING:
        if (message.rtt !== undefined) session.rttMs = message.rtt;
        this.#o.send(session, { op: Op.PONG, t: message.t, serverTime: this.#o.timers.now() });
        return;
      default:
        this.#o.rooms.onRequest(session, message);
        return;
    }
  }

  /** A chat line, said here or relayed from another gateway, to every live session that hears it. */
  deliver(chat: RelayedChat): void {
    const line = chatMessage(chat);
    for (const session of this.#o.sessions.values()) {
      const listener = { position: session.position, instance: session.room?.row.id ?? "" };
      if (session.state === "live" && hears(listener, chat, this.#o.aoiRadius)) {
        this.#o.send(session, line);
      }
    }
  }

  #hello(session: ClientSession, message: ClientMessage & { op: typeof Op.HELLO }): void {
    if (session.state !== "hello") {
      this.#o.fail(
        session,
        ErrorCode.BAD_REQUEST,
        "HELLO was already received",
        CloseCode.POLICY_VIOLATION,
      );
      return;
    }
    session.state = "joining";
    this.#o.timers.clearTimeout(session.timer);
    (message.token !== undefined
      ? this.#o.handshake.join(session, message.token)
      : this.#o.handshake.resume(session, message.resumeToken!))
      .catch((error) => {
        const code = error instanceof CodedError ? error.code : ErrorCode.INTERNAL;
        if (!(error instanceof CodedError)) this.#o.log.error("hello.failed", { error });
        this.#o.fail(session, code, (error as Error).message);
      });
  }

  /** Token-bucket check; refusals past the strike limit close the connection. */
  #allow(session: ClientSession, bucket: ClientSession["frames"]): boolean {
    if (bucket.take()) return true;
    this.#o.counters.rateLimited++;
    const verdict = session.strikes.strike();
    if (verdict === "close") {
      this.#o.fail(session, ErrorCode.RATE_LIMITED, "Too many frames; closing");
    } else if (verdict === "warn") {
      this.#o.send(session, {
        op: Op.ERROR,
        code: ErrorCode.RATE_LIMITED,
        message: "Too many frames; some were dropped",
      });
    }
    return false;
  }
}
