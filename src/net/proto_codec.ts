// The contract, read at run time: proto/zonescaler.proto parsed by protobufjs into the three
// services' methods (path, streaming kind) and one encoder/decoder per message type, with the
// field conventions call sites rely on (camelCase names, numbers for 64-bit ints, defaults).
import protobuf from "protobufjs";
import { RpcError, status } from "./grpc_status.ts";

/** The services of proto/zonescaler.proto. */
export type ServiceName = "Coordinator" | "Peer" | "Sessions";

/** Encodes and decodes one message type. */
export interface MessageCodec {
  name: string;
  encode(message: unknown): Uint8Array;
  /** Throws an {@linkcode RpcError} (INVALID_ARGUMENT) for bytes that are not this message. */
  decode(bytes: Uint8Array): unknown;
}

/** One RPC method of a service. */
export interface MethodDescriptor {
  service: ServiceName;
  name: string;
  /** HTTP/2 path: `/zonescaler.Peer/Sync`. */
  path: string;
  requestStream: boolean;
  responseStream: boolean;
  request: MessageCodec;
  response: MessageCodec;
}

const PROTO_PATH = `${import.meta.dirname}/../../proto/zonescaler.proto`;
const PACKAGE = "zonescaler";
const TO_OBJECT: protobuf.IConversionOptions = {
  longs: Number,
  enums: String,
  defaults: true,
  arrays: true,
};

let root: protobuf.Root | undefined;
const services = new Map<ServiceName, MethodDescriptor[]>();

/** The parsed proto, loaded once per isolate. */
export function protoRoot(): protobuf.Root {
  root ??= new protobuf.Root().loadSync(PROTO_PATH, { keepCase: false });
  return root;
}

function codecOf(type: protobuf.Type): MessageCodec {
  const general = generalCodecOf(type);
  const only = type.fieldsArray;
  return only.length === 1 && only[0].id === 1 && only[0].type === "bytes" && !only[0].repeated
    ? bytesCodecOf(general, only[0].name)
    : general;
}

/**
 * The codec of a message whose only field is `bytes <name> = 1` (Peer.Sync's Batch, Sessions'
 * SessionMessage: one per peer per tick), by hand: a tag byte, a varint length and the bytes, as
 * protobufjs writes them, without building a message object and a writer for each. Decoding
 * anything but that exact shape (unknown fields, a repeated field) falls back to protobufjs.
 */
function bytesCodecOf(general: MessageCodec, name: string): MessageCodec {
  return {
    name: general.name,
    encode: (message) => {
      const bytes = (message as Record<string, unknown> | null)?.[name];
      if (!(bytes instanceof Uint8Array)) return general.encode(message);
      const length = bytes.byteLength;
      let header = 2;
      for (let rest = length >>> 7; rest > 0; rest >>>= 7) header++;
      const out = new Uint8Array(header + length);
      out[0] = 0x0a; // field 1, length-delimited
      let at = 1;
      let rest = length;
      while (rest >= 0x80) {
        out[at++] = (rest & 0x7f) | 0x80;
        rest >>>= 7;
      }
      out[at++] = rest;
      out.set(bytes, at);
      return out;
    },
    decode: (bytes) => {
      if (bytes.byteLength === 0) return { [name]: new Uint8Array(0) };
      if (bytes[0] === 0x0a) {
        let length = 0, shift = 0, at = 1;
        for (; at < bytes.byteLength && at <= 5; at++) {
          const byte = bytes[at];
          length += (byte & 0x7f) * 2 ** shift;
          shift += 7;
          if (byte < 0x80) {
            // The one field, exactly: hand out a view (the frame reader's bytes are its own).
            if (at + 1 + length === bytes.byteLength) {
              return { [name]: bytes.subarray(at + 1) };
            }
            break;
          }
        }
      }
      return general.decode(bytes);
    },
  };
}

function generalCodecOf(type: protobuf.Type): MessageCodec {
  return {
    name: type.fullName.replace(/^\./, ""),
    encode: (message) => {
      if (typeof message !== "object" || message === null) {
        throw new TypeError(`Cannot encode ${type.name}: expected an object, got ${message}`);
      }
      return type.encode(type.fromObject(message as Record<string, unknown>)).finish();
    },
    decode: (bytes) => {
      try {
        return type.toObject(type.decode(bytes), TO_OBJECT);
      } catch (error) {
        throw new RpcError(
          status.INVALID_ARGUMENT,
          `Cannot decode ${type.name}: ${(error as Error).message}`,
          { cause: error },
        );
      }
    },
  };
}

/** The methods of a service, in proto order. */
export function serviceMethods(service: ServiceName): MethodDescriptor[] {
  let methods = services.get(service);
  if (!methods) {
    const definition = protoRoot().lookupService(`${PACKAGE}.${service}`);
    methods = definition.methodsArray.map((m) => {
      m.resolve();
      return {
        service,
        name: m.name,
        path: `/${PACKAGE}.${service}/${m.name}`,
        requestStream: m.requestStream === true,
        responseStream: m.responseStream === true,
        request: codecOf(m.resolvedRequestType!),
        response: codecOf(m.resolvedResponseType!),
      };
    });
    services.set(service, methods);
  }
  return methods;
}

/** The codec of a message type by its name in the proto (`"Batch"`). */
export function messageCodec(name: string): MessageCodec {
  return codecOf(protoRoot().lookupType(`${PACKAGE}.${name}`));
}

const files = new Map<string, protobuf.Root>();

/**
 * The codec of a message type of another file under proto/ (for services outside the cluster's
 * own, like `game_logic.proto`), by its full name (`"zonescaler.logic.TickIn"`).
 */
export function protoFileCodec(file: string, name: string): MessageCodec {
  let fileRoot = files.get(file);
  if (!fileRoot) {
    fileRoot = new protobuf.Root().loadSync(`${import.meta.dirname}/../../proto/${file}`, {
      keepCase: false,
    });
    files.set(file, fileRoot);
  }
  return codecOf(fileRoot.lookupType(name));
}
