// The names call sites use as `grpc.*` (status codes, Metadata, the call types), kept from the
// grpc-js days so roles and links read the same on the hand-written transport of src/net/.
import type { ClientCall, RpcClient } from "./rpc_client.ts";
import type { ServerCall, UnaryCallback } from "./rpc_server.ts";
import type { RpcError, StatusObject } from "./grpc_status.ts";

export { Metadata } from "./call_metadata.ts";
export { status } from "./grpc_status.ts";
export type { StatusObject } from "./grpc_status.ts";

/** A client of one service. */
export type Client = RpcClient;
/** The error of a failed call. */
export type ServiceError = RpcError;
/** A bidi call, client side. */
export type ClientDuplexStream<Req, Res> = ClientCall<Req, Res>;
/** A server-streaming call, client side. */
export type ClientReadableStream<Res> = ClientCall<unknown, Res>;
/** A bidi call, server side. */
export type ServerDuplexStream<Req, Res> = ServerCall<Req, Res>;
/** A server-streaming call, server side. */
export type ServerWritableStream<Req, Res> = ServerCall<Req, Res>;
/** A unary call, server side. */
export type ServerUnaryCall<Req, Res> = ServerCall<Req, Res>;
/** The callback of a unary handler. */
export type sendUnaryData<Res> = UnaryCallback<Res>;
/** A status a handler passes to its callback or emits as "error". */
export type PartialStatus = Partial<StatusObject>;
