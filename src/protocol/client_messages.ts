// The shapes of the client protocol's frames (docs/protocol.md), both ways: what a client sends
// (HELLO, INPUT, CHAT, PING, rooms requests) and what the server sends (WELCOME, DIFF, CHAT,
// PONG, ERROR, rooms answers, REDIRECT). Types only; the ids, limits, decoder and encoder that
// use them are in client_protocol.ts, which re-exports these.
import type { EntityData } from "../world/entity.ts";
import type { ChatChannel, Op, PROTOCOL_VERSION } from "./client_protocol.ts";
import type { RoomRequest, RoomsMessage, TravelMessage } from "./room_frames.ts";

// ---- client → server -------------------------------------------------------------------------

/** First frame of a connection: log in with a token or resume a session (exactly one). */
export type HelloMessage =
  | { op: typeof Op.HELLO; protocol: typeof PROTOCOL_VERSION; token: string; resumeToken?: never }
  | { op: typeof Op.HELLO; protocol: typeof PROTOCOL_VERSION; resumeToken: string; token?: never };

/** Movement intent per axis in -1..1: [dx, dy] or [dx, dy, dz]. */
export type Move = [number, number] | [number, number, number];

/** A player's intent, numbered by a strictly increasing `seq` in 1..2^32-1. */
export interface InputMessage {
  op: typeof Op.INPUT;
  seq: number;
  /** `data`: an application payload for the game's onInput (src/protocol/input_data.ts). */
  intent: { move: Move; action?: string; data?: unknown };
}

/** A chat line from a client. */
export interface ChatSendMessage {
  op: typeof Op.CHAT;
  channel: ChatChannel;
  text: string;
}

/** A round-trip probe; `t` is echoed back in PONG; `rtt`: the client's last round trip, ms. */
export interface PingMessage {
  op: typeof Op.PING;
  t: number;
  rtt?: number;
}

/** Any frame a client sends. */
export type ClientMessage =
  | HelloMessage
  | InputMessage
  | ChatSendMessage
  | PingMessage
  | RoomRequest;

// ---- server → client -------------------------------------------------------------------------

/** Shape of the world: `size` has one extent per axis. */
export interface WorldBounds {
  dims: 2 | 3;
  size: number[];
  cellSize: number;
}

/** Answer to HELLO: the session is live. */
export interface WelcomeMessage {
  op: typeof Op.WELCOME;
  protocol: typeof PROTOCOL_VERSION;
  session: string;
  /** Id of the player's own entity. */
  entity: number;
  /** Use once, in a HELLO on a new connection, to get this session back. */
  resumeToken: string;
  /** How long after a disconnect the resume token still works. */
  resumeGraceMs: number;
  /** True when this connection took over an existing session. */
  resumed: boolean;
  world: WorldBounds;
  tickHz: number;
  /** DIFFs per second: every tickHz/snapshotHz-th tick (equal to tickHz: every tick). */
  snapshotHz: number;
  aoiRadius: number;
}

/** An entity coming into view; `data` is omitted when empty. */
export type EnterRecord = [
  id: number,
  type: string,
  x: number,
  y: number,
  z: number,
  data?: EntityData,
];
/** A visible entity's new position; `data`, when present, replaces its data. */
export type UpdateRecord = [id: number, x: number, y: number, z: number, data?: EntityData];

/**
 * What changed in the player's area of interest at `tick`. With `full`, `enter` lists
 * everything visible and the client drops every entity it knew that is not listed.
 */
export interface DiffMessage {
  op: typeof Op.DIFF;
  tick: number;
  /** Highest input seq applied so far; 0 before the first. */
  ack: number;
  full?: boolean;
  enter: EnterRecord[];
  update: UpdateRecord[];
  leave: number[];
}

/** A chat line delivered to a client; `time` in ms since the Unix epoch. */
export interface ChatMessage {
  op: typeof Op.CHAT;
  from: string;
  channel: ChatChannel;
  text: string;
  time: number;
}

/** Answer to PING; `serverTime` in ms since the Unix epoch. */
export interface PongMessage {
  op: typeof Op.PONG;
  t: number;
  serverTime: number;
}

/** Something went wrong; `code` is an {@linkcode ErrorCode}, `message` is for humans. */
export interface ErrorMessage {
  op: typeof Op.ERROR;
  code: string;
  message: string;
  /** The `ref` of the rooms request it refuses (rooms errors never close the connection). */
  ref?: number;
}

/**
 * The gateway hands the session over (a deploy drains its version): the connection closes
 * with 1001 next; resume with the resume token at `url` (a gateway's `ws://` or `wss://` URL).
 */
export interface RedirectMessage {
  op: typeof Op.REDIRECT;
  url: string;
}

/** Any frame the server sends. */
export type ServerMessage =
  | WelcomeMessage
  | DiffMessage
  | ChatMessage
  | PongMessage
  | ErrorMessage
  | RoomsMessage
  | TravelMessage
  | RedirectMessage;
