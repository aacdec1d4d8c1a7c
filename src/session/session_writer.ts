// Writing to one client's socket: reliable frames through the send queue, and back-pressure —
// frames wait in the queue while the socket's buffer is over the high-water mark, and a socket
// that stays full for maxBehindTicks is closed as a SLOW_CONSUMER.
import { CloseCode, encodeServerFrame, type ServerMessage } from "../protocol/client_protocol.ts";
import { ownedFrame } from "../protocol/frame_msgpack_writer.ts";
import type { GatewayConfig } from "../config/config.ts";
import { ErrorCode } from "../errors.ts";
import type { Logger } from "../observe/log.ts";
import type { ClientSession } from "./client_session.ts";
import type { Timers } from "./timers.ts";

/** Bytes a socket may buffer before the gateway stops writing to it and queues instead. */
export const SOCKET_HIGH_WATER = 256 * 1024;
/** How soon a congested socket is looked at again. */
const RETRY_FLUSH_MS = 50;

/** Counters the writer keeps (shared with the hub). */
export interface WriterCounters {
  framesOut: number;
  /** Bytes of every frame written to a client socket since start. */
  bytesOut: number;
  slowClosed: number;
}

/** Options of {@linkcode SessionWriter}. */
export interface SessionWriterOptions {
  config: GatewayConfig;
  tickHz: number;
  timers: Timers;
  log: Logger;
  counters: WriterCounters;
  /** Closes a session (the hub's close: socket, state, detach). */
  close(
    session: ClientSession,
    code: number,
    reason: string,
    detach: boolean,
    flush: boolean,
  ): void;
}

/** Writes frames to sessions' sockets, honouring each socket's back-pressure. */
export class SessionWriter {
  #o: SessionWriterOptions;

  constructor(options: SessionWriterOptions) {
    this.#o = options;
  }

  /** Queues a reliable frame and writes what the socket takes; a full queue closes the session. */
  send(session: ClientSession, message: ServerMessage): void {
    if (session.state === "closed") return;
    if (!session.queue.pushReliable(encodeServerFrame(message, session.format))) {
      this.#o.counters.slowClosed++;
      this.#o.close(session, CloseCode.SLOW_CONSUMER, ErrorCode.SLOW_CONSUMER, true, true);
      return;
    }
    this.flush(session);
  }

  /**
   * Writes queued frames while the socket's buffer is low. A socket whose buffer stays over
   * the high-water mark for maxBehindTicks (a reader that stopped reading) is closed as a
   * SLOW_CONSUMER; meanwhile its DIFFs collapse into one snapshot in the send queue.
   */
  flush(session: ClientSession): void {
    const socket = session.socket;
    if (socket.readyState !== WebSocket.OPEN) return;
    const now = this.#o.timers.now();
    if (session.congestedSince !== undefined) {
      if (socket.bufferedAmount > SOCKET_HIGH_WATER / 2) {
        const limitMs = (this.#o.config.maxBehindTicks * 1000) / this.#o.tickHz;
        if (now - session.congestedSince > limitMs) {
          this.#o.counters.slowClosed++;
          // No flush first: the socket is what is full.
          this.#o.close(session, CloseCode.SLOW_CONSUMER, ErrorCode.SLOW_CONSUMER, true, false);
          this.#o.log.info("session.refused", {
            session: session.id,
            entity: session.entity,
            code: ErrorCode.SLOW_CONSUMER,
            message: `socket buffer over ${SOCKET_HIGH_WATER} bytes for ${limitMs} ms`,
          });
          return;
        }
        this.#retry(session);
        return;
      }
      session.congestedSince = undefined; // drained below half: write again
    }
    while (socket.bufferedAmount < SOCKET_HIGH_WATER) {
      const frame = session.queue.shift();
      if (frame === undefined) return;
      if (frame === "") continue; // placeholder of a skipped diff
      socket.send(frame);
      // JSON frames count their UTF-16 length: close enough for a rate shown to operators.
      const bytes = typeof frame === "string" ? frame.length : frame.byteLength;
      session.countSent(bytes, now);
      this.#o.counters.framesOut++;
      this.#o.counters.bytesOut += bytes;
    }
    session.congestedSince = now;
    this.#o.log.debug("session.backpressure", {
      session: session.id,
      buffered: socket.bufferedAmount,
    });
    this.#retry(session);
  }

  /** Frames are left waiting: copied out of the writer's shared arena, then tried again soon. */
  #retry(session: ClientSession): void {
    session.queue.own(ownedFrame);
    session.flushTimer ??= this.#o.timers.setTimeout(() => {
      session.flushTimer = undefined;
      this.flush(session);
    }, RETRY_FLUSH_MS);
  }
}
