// The bounded outgoing side of one call: frames wait here until HTTP/2 flow control lets the
// body stream take them, so a slow or paused peer shows up as back-pressure (write() → false,
// then "drain") and, past a hard bound, as a failed call instead of unbounded memory.

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
    const frame = this.#frames.shift();
    if (frame) {
      this.#bytes -= frame.byteLength;
      controller.enqueue(frame);
      if (this.#full && this.#bytes < this.#high) {
        this.#full = false;
        this.#onDrain?.();
      }
      return;
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

  #finish(): void {
    this.#done = true;
    this.#frames = [];
    this.#bytes = 0;
    this.#wake();
  }
}
