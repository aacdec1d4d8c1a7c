// The gateway's chat relay stream to the coordinator: what this gateway's players say on a
// cluster-wide channel goes up, what other gateways' players say comes down to the hub; a
// broken stream is reopened after a second until the gateway closes.
import { encodeRelay, type RelayedChat, relayFrom } from "./chat_relay.ts";
import { ErrorCode } from "../errors.ts";
import type { Logger } from "../observe/log.ts";
import { NODE_METADATA } from "../sync/peer_links.ts";
import { grpc } from "../net/rpc.ts";

type RelayStream = grpc.ClientDuplexStream<{ payload: Uint8Array }, { payload: Uint8Array }>;

/** Options of {@linkcode CoordinatorRelay}. */
export interface CoordinatorRelayOptions {
  /** The gateway's id (sent as node metadata). */
  id: string;
  /** The coordinator's gRPC client followed now (of a pair, the active one; its Relay method). */
  coordinator(): unknown;
  log: Logger;
  /** A line from another gateway. */
  onChat(chat: RelayedChat): void;
  /** Counts a refused line (metrics). */
  countError(code: ErrorCode): void;
  /** Wait before reopening a broken stream (default 1 s). */
  retryMs?: number;
}

/** One relay stream, kept open. */
export class CoordinatorRelay {
  #o: CoordinatorRelayOptions;
  #call?: RelayStream;
  #closed = false;
  #retry?: ReturnType<typeof setTimeout>;

  constructor(options: CoordinatorRelayOptions) {
    this.#o = options;
    this.#open();
  }

  /** Sends a line to every other gateway (dropped while the stream is down). */
  write(chat: RelayedChat): void {
    this.#call?.write({ payload: encodeRelay(chat) });
  }

  close(): void {
    this.#closed = true;
    clearTimeout(this.#retry);
    this.#call?.cancel();
    this.#call = undefined;
  }

  #open(): void {
    if (this.#closed) return;
    const o = this.#o;
    const metadata = new grpc.Metadata();
    metadata.set(NODE_METADATA, o.id);
    const call = (o.coordinator() as { Relay(m: grpc.Metadata): RelayStream }).Relay(metadata);
    this.#call = call;
    call.on("data", (message: { payload?: unknown }) => {
      try {
        o.onChat(relayFrom(message));
      } catch (error) {
        o.countError(ErrorCode.BAD_BATCH);
        o.log.warn("relay.rejected", { error });
      }
    });
    const lost = () => {
      if (this.#call !== call) return;
      this.#call = undefined;
      if (!this.#closed) this.#retry = setTimeout(() => this.#open(), this.#o.retryMs ?? 1_000);
    };
    call.on("error", lost);
    call.on("end", lost);
  }
}
