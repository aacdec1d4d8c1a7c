import assert from "node:assert/strict";
import fc from "fast-check";
import { type Entity, makeEntity } from "../../src/world/entity.ts";
import { GridIndex } from "../../src/world/grid_index.ts";
import { type EntityIndex, SpatialIndex } from "../../src/world/spatial_index.ts";

const SIZE = [200, 150];
const point = fc.record({
  x: fc.double({ min: 0, max: SIZE[0] - 1e-6, noNaN: true }),
  y: fc.double({ min: 0, max: SIZE[1] - 1e-6, noNaN: true }),
});

for (
  const [name, make] of [
    ["grid", () => new GridIndex(SIZE, 16)],
    ["rbush", () => new SpatialIndex(5)],
  ] as Array<[string, () => EntityIndex]>
) {
  Deno.test(`the ${name} index answers like a brute-force scan while entities move and leave`, () => {
    fc.assert(
      fc.property(
        fc.array(point, { minLength: 1, maxLength: 60 }),
        fc.array(fc.tuple(fc.nat(59), point, fc.boolean()), { maxLength: 80 }),
        fc.array(fc.nat(59), { maxLength: 10 }),
        fc.array(fc.tuple(point, fc.double({ min: 0, max: 60, noNaN: true })), {
          minLength: 1,
          maxLength: 10,
        }),
        (starts, moves, removals, queries) => {
          const index = make();
          const live = new Map<number, Entity>();
          starts.forEach((p, id) => {
            const e = makeEntity(id, "npc", p);
            live.set(id, e);
            index.upsert(e);
          });
          for (const [id, p, replace] of moves) {
            let e = live.get(id);
            if (!e) continue;
            if (replace) {
              // A new record of the same id (a ghost becoming owned): it takes the old one's place.
              e = makeEntity(id, "npc", p);
              live.set(id, e);
            }
            e.x = p.x;
            e.y = p.y;
            index.upsert(e);
          }
          for (const id of removals) {
            live.delete(id);
            index.remove(id);
          }
          assert.equal(index.size, live.size);
          const out: Entity[] = [];
          for (const [n, [q, r]] of queries.entries()) {
            // One output array for every query, as the tick passes one: no leftovers between them.
            // Every other query goes through `at` and queryAt, as the game context's do.
            if (n % 2 === 1) index.at.set([q.x, q.y, 0, r]);
            const found = n % 2 === 1 ? index.queryAt(out) : index.query(q.x, q.y, 0, r, out);
            assert.ok(found.every((e) => live.get(e.id) === e), "only live records");
            const got = found.map((e) => e.id).sort((a, b) => a - b);
            const want = [...live.values()]
              .filter((e) => (e.x - q.x) ** 2 + (e.y - q.y) ** 2 <= r * r)
              .map((e) => e.id)
              .sort((a, b) => a - b);
            assert.deepEqual(got, want);
            // The same query by handles: each names the record found and its column slot.
            const hits = { handles: new Int32Array(1), count: 0 };
            index.at.set([q.x, q.y, 0, r]);
            index.queryHits(hits);
            const byHandle = Array.from(hits.handles.subarray(0, hits.count), (h) => {
              const e = index.hitRecord(h);
              assert.equal(index.hitSlot(h), e.slot);
              assert.equal(live.get(e.id), e, "only live records");
              return e.id;
            });
            assert.deepEqual(byHandle.sort((a, b) => a - b), want);
          }
        },
      ),
      { numRuns: 300 },
    );
  });
}

Deno.test("the grid index files an entity again only when it changes bucket", () => {
  const index = new GridIndex(SIZE, 10);
  const e = makeEntity(1, "npc", { x: 1, y: 1 });
  index.upsert(e);
  e.x = 5;
  index.upsert(e);
  assert.equal(index.reinserts, 1, "same bucket: no work");
  e.x = 15;
  index.upsert(e);
  assert.equal(index.reinserts, 2);
  assert.throws(() => new GridIndex(SIZE, 0), RangeError);
});

Deno.test("the grid index forgets everything on clear and files again afterwards", () => {
  const index = new GridIndex(SIZE, 10);
  const records = Array.from({ length: 40 }, (_, id) => makeEntity(id, "npc", { x: id * 4, y: 3 }));
  for (const e of records) index.upsert(e);
  assert.equal(index.query(20, 3, 0, 200, []).length, 40);
  index.clear();
  assert.equal(index.size, 0);
  assert.deepEqual(index.query(20, 3, 0, 200, []), []);
  index.upsert(records[5]);
  assert.deepEqual(index.query(20, 3, 0, 1, []), [records[5]]);
});

Deno.test("entity records keep their positions apart in the shared columns as they grow", () => {
  // More records than the columns' first capacity: growing keeps every position written.
  const records = Array.from(
    { length: 5000 },
    (_, i) => makeEntity(i + 1, "npc", { x: i, y: -i, z: i / 2 }),
  );
  assert.equal(new Set(records.map((e) => e.slot)).size, records.length, "one slot each");
  records.forEach((e, i) => {
    assert.deepEqual([e.x, e.y, e.z], [i, -i, i / 2]);
  });
  records[7].x = 1.5;
  assert.equal(records[8].x, 8, "a write reaches only its own record");
  assert.deepEqual(JSON.parse(JSON.stringify(records[7])), {
    id: 8,
    type: "npc",
    x: 1.5,
    y: -7,
    z: 3.5,
    vx: 0,
    vy: 0,
    vz: 0,
    data: {},
    cell: -1,
    owner: "",
  });
});

Deno.test("a grid index's tables grow with what it holds, whatever slots the records have", () => {
  // Records made elsewhere first, so the ones filed here have high position slots.
  const elsewhere = Array.from(
    { length: 3000 },
    (_, i) => makeEntity(i + 1, "npc", { x: 1, y: 1 }),
  );
  const index = new GridIndex(SIZE, 10);
  // Slots freed by records the earlier tests dropped are handed out first: take those too.
  const high = (id: number, x: number) => {
    for (let n = 0; n < 1_000_000; n++) {
      const e = makeEntity(id, "npc", { x, y: x });
      if (e.slot >= 3000) return e;
      elsewhere.push(e);
    }
    throw new Error("no high slot");
  };
  const mine = [high(9001, 5), high(9002, 6)];
  for (const e of mine) index.upsert(e);
  assert.ok(index.capacity <= 64, `tables for ${index.capacity} records, not for every slot`);
  assert.deepEqual(index.query(5.5, 5.5, 0, 2, []).map((e) => e.id).sort(), [9001, 9002]);
});

Deno.test("a record filed in two grid indexes is found in each", () => {
  const a = new GridIndex(SIZE, 10), b = new GridIndex(SIZE, 10);
  const e = makeEntity(1, "npc", { x: 5, y: 5 });
  const other = makeEntity(2, "npc", { x: 50, y: 50 });
  a.upsert(other);
  a.upsert(e);
  b.upsert(e);
  e.x = 95;
  a.upsert(e);
  b.upsert(e);
  for (const index of [a, b]) {
    assert.deepEqual(index.query(95, 5, 0, 1, []), [e]);
    assert.deepEqual(index.query(5, 5, 0, 1, []), []);
  }
  assert.equal(a.size, 2);
  assert.equal(b.size, 1);
  a.remove(1);
  assert.deepEqual(b.query(95, 5, 0, 1, []), [e], "removing it from one leaves it in the other");
  assert.deepEqual(a.query(50, 50, 0, 1, []), [other]);
});
