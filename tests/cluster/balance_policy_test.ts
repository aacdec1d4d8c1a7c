import assert from "node:assert/strict";
import { Balancer } from "../../src/cluster/balance_policy.ts";
import { DEFAULTS } from "../../src/config/config.ts";
import { Grid } from "../../src/world/grid.ts";
import { Registry } from "../../src/cluster/registry.ts";

const grid = new Grid({ dims: 2, size: [400, 400], cellSize: 100 });

function cluster(options: { pool?: number; highWater?: number; lowWater?: number } = {}) {
  let now = 0;
  const clock = () => now;
  const registry = new Registry({ grid, minWorkers: 2, workerTimeoutMs: 60_000, now: clock });
  for (const id of ["w1", "w2"]) {
    registry.register({ nodeId: id, grpcAddress: id, httpAddress: "", version: "t", pool: false });
  }
  for (let n = 1; n <= (options.pool ?? 0); n++) {
    registry.register({
      nodeId: `p${n}`,
      grpcAddress: `p${n}`,
      httpAddress: "",
      version: "t",
      pool: true,
    });
  }
  const balancer = new Balancer({
    grid,
    registry,
    minWorkers: 2,
    rebalance: { ...DEFAULTS.rebalance, sustainMs: 2_000, cooldownMs: 3_000, minLoad: 10 },
    autoscale: {
      highWater: options.highWater ?? 0,
      lowWater: options.lowWater ?? 0,
      sustainMs: 2_000,
    },
    now: clock,
  });
  /** Every worker reports its cells with the given entity count per cell (default 1). */
  const report = (perCell: (cell: number) => number = () => 1) => {
    for (const w of registry.workers.values()) {
      const cells = registry.map.cellsOf(w.id).map((cell) => ({
        cell,
        entities: perCell(cell),
        players: 0,
        interactions: 0,
      }));
      registry.heartbeat(w.id, {
        tick: 0,
        epoch: registry.map.epoch,
        cells,
        ghosts: 0,
        tickP50Ms: 0,
        tickP99Ms: 0,
        pendingTransfers: 0,
      });
    }
  };
  return { registry, balancer, report, advance: (ms: number) => (now += ms) };
}

// w1 owns cells 0-7 (rows 0-1); a crowd in cells 4-7 (row 1, next to w2).
const crowd = (cell: number) => (cell >= 4 && cell <= 7 ? 50 : 1);

Deno.test("an imbalance must last sustainMs before a cell moves, then cooldown spaces the moves", () => {
  const { registry, balancer, report, advance } = cluster();
  report(crowd);
  assert.equal(balancer.step(), undefined, "first sight starts the clock");
  advance(1_000);
  assert.equal(balancer.step(), undefined);
  advance(1_000);
  const first = balancer.step();
  assert.equal(first?.kind, "rebalance");
  const events = registry.eventsSince(0).map((e) => e.kind);
  assert.ok(events.includes("cell.migrating"));
  assert.equal(registry.map.epoch, 2);
  // The migration is in flight until the giver reports the new epoch with nothing pending.
  advance(5_000);
  assert.equal(balancer.step(), undefined, "no second move while one is in flight");
  report(crowd);
  assert.ok(registry.eventsSince(0).some((e) => e.kind === "cell.migrated"));
  advance(1_000);
  assert.equal(balancer.step(), undefined, "cooldown after a migration");
});

Deno.test("once balanced the balancer stops moving cells", () => {
  const { registry, balancer, report, advance } = cluster();
  let moves = 0;
  for (let t = 0; t < 200; t++) {
    report(crowd);
    if (balancer.step()) moves++;
    advance(1_000);
  }
  assert.ok(moves >= 1 && moves <= 8, `moves: ${moves}`);
  const before = registry.map.epoch;
  for (let t = 0; t < 100; t++) {
    report(crowd);
    balancer.step();
    advance(1_000);
  }
  assert.equal(registry.map.epoch, before, "no oscillation with steady load");
});

Deno.test("load above high water claims a spare, load below low water returns one", () => {
  const { registry, balancer, report, advance } = cluster({ pool: 1, highWater: 20, lowWater: 5 });
  assert.equal(registry.workers.get("p1")?.state, "spare");
  report(() => 5); // 40 per worker, all above 20
  balancer.step();
  advance(2_000);
  report(() => 5);
  const claim = balancer.step();
  assert.equal(claim?.kind, "claim");
  assert.equal(registry.workers.get("p1")?.state, "active");
  assert.ok(registry.eventsSince(0).some((e) => e.kind === "pool.claimed"));
  report(() => 0); // finishes the migration (epoch reported, nothing pending)
  advance(10_000);
  report(() => 0);
  balancer.step();
  advance(2_000);
  report(() => 0);
  const release = balancer.step();
  assert.equal(release?.kind, "release");
  const released = (release as { worker: string }).worker;
  assert.equal(registry.workers.get(released)?.state, "releasing");
  report(() => 0);
  assert.equal(registry.workers.get(released)?.state, "spare");
  assert.ok(registry.eventsSince(0).some((e) => e.kind === "pool.released"));
  assert.equal([...registry.workers.values()].filter((w) => w.state === "active").length, 2);
});

Deno.test("draining moves every cell away, and the last worker cannot be drained", () => {
  const { registry, report } = cluster();
  const moves = registry.drain("w1");
  assert.equal(moves.length, 8);
  assert.equal(registry.workers.get("w1")?.state, "draining");
  assert.ok(registry.map.owners.every((o) => o === "w2"));
  report();
  assert.equal(registry.workers.get("w1")?.state, "drained");
  assert.throws(() => registry.drain("w2"), /NO_CAPACITY|no other active worker/);
  assert.ok(registry.leave("w1"));
  assert.equal(registry.workers.has("w1"), false);
});

Deno.test("moveCells refuses bad moves with stable codes", () => {
  const { registry } = cluster();
  const code = (fn: () => unknown) => {
    try {
      fn();
    } catch (error) {
      return (error as { code?: string }).code;
    }
    return "none";
  };
  assert.equal(
    code(() => registry.moveCells([{ cell: 99, from: "w1", to: "w2" }], "t")),
    "NOT_FOUND",
  );
  assert.equal(
    code(() => registry.moveCells([{ cell: 0, from: "w2", to: "w1" }], "t")),
    "CONFLICT",
  );
  assert.equal(
    code(() => registry.moveCells([{ cell: 0, from: "w1", to: "nobody" }], "t")),
    "NOT_FOUND",
  );
  assert.equal(
    code(() => registry.moveCells([{ cell: 0, from: "w1", to: "w1" }], "t")),
    "CONFLICT",
  );
  registry.moveCells([{ cell: 0, from: "w1", to: "w2" }], "t");
  assert.equal(
    code(() => registry.moveCells([{ cell: 0, from: "w2", to: "w1" }], "t")),
    "CONFLICT",
    "in flight",
  );
});
