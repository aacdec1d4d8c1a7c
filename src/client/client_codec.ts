// The client side of the protocol in client_protocol.ts: encodes client frames and strictly
// decodes server frames, for clients written in TypeScript (the SDK's GameClient, tests).
import {
  ChatChannel,
  type ChatMessage,
  type ClientMessage,
  type DecodeOptions,
  DEFAULT_MAX_SERVER_FRAME_BYTES,
  type DiffMessage,
  type ErrorMessage,
  type FrameFormat,
  MAX_CHAT_CHARS,
  MAX_NAME_CHARS,
  MAX_REF,
  MAX_SEQ,
  MAX_TOKEN_CHARS,
  Op,
  type PongMessage,
  PROTOCOL_VERSION,
  type RedirectMessage,
  type ServerMessage,
  type WelcomeMessage,
} from "../protocol/client_protocol.ts";
import { fail, frameFields, parseFrame } from "../protocol/frame_reader.ts";
import { describe, isEntityId, isFiniteNumber, isPlainObject } from "../protocol/input_reader.ts";
import { writeFrameMsgpack } from "../protocol/frame_msgpack_writer.ts";
import { readRoomAnswer } from "../protocol/room_frames.ts";

const {
  array,
  boolean,
  exactKeys,
  finite,
  integer,
  map,
  oneOf,
  positive,
  string,
  text,
  token: tokenText,
} = frameFields;

const CHANNELS: readonly ChatChannel[] = Object.values(ChatChannel);
const CODE = /^[A-Z][A-Z0-9_]{0,63}$/;

/**
 * Encodes one client message (for bots and tests; the gateway never sends these).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { decodeClientFrame, Op } from "../protocol/client_protocol.ts";
 * const ping = { op: Op.PING, t: 3 } as const;
 * assert.deepEqual(decodeClientFrame(encodeClientFrame(ping, "msgpack"), { maxBytes: 64 }), ping);
 * ```
 */
export function encodeClientFrame(message: ClientMessage, format: "msgpack"): Uint8Array;
export function encodeClientFrame(message: ClientMessage, format: "json"): string;
export function encodeClientFrame(
  message: ClientMessage,
  format: FrameFormat,
): Uint8Array | string;
export function encodeClientFrame(
  message: ClientMessage,
  format: FrameFormat,
): Uint8Array | string {
  return format === "json" ? JSON.stringify(message) : writeFrameMsgpack(message);
}

/**
 * Decodes and validates one server frame, for clients written in TypeScript (bots, tests).
 * Throws only {@linkcode FrameError}.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { encodeServerFrame, Op } from "../protocol/client_protocol.ts";
 * const frame = encodeServerFrame({ op: Op.PONG, t: 5, serverTime: 1000 }, "msgpack");
 * assert.deepEqual(decodeServerFrame(frame), { op: Op.PONG, t: 5, serverTime: 1000 });
 * ```
 */
