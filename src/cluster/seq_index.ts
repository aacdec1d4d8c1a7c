// One index of the instance directory: the sequence numbers of the records that have one value
// of one field, kept sorted, so a search walks only matching records, in creation order, from
// a paging cursor found by binary search (no scan of the directory).

/**
 * A sorted set of positive integers with cursor walks.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * const index = new SeqIndex();
 * for (const n of [5, 1, 3]) index.add(n);
 * index.delete(3);
 * assert.deepEqual([...index.after(1)], [5]);
 * assert.equal(index.size, 2);
 * ```
 */
export class SeqIndex {
  #items: number[] = [];

  get size(): number {
    return this.#items.length;
  }

  /** Removes every number. */
  clear(): void {
    this.#items = [];
  }

  /** Adds `seq` (no-op when present). */
  add(seq: number): void {
    const items = this.#items;
    // Sequence numbers are minted in order: the common case is an append.
    if (items.length === 0 || items[items.length - 1] < seq) return void items.push(seq);
    const at = this.#lowerBound(seq);
    if (items[at] !== seq) items.splice(at, 0, seq);
  }

  /** Removes `seq` (no-op when absent). */
  delete(seq: number): void {
    const at = this.#lowerBound(seq);
    if (this.#items[at] === seq) this.#items.splice(at, 1);
  }

  has(seq: number): boolean {
    return this.#items[this.#lowerBound(seq)] === seq;
  }

  /** The members greater than `cursor`, ascending. */
  *after(cursor: number): Generator<number> {
    const items = this.#items;
    for (let i = this.#lowerBound(cursor + 1); i < items.length; i++) yield items[i];
  }

  #lowerBound(seq: number): number {
    const items = this.#items;
    let lo = 0, hi = items.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (items[mid] < seq) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }
}
