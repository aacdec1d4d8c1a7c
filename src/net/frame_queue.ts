// The bounded outgoing side of one call: frames wait here until HTTP/2 flow control lets the
// body stream take them, so a slow or paused peer shows up as back-pressure (write() → false,
// then "drain") and, past a hard bound, as a failed call instead of unbounded memory.

/** Most bytes handed to the body stream at once (frames queued together are concatenated). */
const MAX_CHUNK = 256 * 1024;

/** Options of {@linkcode FrameQueue}. */
export interface FrameQueueOptions {
  /** Queued bytes from which `push` answers false (default 1 MiB). */
  highWaterBytes?: number;
  /** Queued bytes past which `push` throws a RangeError (default 32 MiB). */
  maxBytes?: number;
  /** Called once the queue falls back under the high-water mark after a `push` said false. */
  onDrain?: () => void;
  /** Called when the reader of the stream cancels it (the peer reset the stream or left). */
  onCancel?: () => void;
}

/** Frames queued for one body stream, taken one at a time as the stream is read. */
export class FrameQueue {
  /** The body to hand to fetch or to a Response. */
  readonly stream: ReadableStream<Uint8Array>;
  #frames: Uint8Array[] = [];
  #bytes = 0;
  #closing = false;
  #done = false;
  #wanted?: () => void;
  #failure?: Error;
  #full = false;
  #high: number;
  #max: number;
  #onDrain?: () => void;
  #onCancel?: () => void;

  constructor(options: FrameQueueOptions = {}) {
    this.#high = options.highWaterBytes ?? 1024 * 1024;
    this.#max = options.maxBytes ?? 32 * 1024 * 1024;
    this.#onDrain = options.onDrain;
    this.#onCancel = options.onCancel;
    this.stream = new ReadableStream<Uint8Array>({
      pull: (controller) => this.#pull(controller),
      cancel: () => {
        this.#finish();
        this.#onCancel?.();
      },
    }, { highWaterMark: 0 });
  }

  /** Bytes waiting to be sent. */
  get bytes(): number {
    return this.#bytes;
  }

  /** Whether the stream is closed or cancelled (pushes are ignored). */
  get done(): boolean {
    return this.#done || this.#closing;
  }

  /**
   * Queues a frame; false once the queue holds the high-water mark or more (wait for onDrain).
   * Throws a RangeError when the queue would exceed its hard bound.
   */
  push(frame: Uint8Array): boolean {
    if (this.done) return false;
    if (this.#bytes + frame.byteLength > this.#max) {
      throw new RangeError(
        `Cannot queue ${frame.byteLength} bytes: ${this.#bytes} bytes are already waiting for a peer that is not reading (maximum ${this.#max})`,
      );
    }
    this.#frames.push(frame);
    this.#bytes += frame.byteLength;
    this.#wake();
    if (this.#bytes >= this.#high) this.#full = true;
    return !this.#full;
  }

  /** Sends what is queued (plus `last`, if given), then ends the stream. */
  close(last?: Uint8Array): void {
    if (this.done) return;
    if (last) {
      this.#frames.push(last);
      this.#bytes += last.byteLength;
    }
    this.#closing = true;
    this.#wake();
  }

  /** Drops what is queued and ends the stream now. */
  discard(): void {
    this.#frames = [];
    this.#bytes = 0;
    this.#closing = true;
    this.#wake();
  }

  /** Drops what is queued and fails the stream, so the peer sees a reset, not an end. */
  abort(reason: Error): void {
    if (this.#done) return;
    this.#failure = reason;
    this.discard();
  }

  #wake(): void {
    const wanted = this.#wanted;
    this.#wanted = undefined;
    wanted?.();
  }

  #pull(controller: ReadableStreamDefaultController<Uint8Array>): Promise<void> | void {
    if (this.#frames.length > 0) {
      // Everything queued goes as one chunk, and the end of the stream with it: each chunk is a
      // socket write, and a small write behind an unacknowledged one waits for the peer's
      // delayed ACK (40 ms on Linux) when Nagle is on, as it is under Deno.serve and fetch.
      const chunk = this.#take();
      controller.enqueue(chunk);
      if (this.#full && this.#bytes < this.#high) {
        this.#full = false;
        this.#onDrain?.();
      }
      if (this.#frames.length > 0 || !this.#closing) return;
    }
    if (this.#closing || this.#done) {
      this.#finish();
      try {
        if (this.#failure) controller.error(this.#failure);
        else controller.close();
      } catch {
        // Already closed by a cancel.
      }
      return;
    }
    return new Promise<void>((resolve) => (this.#wanted = resolve)).then(() =>
      this.#pull(controller)
    );
  }

  /** Takes queued frames, concatenated, up to MAX_CHUNK bytes (always at least one frame). */
  #take(): Uint8Array {
    let count = 0;
    let size = 0;
    while (count < this.#frames.length) {
      const next = this.#frames[count].byteLength;
      if (count > 0 && size + next > MAX_CHUNK) break;
      size += next;
      count++;
    }
    const taken = this.#frames.splice(0, count);
    this.#bytes -= size;
    if (taken.length === 1) return taken[0];
    const chunk = new Uint8Array(size);
    let at = 0;
    for (const frame of taken) {
      chunk.set(frame, at);
      at += frame.byteLength;
    }
    return chunk;
  }

  #finish(): void {
    this.#done = true;
    this.#frames = [];
    this.#bytes = 0;
    this.#wake();
  }
}
