// The bots' random walk: small random turns, and back towards the centre near an edge of the
// world so walkers do not pile up at walls.

/** Largest turn of the walk per INPUT, radians. */
const MAX_TURN = 0.8;
/** Within this share of the world's extent from an edge, the walk heads back inwards. */
const EDGE_SHARE = 0.05;

/**
 * The next heading (radians) of a random walk: a random turn of at most `MAX_TURN`, or, near
 * an edge of the world, straight back towards its centre so walkers do not pile up at walls.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * assert.equal(walkHeading(1, () => 0.5, [50, 50], [100, 100]), 1);
 * // At the left edge, the walk turns back towards the centre (heading 0 = +x).
 * assert.equal(walkHeading(Math.PI, () => 0.5, [0, 50], [100, 100]), 0);
 * ```
 */
export function walkHeading(
  heading: number,
  random: () => number,
  position: readonly number[] | undefined,
  size: readonly number[],
): number {
  const turn = (random() - 0.5) * MAX_TURN;
  if (position) {
    const [x, y] = position;
    const nearEdge = [x, y].some((v, axis) =>
      v < size[axis] * EDGE_SHARE || v > size[axis] * (1 - EDGE_SHARE)
    );
    if (nearEdge) return Math.atan2(size[1] / 2 - y, size[0] / 2 - x) + turn / 4;
  }
  return heading + turn;
}
