// Server-sent event streams: a hub that encodes each event once and writes it to every open
// stream, replays a backlog on connect (resuming from Last-Event-ID), sends keepalive comments,
// drops readers that fall too far behind and ends every stream when the server closes.

/** One event: `id` lets a client resume after it with `Last-Event-ID`. */
export interface SseEvent {
  id: number;
  data: unknown;
  /** Event type; omitted means the default `message`. */
  event?: string;
}

/** Options of {@linkcode EventStreams}. */
export interface EventStreamsOptions {
  /** Interval of `: keepalive` comments, so proxies and clients see a live connection. */
  keepaliveMs?: number;
  /** Most open streams; more are refused (see {@linkcode EventStreams.open}). */
  maxStreams?: number;
  /** Bytes queued for one slow reader before its stream is closed (it resumes on reconnect). */
  maxQueuedBytes?: number;
  /** Reconnect delay suggested to clients (`retry:`). */
  retryMs?: number;
}

/** Options of {@linkcode EventStreams.open}. */
export interface OpenOptions {
  /** Events sent first, oldest first. */
  backlog?: readonly SseEvent[];
  /** When aborted, the stream ends (the server is closing). */
  signal?: AbortSignal;
}

interface Stream {
  controller: ReadableStreamDefaultController<Uint8Array>;
  end: () => void;
}

const encoder = new TextEncoder();
const KEEPALIVE = encoder.encode(": keepalive\n\n");

/**
 * Encodes one event in the `text/event-stream` format; `data` is JSON on a single line.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { formatEvent } from "./sse.ts";
 * assert.equal(formatEvent({ id: 7, data: { kind: "worker.joined" } }),
 *   'id: 7\ndata: {"kind":"worker.joined"}\n\n');
 * ```
 */
export function formatEvent(event: SseEvent): string {
  const type = event.event ? `event: ${event.event.replace(/[\r\n]/g, "")}\n` : "";
  // JSON.stringify escapes line breaks inside strings, so the data stays on one line.
  return `id: ${event.id}\n${type}data: ${JSON.stringify(event.data)}\n\n`;
}

/**
 * Parses a `Last-Event-ID` header or a `since` parameter: a non-negative integer, or a
 * RangeError whose message names the value. `null` (absent) means 0.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { parseEventId } from "./sse.ts";
 * assert.equal(parseEventId("42", "Last-Event-ID"), 42);
 * assert.throws(() => parseEventId("-1", "since"), RangeError);
 * ```
 */
export function parseEventId(value: string | null, name: string): number {
  if (value === null || value === "") return 0;
  const id = /^\d{1,15}$/.test(value) ? Number(value) : NaN;
  if (!Number.isSafeInteger(id)) {
    throw new RangeError(
      `${name} must be a non-negative integer, got ${JSON.stringify(value.slice(0, 40))}`,
    );
  }
  return id;
}

/** A hub of open event streams. */
export class EventStreams {
  #streams = new Set<Stream>();
  #options: Required<EventStreamsOptions>;
  #keepalive: ReturnType<typeof setInterval> | undefined;
  /** Streams closed because their reader fell behind. */
  dropped = 0;

  constructor(options: EventStreamsOptions = {}) {
    this.#options = {
      keepaliveMs: options.keepaliveMs ?? 15_000,
      maxStreams: options.maxStreams ?? 64,
      maxQueuedBytes: options.maxQueuedBytes ?? 1 << 20,
      retryMs: options.retryMs ?? 1_000,
    };
  }

  /** Number of open streams. */
  get size(): number {
    return this.#streams.size;
  }

  /** True when another stream may be opened. */
  get hasRoom(): boolean {
    return this.#streams.size < this.#options.maxStreams;
  }

  /** Sends an event to every open stream (encoded once). */
  publish(event: SseEvent): void {
    if (this.#streams.size === 0) return;
    this.#write(encoder.encode(formatEvent(event)));
  }

  /**
   * Opens a stream and returns its response body. Throws RangeError when `maxStreams` are
   * open (check {@linkcode hasRoom} first to answer 503).
   */
  open(options: OpenOptions = {}): ReadableStream<Uint8Array> {
    if (!this.hasRoom) {
      throw new RangeError(
        `Cannot open an event stream: ${this.#options.maxStreams} are already open`,
      );
    }
    const { signal } = options;
    let stream: Stream;
    const body = new ReadableStream<Uint8Array>({
      start: (controller) => {
        const end = () => {
          if (!this.#streams.delete(stream)) return;
          signal?.removeEventListener("abort", end);
          this.#stopKeepaliveIfIdle();
          try {
            controller.close();
          } catch {
            // Already closed or cancelled by the reader: nothing left to end.
          }
        };
        stream = { controller, end };
        this.#streams.add(stream);
        if (signal?.aborted) return end();
        signal?.addEventListener("abort", end, { once: true });
        let head = `retry: ${this.#options.retryMs}\n\n`;
        for (const event of options.backlog ?? []) head += formatEvent(event);
        controller.enqueue(encoder.encode(head));
        this.#startKeepalive();
      },
      cancel: () => stream.end(),
    }, new ByteLengthQueuingStrategy({ highWaterMark: this.#options.maxQueuedBytes }));
    return body;
  }

  /** Ends every open stream; clients may reconnect to a new server. */
  close(): void {
    for (const stream of [...this.#streams]) stream.end();
  }

  #write(bytes: Uint8Array): void {
    for (const stream of [...this.#streams]) {
      const room = stream.controller.desiredSize ?? 0;
      if (room < bytes.byteLength) {
        // The reader is not keeping up: end its stream rather than buffer without bound; it
        // reconnects with Last-Event-ID and the backlog fills the gap.
        this.dropped++;
        stream.end();
        continue;
      }
      stream.controller.enqueue(bytes);
    }
  }

  #startKeepalive(): void {
    this.#keepalive ??= setInterval(() => this.#write(KEEPALIVE), this.#options.keepaliveMs);
  }

  #stopKeepaliveIfIdle(): void {
    if (this.#streams.size > 0 || this.#keepalive === undefined) return;
    clearInterval(this.#keepalive);
    this.#keepalive = undefined;
  }
}
