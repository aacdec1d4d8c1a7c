// The bounded per-client send queue of the gateway's fan-out: reliable frames in order up to a
// bound, state frames (DIFFs) collapsed into one full snapshot when the client falls behind.

/** An encoded frame: msgpack bytes or JSON text. */
export type Frame = Uint8Array | string;

/** Options of {@linkcode SendQueue}. */
export interface SendQueueOptions<F extends Frame = Frame> {
  /**
   * Undelivered DIFFs held in order. One more and they are all dropped: the client gets one
   * full snapshot instead, built when it can take it.
   */
  maxStateFrames: number;
  /** Undelivered reliable frames (WELCOME, CHAT, PONG, ERROR) held in order. */
  maxReliableFrames: number;
  /** Their total size: bytes, or UTF-16 units for JSON text. */
  maxReliableBytes: number;
  /** A client whose oldest undelivered state is more than this many ticks old is too slow. */
  maxBehindTicks: number;
  /** Encodes a full snapshot of the session's current view (a DIFF with `full: true`). */
  snapshot: () => F;
}

/**
 * What one session has yet to send, drained by the gateway whenever its socket can take more
 * (e.g. `bufferedAmount` under a high-water mark):
 *
 * ```ts ignore
 * if (!queue.pushState(tick, encodeServerFrame(diff, format))) close(SLOW_CONSUMER);
 * for (let f = queue.shift(); f !== undefined; f = queue.shift()) {
 *   socket.send(f);
 *   if (socket.bufferedAmount > highWater) break;
 * }
 * ```
 *
 * Reliable frames go out first, in order, and are never dropped: when more than the bound are
 * waiting, {@linkcode SendQueue.pushReliable} returns false and the session should be closed.
 * DIFFs are incremental, so they are never dropped one by one: past `maxStateFrames` every
 * waiting DIFF is discarded and a snapshot is due, which {@linkcode SendQueue.shift} builds
 * at send time — a slow reader gets only the newest state. While a snapshot is due, further
 * DIFFs are discarded ({@linkcode SendQueue.wantsDiff} says so before encoding one). A client
 * still behind after `maxBehindTicks` makes {@linkcode SendQueue.pushState} return false.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * const queue = new SendQueue<string>({
 *   maxStateFrames: 2,
 *   maxReliableFrames: 8,
 *   maxReliableBytes: 1024,
 *   maxBehindTicks: 10,
 *   snapshot: () => "snapshot",
 * });
 * queue.pushState(1, "diff 1");
 * queue.pushState(2, "diff 2");
 * queue.pushState(3, "diff 3"); // over the bound: the diffs give way to one snapshot
 * queue.pushReliable("chat");
 * assert.deepEqual([queue.shift(), queue.shift(), queue.shift()], ["chat", "snapshot", undefined]);
 * ```
 */
export class SendQueue<F extends Frame = Frame> {
  readonly options: Readonly<SendQueueOptions<F>>;
  #reliable: F[] = [];
  #reliableHead = 0;
  #reliableBytes = 0;
  #states: F[] = [];
  #stateTicks: number[] = [];
  #stateHead = 0;
  #snapshotDue = false;
  /** Tick of the oldest state the client has not been sent; undefined when caught up. */
  #behindSince: number | undefined = undefined;
  #collapsed = 0;

  constructor(options: SendQueueOptions<F>) {
    for (const key of ["maxStateFrames", "maxReliableFrames", "maxBehindTicks"] as const) {
      const value = options[key];
      if (!Number.isSafeInteger(value) || value < 1) {
        throw new RangeError(
          `Cannot create a send queue: ${key} must be an integer >= 1, got ${value}`,
        );
      }
    }
    if (!(options.maxReliableBytes > 0)) {
      throw new RangeError(
        `Cannot create a send queue: maxReliableBytes must be > 0, got ${options.maxReliableBytes}`,
      );
    }
    this.options = { ...options };
  }

