// The client WebSocket protocol (docs/protocol.md): op ids, close codes, limits, the strict
// decoder of every frame and the one-shot encoder, msgpack (binary) or JSON (text). The frames'
// types are in client_messages.ts, re-exported here so this module stays the one entry point.
import { CodedError, ErrorCode } from "../errors.ts";
import { fail, FrameError, frameFields, parseFrame } from "./frame_reader.ts";
import { describe } from "./input_reader.ts";
import { type FrameArena, type SharedArrays, writeFrameMsgpack } from "./frame_msgpack_writer.ts";
import { isRoomRequestOp, readRoomRequest, RoomOp } from "./room_frames.ts";
import type {
  ChatSendMessage,
  ClientMessage,
  HelloMessage,
  InputMessage,
  PingMessage,
  ServerMessage,
} from "./client_messages.ts";
export * from "./room_frames.ts";
export type * from "./client_messages.ts";

const { array, exactKeys, finite, integer, map, oneOf, text, token: tokenText } = frameFields;

export { FrameError, type FrameErrorCode } from "./frame_reader.ts";
import { checkInputData } from "./input_data.ts";
export { MAX_INPUT_DATA_BYTES } from "./input_data.ts";

/** Version of this protocol; a HELLO of another version is refused with UNSUPPORTED_PROTOCOL. */
export const PROTOCOL_VERSION = 1;

/**
 * Frame op ids, the `op` field of every frame. Client→server: HELLO, INPUT, CHAT, PING;
 * server→client: WELCOME, DIFF, CHAT, PONG, ERROR (CHAT is used both ways).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * assert.equal(Op.INPUT, 2);
 * ```
 */
export const Op = {
  HELLO: 1,
  INPUT: 2,
  CHAT: 3,
  PING: 4,
  WELCOME: 5,
  DIFF: 6,
  PONG: 7,
  ERROR: 8,
  ...RoomOp,
  /** Server: go to this gateway and resume there (a deploy replaces this gateway's version). */
  REDIRECT: 16,
} as const;
/** One of the op ids in {@linkcode Op}. */
export type Op = typeof Op[keyof typeof Op];

/**
 * WebSocket close codes: the standard ones we use and our own 4000-range codes, each of which
 * follows an ERROR frame with the matching {@linkcode ErrorCode} (see {@linkcode closeCodeFor}).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * assert.equal(CloseCode.TOO_BIG, 1009);
 * ```
 */
export const CloseCode = {
  NORMAL: 1000,
  /** The gateway is shutting down or draining: reconnect elsewhere and resume. */
  GOING_AWAY: 1001,
  /** A malformed frame (BAD_FRAME). */
  BAD_DATA: 1007,
  /** A valid frame at the wrong time, e.g. a second HELLO. */
  POLICY_VIOLATION: 1008,
  TOO_BIG: 1009,
  INTERNAL: 1011,
  UNAUTHENTICATED: 4001,
  RESUME_FAILED: 4002,
  IDLE_TIMEOUT: 4003,
  SLOW_CONSUMER: 4004,
  RATE_LIMITED: 4005,
  SESSION_TAKEN_OVER: 4006,
  UNSUPPORTED_PROTOCOL: 4007,
  /** The world stopped sending the player's state (its worker failed): resume. */
  WORLD_STALLED: 4008,
  /** An operator ended the session: do not reconnect on your own. */
  KICKED: 4009,
} as const;
/** Largest round trip a PING may report (`rtt`), ms. */
export const MAX_REPORTED_RTT_MS = 600_000;
/** One of the close codes in {@linkcode CloseCode}. */
export type CloseCode = typeof CloseCode[keyof typeof CloseCode];

const CLOSE_FOR: Partial<Record<ErrorCode, CloseCode>> = {
  BAD_FRAME: CloseCode.BAD_DATA,
  BAD_REQUEST: CloseCode.POLICY_VIOLATION,
  TOO_BIG: CloseCode.TOO_BIG,
  UNAUTHENTICATED: CloseCode.UNAUTHENTICATED,
  TOKEN_EXPIRED: CloseCode.UNAUTHENTICATED,
  RESUME_FAILED: CloseCode.RESUME_FAILED,
  IDLE_TIMEOUT: CloseCode.IDLE_TIMEOUT,
  SLOW_CONSUMER: CloseCode.SLOW_CONSUMER,
  RATE_LIMITED: CloseCode.RATE_LIMITED,
  SESSION_TAKEN_OVER: CloseCode.SESSION_TAKEN_OVER,
  UNSUPPORTED_PROTOCOL: CloseCode.UNSUPPORTED_PROTOCOL,
  WORLD_STALLED: CloseCode.WORLD_STALLED,
  KICKED: CloseCode.KICKED,
};

