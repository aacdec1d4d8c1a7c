import assert from "node:assert/strict";
import fc from "fast-check";
import { Grid } from "../../src/world/grid.ts";
import { workerLoads } from "../../src/cluster/load_estimate.ts";
import { assignRegions } from "../../src/world/partition.ts";
import {
  isImbalanced,
  planClaim,
  planDrain,
  planRebalance,
  type RebalanceInput,
  staysConnected,
} from "../../src/cluster/balance_plan.ts";

const world = fc.record({
  nx: fc.integer({ min: 2, max: 8 }),
  ny: fc.integer({ min: 1, max: 8 }),
  k: fc.integer({ min: 2, max: 5 }),
  seed: fc.integer(),
});

function setup(nx: number, ny: number, k: number) {
  const grid = new Grid({ dims: 2, size: [nx * 10, ny * 10], cellSize: 10 });
  const ids = Array.from({ length: Math.min(k, grid.cellCount) }, (_, n) => `w${n}`);
  const owners = assignRegions(grid, ids);
  /** planRebalance on this world as its owners are now: nobody busy, ratio 1.2, minLoad 1. */
  const plan = (cellLoads: number[], options: Partial<RebalanceInput> = {}) =>
    planRebalance({
      grid,
      owners,
      cellLoads,
      active: ids,
      busy: new Set(),
      ratio: 1.2,
      minLoad: 1,
      ...options,
    });
  return { grid, ids, owners, plan };
}

const squares = (loads: Map<string, number>) => [...loads.values()].reduce((s, l) => s + l * l, 0);

Deno.test("rebalancing with steady loads always stops, each move lowering the sum of squared loads", () => {
  fc.assert(
    fc.property(
      world,
      fc.array(fc.nat(100), { minLength: 64, maxLength: 64 }),
      ({ nx, ny, k }, raw) => {
        const { grid, ids, owners, plan } = setup(nx, ny, k);
        const cellLoads = raw.slice(0, grid.cellCount);
        const seen = new Set([owners.join()]);
        let previous = squares(workerLoads(owners, cellLoads, ids));
        for (let step = 0; step < 500; step++) {
          const move = plan(cellLoads);
          if (!move) return;
          assert.equal(owners[move.cell], move.from);
          assert.notEqual(move.from, move.to);
          assert.ok(
            grid.faceNeighbours(move.cell).some((n) => owners[n] === move.to),
            "to an adjacent worker",
          );
          owners[move.cell] = move.to;
          const now = squares(workerLoads(owners, cellLoads, ids));
          assert.ok(now < previous, "strictly better");
          previous = now;
          assert.ok(!seen.has(owners.join()), "a map never comes back");
          seen.add(owners.join());
        }
        assert.fail("did not converge within 500 moves");
      },
    ),
    { numRuns: 300 },
  );
});

Deno.test("a move splits the giver's region only when no improving cell keeps it whole", () => {
  fc.assert(
    fc.property(
      world,
      fc.array(fc.nat(50), { minLength: 64, maxLength: 64 }),
      ({ nx, ny, k }, raw) => {
        const { grid, ids, owners, plan } = setup(nx, ny, k);
        const cellLoads = raw.slice(0, grid.cellCount);
        for (let step = 0; step < 100; step++) {
          const move = plan(cellLoads);
          if (!move) return;
          const loads = workerLoads(owners, cellLoads, ids);
          const improving = owners.flatMap((o, c) =>
            o === move.from && (cellLoads[c] ?? 0) > 0 &&
              grid.faceNeighbours(c).some((n) => owners[n] === move.to) &&
              loads.get(move.to)! + cellLoads[c] < loads.get(move.from)!
              ? [c]
              : []
          );
          assert.ok(improving.includes(move.cell));
          if (improving.some((c) => staysConnected(grid, owners, move.from, c))) {
            assert.ok(
              staysConnected(grid, owners, move.from, move.cell),
              "kept whole when possible",
            );
          }
          owners[move.cell] = move.to;
        }
      },
    ),
    { numRuns: 300 },
  );
});

Deno.test("a crowd on one worker moves toward its cooler neighbour and busy workers are left alone", () => {
  const { ids, owners, plan } = setup(4, 4, 2);
  // w0 owns rows 0-1; the crowd sits in cells 1 and 5, next to w1 only through row 1.
  const cellLoads = new Array(16).fill(1);
  cellLoads[1] = 60;
  cellLoads[5] = 60;
  assert.ok(isImbalanced({ owners, cellLoads, active: ids, ratio: 1.5, minLoad: 10 }));
  const move = plan(cellLoads, { ratio: 1.5, minLoad: 10 });
  assert.deepEqual(move, { cell: 5, from: "w0", to: "w1" });
  assert.equal(
    plan(cellLoads, { busy: new Set(["w0"]), ratio: 1.5, minLoad: 10 }),
    undefined,
  );
  assert.equal(
    plan(cellLoads, { ratio: 1.5, minLoad: 1_000 }),
    undefined,
    "below minLoad nothing moves",
  );
  // A single cell heavier than the whole gap cannot help: moving it would only swap roles.
  const lump = new Array(16).fill(0);
  lump[0] = 100;
  assert.equal(
    plan(lump, { ratio: 1.5 }),
    undefined,
  );
});

Deno.test("draining a worker moves every one of its cells to the other workers", () => {
  fc.assert(
    fc.property(
      world,
      fc.array(fc.nat(20), { minLength: 64, maxLength: 64 }),
      ({ nx, ny, k }, raw) => {
        const { grid, ids, owners } = setup(nx, ny, k);
        const victim = ids[ids.length - 1];
        const moves = planDrain(grid, owners, raw, victim, ids)!;
        const mine = owners.filter((o) => o === victim).length;
        assert.equal(moves.length, mine);
        for (const m of moves) {
          assert.equal(m.from, victim);
          assert.ok(ids.includes(m.to) && m.to !== victim);
          owners[m.cell] = m.to;
        }
        assert.ok(!owners.includes(victim));
      },
    ),
    { numRuns: 200 },
  );
  const { grid, owners } = setup(2, 2, 1);
  assert.equal(
    planDrain(grid, owners, [1, 1, 1, 1], "w0", ["w0"]),
    undefined,
    "nobody to take the cells",
  );
});

Deno.test("a claimed spare takes the busiest cell that keeps the giver's region whole", () => {
  const { grid, owners } = setup(4, 1, 1);
  const move = planClaim(grid, owners, [5, 9, 30, 8], "w0", "spare");
  // Cell 2 is the busiest but removing it splits w0; cell 3 is the busiest that does not.
  assert.deepEqual(move, { cell: 3, from: "w0", to: "spare" });
  assert.equal(
    planClaim(new Grid({ dims: 2, size: [10, 10], cellSize: 10 }), ["w0"], [5], "w0", "s"),
    undefined,
  );
});
