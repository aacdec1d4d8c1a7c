// Where every entity record of this process keeps its position: three Float64Arrays indexed by
// the record's slot (structure of arrays). Spatial queries scan these columns instead of chasing
// one heap object per candidate, which was most of what kept a 20,000-entity tick far from the
// typed-array limit (bench/limit_tick.ts; docs/benchmarks.md, worker-tick). A record's
// slot is returned to the free list only once the record itself has been garbage-collected
// (FinalizationRegistry), so no live record ever shares its slot.

/**
 * The position columns, and the record's id beside them (the AOI diffs sort and merge by id
 * without touching a record); replaced (grown) as records are made, so read them afresh per
 * pass.
 */
export const positions = {
  x: new Float64Array(1024),
  y: new Float64Array(1024),
  z: new Float64Array(1024),
  id: new Float64Array(1024),
};

/**
 * Per slot: the data version (src/sim/data_versions.ts) of the record there and the tick it
 * was last checked at, mirrored from the record so the AOI diffs read them from a column.
 */
export const dataColumns = {
  version: new Float64Array(1024),
  checked: new Float64Array(1024).fill(-1),
};

const free: number[] = [];
let used = 0;
const reclaim = new FinalizationRegistry<number>((slot) => free.push(slot));

/** Columns of one more record: doubles the capacity, keeping what is written. */
function grow(): void {
  const capacity = positions.x.length * 2;
  const grown = (old: Float64Array, fill = 0) => {
    const column = new Float64Array(capacity);
    if (fill !== 0) column.fill(fill, old.length);
    column.set(old);
    return column;
  };
  for (const axis of ["x", "y", "z", "id"] as const) positions[axis] = grown(positions[axis]);
  dataColumns.version = grown(dataColumns.version);
  dataColumns.checked = grown(dataColumns.checked, -1);
}

/** A slot for `record`, free again once `record` is collected. */
export function takeSlot(record: object): number {
  const slot = free.length > 0 ? free.pop()! : used++;
  if (slot >= positions.x.length) grow();
  dataColumns.checked[slot] = -1; // a reused slot's last check was of its former record
  reclaim.register(record, slot);
  return slot;
}

/** Slots ever handed out: the columns' high-water mark (a slot below it may be a reused one). */
export function slotsUsed(): number {
  return used;
}