/**
 * The close code that ends a connection after an ERROR frame with `code`; codes that are not
 * about the connection itself map to INTERNAL (1011).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * assert.equal(closeCodeFor("SLOW_CONSUMER"), 4004);
 * assert.equal(closeCodeFor("TOKEN_EXPIRED"), 4001);
 * ```
 */
export function closeCodeFor(code: ErrorCode): CloseCode {
  return CLOSE_FOR[code] ?? CloseCode.INTERNAL;
}

/** Chat channels a client can send to (`instance`: everyone in the sender's instance). */
export const ChatChannel = { GLOBAL: "global", NEARBY: "nearby", INSTANCE: "instance" } as const;
/** One of the channels in {@linkcode ChatChannel}. */
export type ChatChannel = typeof ChatChannel[keyof typeof ChatChannel];
const CHANNELS: readonly ChatChannel[] = Object.values(ChatChannel);

/** Frame encoding of a connection: binary msgpack, or text JSON with `?format=json`. */
export type FrameFormat = "msgpack" | "json";

/** Default limit on a client frame, in bytes (UTF-8 bytes for text frames). */
export const DEFAULT_MAX_FRAME_BYTES = 8192;
/** Default limit on a server frame accepted by `decodeServerFrame` (client_codec.ts). */
export const DEFAULT_MAX_SERVER_FRAME_BYTES = 4 * 1024 * 1024;
/** Largest input sequence number (uint32); 0 means "no input yet" in DIFF.ack. */
export const MAX_SEQ = 0xffff_ffff;
/** Longest chat text, in Unicode code points. */
export const MAX_CHAT_CHARS = 500;
/** Longest display name, in Unicode code points. */
export const MAX_NAME_CHARS = 32;
/** Longest token or resume token, in characters. */
export const MAX_TOKEN_CHARS = 1024;
const ACTION = /^[A-Za-z0-9_.:-]{1,32}$/;

// ---- decoding ---------------------------------------------------------------------------------

/** Options of the frame decoders. */
export interface DecodeOptions {
  /** Frames longer than this are refused with TOO_BIG. */
  maxBytes: number;
}

/**
 * Decodes and fully validates one client frame: bytes (Uint8Array, or the ArrayBuffer a Deno
 * WebSocket delivers) are msgpack, text is JSON; either is accepted whatever the connection's
 * format. Throws only {@linkcode FrameError}: TOO_BIG over `maxBytes`, UNSUPPORTED_PROTOCOL for
 * a HELLO of another version, BAD_FRAME for anything else that is not exactly one of the client
 * messages. The result is the decoded value itself, validated, not a copy.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * const input = decodeClientFrame('{"op":2,"seq":7,"intent":{"move":[1,0]}}', { maxBytes: 8192 });
 * assert.deepEqual(input, { op: Op.INPUT, seq: 7, intent: { move: [1, 0] } });
 * assert.throws(
 *   () => decodeClientFrame('{"op":2,"seq":7,"intent":{"move":[2,0]}}', { maxBytes: 8192 }),
 *   /INPUT.intent.move\[0\] must be a number in -1..1, got 2/,
 * );
 * ```
 */
export function decodeClientFrame(
  data: Uint8Array | ArrayBuffer | string,
  options: DecodeOptions,
): ClientMessage {
  const raw = parseFrame(data, options.maxBytes);
  switch (raw.op) {
    case Op.HELLO:
      return readHello(raw);
    case Op.INPUT: {
      exactKeys(raw, "INPUT", ["op", "seq", "intent"]);
      integer(raw.seq, "INPUT.seq", 1, MAX_SEQ);
      const intent = map(raw.intent, "INPUT.intent");
      exactKeys(intent, "INPUT.intent", ["move"], ["action", "data"]);
      const move = array(intent.move, "INPUT.intent.move", 2, 3);
      for (let axis = 0; axis < move.length; axis++) {
        finite(move[axis], `INPUT.intent.move[${axis}]`, -1, 1);
      }
      const action = intent.action;
      if (Object.hasOwn(intent, "action") && (typeof action !== "string" || !ACTION.test(action))) {
        fail(
          `INPUT.intent.action must be 1..32 characters of A-Z a-z 0-9 _ . : -, got ${
            describe(action)
          }`,
        );
      }
      // Last, so BAD_INPUT (the session goes on) only ever refuses an otherwise valid INPUT.
      if (intent.data !== undefined && intent.data !== null) checkInputData(intent.data);
      return raw as unknown as InputMessage;
    }
    case Op.CHAT:
      exactKeys(raw, "CHAT", ["op", "channel", "text"]);
      oneOf(raw.channel, "CHAT.channel", CHANNELS);
      text(raw.text, "CHAT.text", 1, MAX_CHAT_CHARS);
      return raw as unknown as ChatSendMessage;
    case Op.PING:
      exactKeys(raw, "PING", ["op", "t"], ["rtt"]);
      finite(raw.t, "PING.t");
      if (raw.rtt !== undefined) finite(raw.rtt, "PING.rtt", 0, MAX_REPORTED_RTT_MS);
      return raw as unknown as PingMessage;
    default:
      if (isRoomRequestOp(raw.op)) return readRoomRequest(raw);
      return fail(
        `op must be 1 (HELLO), 2 (INPUT), 3 (CHAT), 4 (PING) or 9..13 (rooms), got ${
          describe(raw.op)
        }`,
      );
  }
}

