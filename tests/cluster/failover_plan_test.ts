import assert from "node:assert/strict";
import fc from "fast-check";
import {
  assignBackups,
  planFailover,
  type WorkerStanding,
} from "../../src/cluster/failover_plan.ts";

const STATES = ["active", "spare", "draining", "down", "fenced", "drained"] as const;

const standings = fc.uniqueArray(
  fc.record({ id: fc.constantFrom(...Array.from({ length: 8 }, (_, n) => `w${n}`)) }),
  { minLength: 1, maxLength: 8, selector: (w) => w.id },
).chain((ids) =>
  fc.tuple(...ids.map((w) => fc.constantFrom(...STATES).map((state) => ({ id: w.id, state }))))
);

Deno.test("every active worker gets a live backup other than itself, none much busier", () => {
  fc.assert(
    fc.property(standings, fc.array(fc.tuple(fc.nat(7), fc.nat(7))), (workers, prev) => {
      const previous = new Map(prev.map(([a, b]) => [`w${a}`, `w${b}`]));
      const backups = assignBackups(workers, previous);
      const state = new Map(workers.map((w) => [w.id, w.state]));
      const active = workers.filter((w) => w.state === "active");
      const spares = workers.filter((w) => w.state === "spare");
      for (const [owner, backup] of backups) {
        assert.notEqual(owner, backup);
        assert.ok(["active", "spare"].includes(state.get(backup)!), `${backup} is live`);
        assert.ok(["active", "draining"].includes(state.get(owner)!));
      }
      for (const w of active) {
        if (active.length >= 2 || spares.length > 0) assert.ok(backups.has(w.id), w.id);
      }
      // Near fair: nobody mirrors more than one owner above an even share.
      const burden = new Map<string, number>();
      for (const b of backups.values()) burden.set(b, (burden.get(b) ?? 0) + 1);
      const backers = active.length >= 2 ? active.length : active.length + spares.length;
      const fair = Math.ceil(backups.size / Math.max(1, backers));
      for (const n of burden.values()) assert.ok(n <= fair + 1, `burden ${n} > ${fair} + 1`);
    }),
    { numRuns: 2_000 },
  );
});

Deno.test("a still valid backup is kept when another worker joins", () => {
  const workers: WorkerStanding[] = [
    { id: "a", state: "active" },
    { id: "b", state: "active" },
    { id: "c", state: "active" },
  ];
  const first = assignBackups(workers, new Map());
  const second = assignBackups([...workers, { id: "d", state: "active" }], first);
  let kept = 0;
  for (const [owner, backup] of first) if (second.get(owner) === backup) kept++;
  assert.ok(kept >= 2, `kept ${kept} of 3 pairs`);
});

Deno.test("after a failover every cell has a live owner and live owners keep their cells", () => {
  fc.assert(
    fc.property(
      standings,
      fc.array(fc.nat(7), { minLength: 1, maxLength: 40 }),
      fc.constantFrom("replica", "pool", "none") as fc.Arbitrary<"replica" | "pool" | "none">,
      (workers, cellOwners, mode) => {
        const ids = workers.map((w) => w.id);
        const owners = cellOwners.map((n) => ids[n % ids.length]);
        const dead = workers.filter((w) => w.state === "down").map((w) => w.id);
        const live = new Set(
          workers.filter((w) => ["active", "spare", "draining"].includes(w.state)).map((w) => w.id),
        );
        // Backups as assigned before the death: the dead had backups too.
        const before = assignBackups(
          workers.map((w) => dead.includes(w.id) ? { ...w, state: "active" } : w),
          new Map(),
        );
        const plan = planFailover({ owners, dead, workers, backups: before, mode });
        const canTake = workers.some((w) =>
          w.state === "active" || (mode !== "none" && w.state === "spare")
        );
        for (let c = 0; c < owners.length; c++) {
          if (!dead.includes(owners[c])) {
            assert.equal(plan.owners[c], owners[c], "a live owner keeps its cell");
          } else if (canTake) {
            assert.ok(live.has(plan.owners[c]), `cell ${c} went to live ${plan.owners[c]}`);
          }
        }
        for (const t of plan.takeovers) {
          if (t.adoption === "mirror") assert.equal(t.taker, before.get(t.dead));
          if (mode === "none") assert.equal(t.adoption, "respawn");
        }
      },
    ),
    { numRuns: 2_000 },
  );
});

Deno.test("replica mode prefers a spare, then the backup; pool mode takes a spare", () => {
  const workers: WorkerStanding[] = [
    { id: "a", state: "down" },
    { id: "b", state: "active" },
    { id: "c", state: "active" },
  ];
  const backups = new Map([["a", "c"], ["b", "a"], ["c", "b"]]);
  const owners = ["a", "a", "b", "c"];
  const mirror = planFailover({ owners, dead: ["a"], workers, backups, mode: "replica" });
  assert.deepEqual(mirror.owners, ["c", "c", "b", "c"]);
  assert.equal(mirror.takeovers[0].adoption, "mirror");
  const spare = [...workers, { id: "s", state: "spare" }];
  const viaSpare = planFailover({ owners, dead: ["a"], workers: spare, backups, mode: "replica" });
  assert.deepEqual(viaSpare.owners, ["s", "s", "b", "c"]);
  assert.equal(viaSpare.takeovers[0].adoption, "transfer");
  const pool = planFailover({ owners, dead: ["a"], workers: spare, backups, mode: "pool" });
  assert.equal(pool.takeovers[0].taker, "s");
  assert.equal(pool.takeovers[0].adoption, "respawn");
});
