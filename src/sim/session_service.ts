// The worker's end of the session link: one Sessions.Attach stream per gateway, which carries
// that gateway's per-tick report, and Sessions.Send calls whose commands go to the current
// space's players.
import { NODE_METADATA } from "../sync/peer_links.ts";
import { grpc } from "../net/rpc.ts";
import { decodeCommands, encodeReport } from "../session/session_wire.ts";
import type { GatewayCommand, WorkerReport } from "../session/session_messages.ts";
import type { Logger } from "../observe/log.ts";
import type { Space } from "./space.ts";

type SessionStream = grpc.ServerDuplexStream<{ payload: Uint8Array }, { payload: Uint8Array }>;
type SendCall = grpc.ServerUnaryCall<{ payload?: unknown }, { payload: Uint8Array }>;
type SendCallback = grpc.sendUnaryData<{ payload: Uint8Array }>;

const EMPTY = new Uint8Array(0);

/** Options of {@linkcode GatewayStreams}. */
export interface GatewayStreamsOptions {
  log: Logger;
  /** The space commands go to now (undefined before registration). */
  space: () => Space | undefined;
  /** Counts a refused command batch (metrics). */
  onRejected?: () => void;
  /** Takes a command meant for an instance hosted here; false leaves it to the world space. */
  route?: (gateway: string, command: GatewayCommand) => boolean;
  /**
   * A gateway's stream (re)attached: its players need a full DIFF, since reports written while
   * it had none (or lost with a failed one) never reached it.
   */
  onAttached?: (gateway: string) => void;
}

/** The gateways attached to this worker, by gateway id. */
export class GatewayStreams {
  #streams = new Map<string, SessionStream>();
  #options: GatewayStreamsOptions;

  constructor(options: GatewayStreamsOptions) {
    this.#options = options;
  }

  /** The Sessions service implementation (wrap it with requireSecret). */
  service(): {
    Attach(call: SessionStream): void;
    Send(call: SendCall, callback: SendCallback): void;
  } {
    return {
      Attach: (call) => this.#attach(call),
      Send: (call, callback) => this.#send(call, callback),
    };
  }

  /** Writes each gateway's report of the tick to its stream. */
  send(reports: Map<string, WorkerReport>): void {
    for (const [gateway, report] of reports) {
      this.#streams.get(gateway)?.write({ payload: encodeReport(report) });
    }
  }

  /** Ends every stream. */
  close(): void {
    for (const call of this.#streams.values()) call.end();
    this.#streams.clear();
  }

  /**
   * A gateway's command batch. Refused (UNAVAILABLE, the gateway sends it again) while that
   * gateway has no Attach stream here: the answers to its commands would have nowhere to go.
   */
  #send(call: SendCall, callback: SendCallback): void {
    const { log } = this.#options;
    let gateway = "";
    try {
      gateway = this.#apply(call.request?.payload, (from) => {
        if (!this.#streams.has(from) || !this.#options.space()) {
          throw new Unattached(from);
        }
      });
      callback(null, { payload: EMPTY });
    } catch (error) {
      if (error instanceof Unattached) {
        callback({ code: grpc.status.UNAVAILABLE, details: error.message });
        return;
      }
      this.#options.onRejected?.();
      log.error("commands.rejected", { gateway, error });
      callback({ code: grpc.status.INVALID_ARGUMENT, details: (error as Error).message });
    }
  }

  /**
   * Decodes a command batch and hands its commands to the space of this moment, once `check`
   * (which throws to refuse) accepts the gateway the batch names. Returns that gateway; throws
   * on a batch that does not decode.
   */
  #apply(payload: unknown, check: (gateway: string) => void): string {
    if (!(payload instanceof Uint8Array)) {
      throw new TypeError("Cannot accept commands: no payload");
    }
    const { gateway, commands } = decodeCommands(payload);
    check(gateway);
    // The space of this moment: a fenced worker drops its space and starts a new one.
    const space = this.#options.space();
    for (const command of commands) {
      if (!this.#options.route?.(gateway, command)) space?.command(gateway, command);
    }
    return gateway;
  }

  #attach(call: SessionStream): void {
    const { log } = this.#options;
    const values = call.metadata.get(NODE_METADATA);
    const gateway = typeof values[0] === "string" ? values[0] : "";
    call.on("error", (error) => log.debug("gateway.stream_error", { gateway, error }));
    if (!gateway || !this.#options.space()) {
      call.emit("error", {
        code: gateway ? grpc.status.UNAVAILABLE : grpc.status.INVALID_ARGUMENT,
        details: gateway ? "worker not registered yet" : `Attach needs ${NODE_METADATA} metadata`,
      });
      return;
    }
    this.#streams.get(gateway)?.end();
    this.#streams.set(gateway, call);
    log.info("gateway.attached", { gateway });
    this.#options.onAttached?.(gateway);
    // Commands on the stream itself: what gateways before Sessions.Send wrote.
    call.on("data", (message: { payload?: unknown }) => {
      try {
        this.#apply(message?.payload, (from) => {
          if (from !== gateway) {
            throw new TypeError(
              `Cannot accept commands: they claim to be from ${from} on ${gateway}'s stream`,
            );
          }
        });
      } catch (error) {
        this.#options.onRejected?.();
        log.error("commands.rejected", { gateway, error });
      }
    });
    const gone = () => {
      if (this.#streams.get(gateway) !== call) return;
      this.#streams.delete(gateway);
      log.info("gateway.detached", { gateway });
    };
    call.on("end", gone);
    call.on("close", gone);
    call.on("cancelled", gone);
  }
}

/** A Send from a gateway with no Attach stream here (yet, or any more). */
class Unattached extends Error {
  constructor(gateway: string) {
    super(`Cannot accept commands: gateway ${gateway} has no Attach stream to this worker`);
  }
}
