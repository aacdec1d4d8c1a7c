// Percentiles of a sample by nearest rank: the value a reader can find in the data, no
// interpolation, so "p99 = 48 ms" means at least 99 % of samples were at most 48 ms.

/**
 * The `q`-quantiles (each 0..1) of `values` by nearest rank: the smallest sample such that at
 * least `q` of all samples are less than or equal to it. Sorts one copy for all of `qs`; NaN
 * for each `q` when there are no samples. Throws RangeError for a `q` outside 0..1 and
 * TypeError for a sample that is not a finite number.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * const [p50, p99] = percentiles([5, 1, 4, 2, 3], [0.5, 0.99]);
 * assert.deepEqual([p50, p99], [3, 5]);
 * assert.ok(Number.isNaN(percentiles([], [0.5])[0]));
 * ```
 */
export function percentiles(values: ArrayLike<number>, qs: readonly number[]): number[] {
  for (const q of qs) {
    if (!(q >= 0 && q <= 1)) {
      throw new RangeError(`Cannot compute a percentile: q must be in 0..1, got ${q}`);
    }
  }
  const sorted = Float64Array.from(values);
  for (let i = 0; i < sorted.length; i++) {
    if (!Number.isFinite(sorted[i])) {
      throw new TypeError(
        `Cannot compute a percentile: sample ${i} must be a finite number, got ${sorted[i]}`,
      );
    }
  }
  sorted.sort();
  const n = sorted.length;
  return qs.map((q) => n === 0 ? NaN : sorted[Math.min(n - 1, Math.max(0, Math.ceil(q * n) - 1))]);
}
