// Chat lines relayed between gateways through the coordinator (no external broker): encoding
// and strict validation of what another gateway sends, and who hears a line.
import { decodePeerMap, failPeer, peerFields, peerString as str } from "../protocol/peer_reader.ts";
import { MAX_CHAT_CHARS, Op, type ServerMessage } from "../protocol/client_protocol.ts";
import { encode } from "../protocol/msgpack.ts";

/**
 * A chat line as relayed: `nearby` lines carry the sender's position for distance filtering,
 * `instance` lines the sender's instance id (its players on every gateway get it).
 */
export interface RelayedChat {
  gateway: string;
  channel: "global" | "nearby" | "instance";
  /** The sender's instance ("" in the open world). */
  instance: string;
  from: string;
  text: string;
  time: number;
  x: number;
  y: number;
  z: number;
}

const CHANNELS = ["global", "nearby", "instance"] as const;

/** Encodes a chat line for the relay. */
export function encodeRelay(chat: RelayedChat): Uint8Array {
  return encode(chat);
}

/** Decodes a relayed chat line; throws BatchError (BAD_BATCH) for anything else. */
export function decodeRelay(bytes: Uint8Array): RelayedChat {
  const raw = decodePeerMap(bytes);
  const { finite } = peerFields;
  const channel = peerFields.oneOf(raw.channel, "channel", CHANNELS);
  return {
    gateway: str(raw.gateway, "gateway"),
    channel,
    instance: raw.instance === "" ? "" : str(raw.instance, "instance", 64),
    from: str(raw.from, "from", 64),
    text: str(raw.text, "text", MAX_CHAT_CHARS * 2),
    time: finite(raw.time, "time"),
    x: finite(raw.x, "x"),
    y: finite(raw.y, "y"),
    z: finite(raw.z, "z"),
  };
}

/** Decodes the payload of a relay stream message; throws BatchError (BAD_BATCH) without one. */
export function relayFrom(message: { payload?: unknown } | undefined): RelayedChat {
  if (!(message?.payload instanceof Uint8Array)) failPeer("relay message has no payload");
  return decodeRelay(message.payload);
}

/** The CHAT frame clients get for a line. */
export function chatMessage(chat: RelayedChat): ServerMessage {
  return { op: Op.CHAT, from: chat.from, channel: chat.channel, text: chat.text, time: chat.time };
}

/**
 * Whether a player at `position` in `instance` ("" in the open world) hears the line: every
 * `global` one; `instance` and `nearby` ones only within the sender's space, and a `nearby` one
 * only within `radius` (the AOI radius) of where it was said.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * const line = { gateway: "g1", from: "ada", text: "hi", time: 0, x: 0, y: 0, z: 0, instance: "" };
 * const at = (x: number, y: number, instance = "") => ({ position: { x, y, z: 0 }, instance });
 * assert.equal(hears(at(30, 40), { ...line, channel: "nearby" }, 50), true);
 * assert.equal(hears(at(30, 41), { ...line, channel: "nearby" }, 50), false);
 * assert.equal(hears(at(30, 40, "i1"), { ...line, channel: "nearby" }, 50), false);
 * assert.equal(hears(at(900, 0, "i1"), { ...line, channel: "global" }, 50), true);
 * assert.equal(hears(at(900, 0, "i1"), { ...line, channel: "instance", instance: "i1" }, 50), true);
 * ```
 */
export function hears(
  listener: { position: { x: number; y: number; z: number }; instance: string },
  chat: RelayedChat,
  radius: number,
): boolean {
  if (chat.channel === "global") return true;
  if (listener.instance !== chat.instance) return false;
  if (chat.channel !== "nearby") return true;
  const p = listener.position;
  return Math.hypot(p.x - chat.x, p.y - chat.y, p.z - chat.z) <= radius;
}
