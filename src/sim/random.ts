// Seeded randomness for the simulation, games and bots: one small PRNG, so a run is
// reproducible from its seed.

/**
 * Small, fast seeded PRNG (public domain mulberry32): numbers in [0, 1).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * const a = mulberry32(7), b = mulberry32(7);
 * assert.equal(a(), b());
 * ```
 */
export function mulberry32(seed: number): () => number {
  // The state lives in a typed array, not a closure variable: a 32-bit integer in a variable is
  // a fresh heap number whenever it leaves V8's 31-bit small integers, so three calls in four
  // allocated (a worker's tick draws one per NPC; it was most of the demo's garbage).
  const state = new Uint32Array([seed >>> 0]);
  return () => {
    const a = state[0] = (state[0] + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/**
 * 32-bit FNV-1a hash of a string: mixes a name into a seed, and sums state into checksums.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * assert.equal(fnv1a(""), 2166136261);
 * ```
 */
export function fnv1a(text: string): number {
  let h = 2166136261;
  for (let i = 0; i < text.length; i++) h = Math.imul(h ^ text.charCodeAt(i), 16777619);
  return h >>> 0;
}
