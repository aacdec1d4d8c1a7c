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
        fc.array(fc.tuple(fc.nat(59), point), { maxLength: 80 }),
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
          for (const [id, p] of moves) {
            const e = live.get(id);
            if (!e) continue;
            e.x = p.x;
            e.y = p.y;
            index.upsert(e);
          }
          for (const id of removals) {
            live.delete(id);
            index.remove(id);
          }
          assert.equal(index.size, live.size);
          for (const [q, r] of queries) {
            const got = index.query(q.x, q.y, 0, r, []).map((e) => e.id).sort((a, b) => a - b);
            const want = [...live.values()]
              .filter((e) => (e.x - q.x) ** 2 + (e.y - q.y) ** 2 <= r * r)
              .map((e) => e.id)
              .sort((a, b) => a - b);
            assert.deepEqual(got, want);
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
