// Where every entity record of this process keeps its position: three Float64Arrays indexed by
// the record's slot (structure of arrays). Spatial queries scan these columns instead of chasing
// one heap object per candidate, which was most of what kept a 20,000-entity tick far from the
// typed-array limit (bench/limit_tick.ts; docs/benchmarks.md, worker-tick). A record's
// slot is returned to the free list only once the record itself has been garbage-collected
// (FinalizationRegistry), so no live record ever shares its slot.

/** The position columns; replaced (grown) as records are made, so read them afresh per pass. */
export const positions = {
  x: new Float64Array(1024),
  y: new Float64Array(1024),
  z: new Float64Array(1024),
};

const free: number[] = [];
let used = 0;
const reclaim = new FinalizationRegistry<number>((slot) => free.push(slot));

/** Columns of one more record: doubles the capacity, keeping what is written. */
function grow(): void {
  const capacity = positions.x.length * 2;
  for (const axis of ["x", "y", "z"] as const) {
    const column = new Float64Array(capacity);
    column.set(positions[axis]);
    positions[axis] = column;
  }
}

/** A slot for `record`, free again once `record` is collected. */
export function takeSlot(record: object): number {
  const slot = free.length > 0 ? free.pop()! : used++;
  if (slot >= positions.x.length) grow();
  reclaim.register(record, slot);
  return slot;
}

/** Slots ever handed out: the columns' high-water mark (a slot below it may be a reused one). */
export function slotsUsed(): number {
  return used;
}
