// Chat lines relayed between gateways through the coordinator (no external broker): encoding
// and strict validation of what another gateway sends.
import { decodePeerMap, failPeer, peerFields, peerString as str } from "../protocol/peer_reader.ts";
import { MAX_CHAT_CHARS } from "../protocol/client_protocol.ts";
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
