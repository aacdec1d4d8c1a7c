// The worker's end of the session link: one Sessions.Attach stream per gateway, whose commands
// go to the current space's players and which carries that gateway's per-tick report back.
import { NODE_METADATA, versionMismatch } from "../sync/peer_links.ts";
import { grpc } from "../net/rpc.ts";
import { decodeCommands, encodeReport, SESSION_WIRE_VERSION } from "../session/session_wire.ts";
import type { GatewayCommand, WorkerReport } from "../session/session_messages.ts";
import type { Logger } from "../observe/log.ts";
import type { Space } from "./space.ts";

type SessionStream = grpc.ServerDuplexStream<{ payload: Uint8Array }, { payload: Uint8Array }>;

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
  service(): { Attach(call: SessionStream): void } {
    return { Attach: (call) => this.#attach(call) };
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
    // A gateway of a build that reads other report bytes would see none of them decode.
    const mismatch = versionMismatch(call.metadata, SESSION_WIRE_VERSION, gateway, "this worker");
    if (mismatch) {
      log.error("gateway.refused", { gateway, details: mismatch });
      call.emit("error", { code: grpc.status.FAILED_PRECONDITION, details: mismatch });
      return;
    }
    this.#streams.get(gateway)?.end();
    this.#streams.set(gateway, call);
    log.info("gateway.attached", { gateway });
    this.#options.onAttached?.(gateway);
    call.on("data", (message: { payload?: unknown }) => {
      const payload = message?.payload;
      try {
        if (!(payload instanceof Uint8Array)) {
          throw new TypeError("Cannot accept commands: no payload");
        }
        const { gateway: from, commands } = decodeCommands(payload);
        if (from !== gateway) {
          throw new TypeError(
            `Cannot accept commands: they claim to be from ${from} on ${gateway}'s stream`,
          );
        }
        // The space of this moment: a fenced worker drops its space and starts a new one.
        const space = this.#options.space();
        for (const command of commands) {
          if (!this.#options.route?.(gateway, command)) space?.command(gateway, command);
        }
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