function readHello(raw: Record<string, unknown>): HelloMessage {
  // The version comes first, so a client of another version learns that, not a field error.
  if (!Object.hasOwn(raw, "protocol")) fail(`HELLO is missing the field "protocol"`);
  if (raw.protocol !== PROTOCOL_VERSION) {
    throw new FrameError(
      ErrorCode.UNSUPPORTED_PROTOCOL,
      `Cannot accept HELLO: protocol ${
        describe(raw.protocol)
      } is not supported, this server speaks ${PROTOCOL_VERSION}`,
    );
  }
  exactKeys(raw, "HELLO", ["op", "protocol"], ["token", "resumeToken"]);
  const hasToken = Object.hasOwn(raw, "token");
  if (hasToken === Object.hasOwn(raw, "resumeToken")) {
    fail(`HELLO must carry exactly one of "token" and "resumeToken"`);
  }
  const what = hasToken ? "HELLO.token" : "HELLO.resumeToken";
  tokenText(hasToken ? raw.token : raw.resumeToken, what, MAX_TOKEN_CHARS);
  return raw as unknown as HelloMessage;
}

// ---- encoding ---------------------------------------------------------------------------------

/**
 * Encodes one server message for a connection's format. Encode a message once and send the
 * result; optional fields that are undefined are left out (msgpack has no undefined). In
 * msgpack, the arrays in `shared` (rows many clients' DIFFs list) are encoded once, and with
 * an `arena` the frame is a view into it (frame_msgpack_writer.ts) instead of a buffer of its own.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * const pong = { op: Op.PONG, t: 1, serverTime: 2 } as const;
 * assert.equal(encodeServerFrame(pong, "json"), '{"op":7,"t":1,"serverTime":2}');
 * assert.ok(encodeServerFrame(pong, "msgpack") instanceof Uint8Array);
 * ```
 */
export function encodeServerFrame(
  message: ServerMessage,
  format: "msgpack",
  shared?: SharedArrays,
  arena?: FrameArena,
): Uint8Array;
export function encodeServerFrame(message: ServerMessage, format: "json"): string;
export function encodeServerFrame(
  message: ServerMessage,
  format: FrameFormat,
  shared?: SharedArrays,
  arena?: FrameArena,
): Uint8Array | string;
export function encodeServerFrame(
  message: ServerMessage,
  format: FrameFormat,
  shared?: SharedArrays,
  arena?: FrameArena,
): Uint8Array | string {
  let wire: ServerMessage = message;
  if (message.op === Op.DIFF) {
    const { tick, ack, enter, update, leave } = message;
    wire = message.full
      ? { op: Op.DIFF, tick, ack, full: true, enter, update, leave }
      : { op: Op.DIFF, tick, ack, enter, update, leave };
  }
  return format === "json" ? JSON.stringify(wire) : writeFrameMsgpack(wire, shared, arena);
}

/**
 * The frame format asked for by the `format` query parameter of `/ws`: absent or "msgpack"
 * → msgpack, "json" → json. Anything else is a BAD_REQUEST (answer HTTP 400, do not upgrade).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * assert.equal(frameFormatOf(new URL("ws://h/ws?format=json")), "json");
 * assert.equal(frameFormatOf(new URL("ws://h/ws")), "msgpack");
 * ```
 */
export function frameFormatOf(url: URL): FrameFormat {
  const format = url.searchParams.get("format");
  if (format === null || format === "msgpack") return "msgpack";
  if (format === "json") return "json";
  throw new CodedError(
    ErrorCode.BAD_REQUEST,
    `Cannot open a session: format must be "msgpack" or "json", got ${describe(format)}`,
  );
}