export function decodeServerFrame(
  data: Uint8Array | ArrayBuffer | string,
  options: Partial<DecodeOptions> = {},
): ServerMessage {
  const raw = parseFrame(data, options.maxBytes ?? DEFAULT_MAX_SERVER_FRAME_BYTES);
  switch (raw.op) {
    case Op.WELCOME: {
      exactKeys(raw, "WELCOME", [
        "op",
        "protocol",
        "session",
        "entity",
        "resumeToken",
        "resumeGraceMs",
        "resumed",
        "world",
        "tickHz",
        "snapshotHz",
        "aoiRadius",
      ]);
      if (raw.protocol !== PROTOCOL_VERSION) {
        fail(`WELCOME.protocol must be ${PROTOCOL_VERSION}, got ${describe(raw.protocol)}`);
      }
      text(raw.session, "WELCOME.session", 1, 128);
      integer(raw.entity, "WELCOME.entity");
      tokenText(raw.resumeToken, "WELCOME.resumeToken", MAX_TOKEN_CHARS);
      integer(raw.resumeGraceMs, "WELCOME.resumeGraceMs");
      boolean(raw.resumed, "WELCOME.resumed");
      const world = map(raw.world, "WELCOME.world");
      exactKeys(world, "WELCOME.world", ["dims", "size", "cellSize"]);
      const dims = integer(world.dims, "WELCOME.world.dims", 2, 3);
      const size = array(world.size, "WELCOME.world.size", dims, dims);
      size.forEach((extent, axis) => positive(extent, `WELCOME.world.size[${axis}]`));
      positive(world.cellSize, "WELCOME.world.cellSize");
      positive(raw.tickHz, "WELCOME.tickHz");
      positive(raw.snapshotHz, "WELCOME.snapshotHz");
      positive(raw.aoiRadius, "WELCOME.aoiRadius");
      return raw as unknown as WelcomeMessage;
    }
    case Op.DIFF: {
      exactKeys(raw, "DIFF", ["op", "tick", "ack", "enter", "update", "leave"], ["full"]);
      integer(raw.tick, "DIFF.tick");
      integer(raw.ack, "DIFF.ack", 0, MAX_SEQ);
      if (Object.hasOwn(raw, "full")) boolean(raw.full, "DIFF.full");
      // Each record is checked without naming it first: a name is built only for the error.
      const enter = array(raw.enter, "DIFF.enter", 0, Infinity);
      for (let n = 0; n < enter.length; n++) {
        if (!validRecord(enter[n], true)) readRecord(enter[n], `DIFF.enter[${n}]`, true);
      }
      const update = array(raw.update, "DIFF.update", 0, Infinity);
      for (let n = 0; n < update.length; n++) {
        if (!validRecord(update[n], false)) readRecord(update[n], `DIFF.update[${n}]`, false);
      }
      const leave = array(raw.leave, "DIFF.leave", 0, Infinity);
      for (let n = 0; n < leave.length; n++) {
        if (!isEntityId(leave[n])) integer(leave[n], `DIFF.leave[${n}]`);
      }
      return raw as unknown as DiffMessage;
    }
    case Op.CHAT:
      exactKeys(raw, "CHAT", ["op", "from", "channel", "text", "time"]);
      text(raw.from, "CHAT.from", 1, MAX_NAME_CHARS);
      oneOf(raw.channel, "CHAT.channel", CHANNELS);
      text(raw.text, "CHAT.text", 1, MAX_CHAT_CHARS);
      integer(raw.time, "CHAT.time");
      return raw as unknown as ChatMessage;
    case Op.PONG:
      exactKeys(raw, "PONG", ["op", "t", "serverTime"]);
      finite(raw.t, "PONG.t");
      finite(raw.serverTime, "PONG.serverTime");
      return raw as unknown as PongMessage;
    case Op.ROOMS:
    case Op.TRAVEL:
      return readRoomAnswer(raw);
    case Op.ERROR:
      exactKeys(raw, "ERROR", ["op", "code", "message"], ["ref"]);
      if (raw.ref !== undefined) integer(raw.ref, "ERROR.ref", 0, MAX_REF);
      if (typeof raw.code !== "string" || !CODE.test(raw.code)) {
        fail(`ERROR.code must be an upper-case code, got ${describe(raw.code)}`);
      }
      string(raw.message, "ERROR.message");
      return raw as unknown as ErrorMessage;
    case Op.REDIRECT: {
      exactKeys(raw, "REDIRECT", ["op", "url"]);
      const url = text(raw.url, "REDIRECT.url", 1, 2048);
      if (!/^wss?:\/\/[^\s/]+\/ws$/.test(url)) {
        fail(`REDIRECT.url must be a ws:// or wss:// gateway URL, got ${describe(url)}`);
      }
      return raw as unknown as RedirectMessage;
    }
    default:
      return fail(
        `op must be 3 (CHAT), 5 (WELCOME), 6 (DIFF), 7 (PONG), 8 (ERROR), 14 (ROOMS), 15 (TRAVEL) or 16 (REDIRECT), got ${
          describe(raw.op)
        }`,
      );
  }
}

/** A type any record may carry: 1..64 printable ASCII characters (text() accepts them all). */
const PLAIN_TYPE = /^[\x20-\x7e]{1,64}$/;

/**
 * True when `value` is surely a valid enter (or update) record, as {@linkcode readRecord} would
 * find it: the common case, checked without building a field name. False means "not sure":
 * readRecord then checks it again, naming what is wrong.
 */
function validRecord(value: unknown, enter: boolean): boolean {
  if (!Array.isArray(value)) return false;
  const base = enter ? 5 : 4, length = value.length;
  if (length !== base && length !== base + 1) return false;
  if (!isEntityId(value[0])) return false;
  if (enter && (typeof value[1] !== "string" || !PLAIN_TYPE.test(value[1]))) return false;
  if (
    !isFiniteNumber(value[base - 3]) || !isFiniteNumber(value[base - 2]) ||
    !isFiniteNumber(value[base - 1])
  ) return false;
  return length === base || isPlainObject(value[base]);
}

function readRecord(value: unknown, what: string, enter: boolean): void {
  const base = enter ? 5 : 4;
  const record = array(value, what, base, base + 1);
  integer(record[0], `${what}.id`);
  if (enter) text(record[1], `${what}.type`, 1, 64);
  finite(record[base - 3], `${what}.x`);
  finite(record[base - 2], `${what}.y`);
  finite(record[base - 1], `${what}.z`);
  if (record.length > base) map(record[base], `${what}.data`);
}
