import assert from "node:assert/strict";
import fc from "fast-check";
import { percentiles } from "../../src/observe/percentiles.ts";

Deno.test("percentiles pick the nearest-rank sample, not an interpolation", () => {
  const values = [10, 20, 30, 40, 50, 60, 70, 80, 90, 100];
  assert.deepEqual(percentiles(values, [0, 0.1, 0.5, 0.55, 0.99, 1]), [10, 10, 50, 60, 100, 100]);
  assert.deepEqual(percentiles([7], [0, 0.5, 1]), [7, 7, 7]);
  assert.deepEqual(percentiles(new Float64Array([3, 1, 2]), [0.5]), [2]);
});

Deno.test("percentiles leave the input unsorted and give NaN without samples", () => {
  const values = [3, 1, 2];
  percentiles(values, [0.5]);
  assert.deepEqual(values, [3, 1, 2]);
  assert.ok(percentiles([], [0.5, 0.99]).every(Number.isNaN));
});

Deno.test("percentiles refuse a q outside 0..1 and samples that are not finite", () => {
  assert.throws(() => percentiles([1], [1.5]), RangeError);
  assert.throws(() => percentiles([1], [-0.1]), RangeError);
  assert.throws(() => percentiles([1], [NaN]), RangeError);
  assert.throws(() => percentiles([1, NaN], [0.5]), /sample 1 must be a finite number, got NaN/);
  assert.throws(() => percentiles([Infinity], [0.5]), TypeError);
});

Deno.test("the p-percentile is the smallest sample with at least q of all samples at or below it", () => {
  fc.assert(
    fc.property(
      fc.array(fc.double({ noNaN: true, noDefaultInfinity: true }), { minLength: 1 }),
      fc.double({ min: 0, max: 1, noNaN: true }),
      (values, q) => {
        const [p] = percentiles(values, [q]);
        const atOrBelow = (v: number) => values.filter((x) => x <= v).length;
        assert.ok(values.includes(p) || (p === 0 && values.includes(-0)));
        assert.ok(atOrBelow(p) >= q * values.length);
        for (const smaller of values.filter((v) => v < p)) {
          assert.ok(atOrBelow(smaller) < q * values.length);
        }
      },
    ),
    { numRuns: 500 },
  );
});