  /**
   * Queues a reliable frame. False when it would exceed the bounds (the frame is not queued):
   * the client is not reading, close it with SLOW_CONSUMER.
   */
  pushReliable(frame: F): boolean {
    const size = frame.length;
    if (
      this.#reliable.length - this.#reliableHead >= this.options.maxReliableFrames ||
      this.#reliableBytes + size > this.options.maxReliableBytes
    ) return false;
    this.#reliable.push(frame);
    this.#reliableBytes += size;
    return true;
  }

  /** False while a snapshot is due: a DIFF pushed now would be discarded, so skip encoding it. */
  wantsDiff(): boolean {
    return !this.#snapshotDue;
  }

  /**
   * Queues the DIFF of `tick` (ticks never decrease). False when the client has been behind
   * for more than `maxBehindTicks`: close it with SLOW_CONSUMER.
   */
  pushState(tick: number, frame: F): boolean {
    if (this.#behindSince === undefined) this.#behindSince = tick;
    if (!this.#snapshotDue) {
      if (this.#states.length - this.#stateHead >= this.options.maxStateFrames) {
        this.#dropStates();
        this.#snapshotDue = true;
        this.#collapsed++;
      } else {
        this.#states.push(frame);
        this.#stateTicks.push(tick);
      }
    }
    return tick - this.#behindSince <= this.options.maxBehindTicks;
  }

  /**
   * Makes the next state sent a full snapshot, dropping waiting DIFFs: at WELCOME and after a
   * resume (the client knows nothing yet), or when the view was rebuilt.
   */
  requestSnapshot(tick: number): void {
    this.#dropStates();
    this.#snapshotDue = true;
    if (this.#behindSince === undefined) this.#behindSince = tick;
  }

  /** The next frame to send, or undefined when there is nothing to send. */
  shift(): F | undefined {
    if (this.#reliableHead < this.#reliable.length) {
      const frame = this.#reliable[this.#reliableHead++];
      this.#reliableBytes -= frame.length;
      if (this.#reliableHead === this.#reliable.length) {
        this.#reliable.length = 0;
        this.#reliableHead = 0;
      }
      return frame;
    }
    if (this.#snapshotDue) {
      this.#snapshotDue = false;
      this.#behindSince = undefined;
      return this.options.snapshot();
    }
    if (this.#stateHead < this.#states.length) {
      const frame = this.#states[this.#stateHead++];
      if (this.#stateHead === this.#states.length) {
        this.#dropStates();
        this.#behindSince = undefined;
      } else {
        this.#behindSince = this.#stateTicks[this.#stateHead];
      }
      return frame;
    }
    return undefined;
  }

  /** Replaces every waiting frame by `copy(frame)` (one that does not pin a shared buffer). */
  own(copy: (frame: F) => F): void {
    for (let i = this.#reliableHead; i < this.#reliable.length; i++) {
      this.#reliable[i] = copy(this.#reliable[i]);
    }
    for (let i = this.#stateHead; i < this.#states.length; i++) {
      this.#states[i] = copy(this.#states[i]);
    }
  }

  /** Ticks the client is behind at `tick`: 0 when every state has been sent. */
  behindTicks(tick: number): number {
    return this.#behindSince === undefined ? 0 : Math.max(0, tick - this.#behindSince);
  }

  /** Frames waiting, not counting a due snapshot. */
  get length(): number {
    return this.#reliable.length - this.#reliableHead + this.#states.length - this.#stateHead;
  }

  /** Bytes (or UTF-16 units) of reliable frames waiting. */
  get reliableBytes(): number {
    return this.#reliableBytes;
  }

  /** True when the next state sent will be a full snapshot. */
  get snapshotDue(): boolean {
    return this.#snapshotDue;
  }

  /** How many times waiting DIFFs were collapsed into a snapshot (a metric). */
  get collapsed(): number {
    return this.#collapsed;
  }

  #dropStates(): void {
    this.#states.length = 0;
    this.#stateTicks.length = 0;
    this.#stateHead = 0;
  }
}
