// Tick duration statistics: a fixed ring of recent durations and their percentiles.

/** Keeps the last `capacity` samples in a typed array; no allocation per sample. */
export class DurationRing {
  #samples: Float64Array;
  #count = 0;
  #at = 0;
  #sorted: Float64Array;

  constructor(capacity = 1024) {
    this.#samples = new Float64Array(capacity);
    this.#sorted = new Float64Array(capacity);
  }

  /** Records one duration in milliseconds. */
  add(ms: number): void {
    this.#samples[this.#at] = ms;
    this.#at = (this.#at + 1) % this.#samples.length;
    if (this.#count < this.#samples.length) this.#count++;
  }

  get count(): number {
    return this.#count;
  }

  /** The q-quantile (0..1) by nearest rank over the ring; 0 when empty. */
  percentile(q: number): number {
    if (this.#count === 0) return 0;
    const sorted = this.#sorted.subarray(0, this.#count);
    sorted.set(this.#samples.subarray(0, this.#count));
    sorted.sort();
    const rank = Math.min(this.#count - 1, Math.max(0, Math.ceil(q * this.#count) - 1));
    return sorted[rank];
  }
}
