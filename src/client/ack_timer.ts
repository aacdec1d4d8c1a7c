// Input latency as a bot measures it: the time from sending an INPUT until the first DIFF that
// acknowledges it.

/**
 * Times from sending INPUT seq N until the first DIFF whose `ack` is N or more. Seqs are sent
 * in increasing order, so pending inputs form a queue acknowledged from its head.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * const acks = new AckTimer();
 * acks.sent(1, 100);
 * acks.sent(2, 150);
 * const seen: number[] = [];
 * acks.acked(1, 180, (ms) => seen.push(ms));
 * acks.acked(2, 230, (ms) => seen.push(ms));
 * assert.deepEqual(seen, [80, 80]);
 * assert.equal(acks.pending, 0);
 * ```
 */
export class AckTimer {
  #seqs: number[] = [];
  #times: number[] = [];
  #head = 0;

  /** INPUTs sent and not yet acknowledged. */
  get pending(): number {
    return this.#seqs.length - this.#head;
  }

  sent(seq: number, at: number): void {
    this.#seqs.push(seq);
    this.#times.push(at);
  }

  /** A DIFF with `ack` arrived at `at`: reports the latency of every input it acknowledges. */
  acked(ack: number, at: number, record: (ms: number) => void): void {
    const seqs = this.#seqs;
    while (this.#head < seqs.length && seqs[this.#head] <= ack) {
      record(at - this.#times[this.#head]);
      this.#head++;
    }
    if (this.#head > 1024 && this.#head * 2 > seqs.length) {
      seqs.splice(0, this.#head);
      this.#times.splice(0, this.#head);
      this.#head = 0;
    }
  }

  /** Forgets pending inputs (the connection dropped). */
  clear(): void {
    this.#seqs.length = 0;
    this.#times.length = 0;
    this.#head = 0;
  }
}
