import assert from "node:assert/strict";
import { Grid } from "../../src/world/grid.ts";
import { Registry } from "../../src/cluster/registry.ts";
import { GatewayDirectory } from "../../src/cluster/gateway_directory.ts";
import { Deploys } from "../../src/cluster/deploys.ts";
import { CodedError } from "../../src/errors.ts";

const grid = new Grid({ dims: 2, size: [400, 400], cellSize: 100 });

/** A registry with w1, w2 on version 1.0 (cells split) and w3, w4 on version 2.0 (spares). */
function make(cellsPerSecond = 2) {
  let now = 1_000;
  const clock = () => now;
  const registry = new Registry({ grid, minWorkers: 2, workerTimeoutMs: 60_000, now: clock });
  const gateways = new GatewayDirectory({ timeoutMs: 60_000, now: clock });
  let published = 0;
  /** Rooms hosted per worker, as the instance directory would count them. */
  const rooms = new Map<string, number>();
  const deploys = new Deploys({
    grid,
    registry,
    gateways,
    cellsPerSecond,
    instancesOn: (worker) => rooms.get(worker) ?? 0,
    now: clock,
    onChange: () => published++,
  });
  const join = (id: string, version: string) => {
    deploys.seen(version, "1");
    registry.register({
      nodeId: id,
      grpcAddress: `h:${id}`,
      httpAddress: "",
      version,
      pool: false,
    });
  };
  join("w1", "1.0");
  join("w2", "1.0");
  join("w3", "2.0");
  join("w4", "2.0");
  const gateway = (id: string, version: string) => {
    deploys.seen(version);
    gateways.register({ nodeId: id, httpAddress: `${id}:80`, version });
  };
  /** Every worker reports running the current epoch with nothing pending: moves complete. */
  const beat = () => {
    for (const w of [...registry.workers.values()]) {
      if (w.state === "down") continue;
      registry.heartbeat(w.id, {
        tick: 1,
        epoch: registry.map.epoch,
        cells: [],
        ghosts: 0,
        tickP50Ms: 1,
        tickP99Ms: 1,
        pendingTransfers: 0,
      });
    }
  };
  const ownersOf = (version: string) =>
    registry.map.owners.filter((o) => registry.workers.get(o)?.version === version).length;
  return {
    registry,
    gateways,
    deploys,
    gateway,
    beat,
    ownersOf,
    rooms,
    advance: (ms: number) => (now += ms),
    published: () => published,
  };
}

const codeOf = (fn: () => unknown) => {
  try {
    fn();
  } catch (error) {
    assert.ok(error instanceof CodedError, String(error));
    return error.code;
  }
  assert.fail("expected an error");
};

Deno.test("the first version seen is live, later ones staged; staged spares are not placeable", () => {
  const { deploys, ownersOf } = make();
  assert.equal(deploys.live, "1.0");
  assert.equal(deploys.versions.get("2.0")?.state, "staged");
  assert.equal(deploys.placeable("1.0"), true);
  assert.equal(deploys.placeable("2.0"), false);
  assert.equal(ownersOf("1.0"), 16);
});

Deno.test("a deploy moves every cell to the new version at the configured rate, then drains the old", () => {
  const t = make(2);
  t.deploys.start("2.0");
  assert.equal(t.deploys.versions.get("2.0")?.state, "rolling_out");
  assert.equal(t.deploys.holding, true);
  let steps = 0;
  let elapsed = 0;
  while (t.deploys.current && steps++ < 200) {
    t.advance(100);
    elapsed += 100;
    t.deploys.step();
    // Never more cells moved than the rate allows over the time so far (plus the one-cell burst).
    const moved = t.deploys.current?.moves ?? t.deploys.runs[0].moves;
    assert.ok(moved <= 2 * elapsed / 1000 + 1, `${moved} moves after ${elapsed} ms at 2/s`);
    t.beat();
  }
  const run = t.deploys.runs[0];
  assert.equal(run.state, "done");
  assert.equal(run.moves, 16);
  assert.ok(elapsed >= 7_000, `16 cells at 2/s take at least 7.5 s, took ${elapsed} ms`);
  assert.equal(t.ownersOf("2.0"), 16);
  assert.equal(t.deploys.live, "2.0");
  assert.equal(t.deploys.versions.get("1.0")?.state, "draining");
  // Old workers own nothing: the next step drains them; their next beat finishes the drain.
  t.deploys.step();
  t.beat();
  assert.equal(t.registry.workers.get("w1")?.state, "drained");
  assert.equal(t.registry.workers.get("w2")?.state, "drained");
  t.registry.leave("w1");
  t.registry.leave("w2");
  t.deploys.step();
  assert.equal(t.deploys.versions.get("1.0")?.state, "retired");
  assert.ok(t.published() >= 3, "every version change is published");
});

Deno.test("an old-version worker hosting rooms drains only once its last room ended", () => {
  const t = make(100);
  t.rooms.set("w1", 2);
  // Before the deploy the live version takes new rooms, the staged one does not.
  assert.equal(t.deploys.hostsNewRooms("1.0"), true);
  assert.equal(t.deploys.hostsNewRooms("2.0"), false);
  t.deploys.start("2.0");
  assert.equal(t.deploys.hostsNewRooms("2.0"), false, "rolling out is not live yet");
  for (let n = 0; n < 50 && t.deploys.current; n++) (t.advance(200), t.deploys.step(), t.beat());
  assert.equal(t.deploys.live, "2.0");
  assert.equal(t.deploys.hostsNewRooms("2.0"), true);
  assert.equal(t.deploys.hostsNewRooms("1.0"), false);
  for (let n = 0; n < 5; n++) (t.advance(200), t.deploys.step(), t.beat());
  // w2 hosts nothing: drained; w1 still hosts two rooms: it stays, owning no cell.
  assert.equal(t.registry.workers.get("w2")?.state, "drained");
  assert.equal(t.registry.workers.get("w1")?.state, "active");
  assert.equal(t.ownersOf("1.0"), 0);
  const old = () =>
    (t.deploys.state().versions as Array<{ version: string; instances: number }>)
      .find((v) => v.version === "1.0")!;
  assert.equal(old().instances, 2);
  t.rooms.set("w1", 1);
  t.deploys.step();
  assert.equal(t.registry.workers.get("w1")?.state, "active", "one room is left");
  t.rooms.delete("w1");
  t.deploys.step();
  t.beat();
  assert.equal(t.registry.workers.get("w1")?.state, "drained");
  assert.equal(old().instances, 0);
});

Deno.test("rollback of a half-done deploy returns every cell to the old version", () => {
  const t = make(4);
  t.deploys.start("2.0");
  for (let n = 0; n < 8 && t.ownersOf("2.0") < 6; n++) {
    t.advance(250);
    t.deploys.step();
    t.beat();
  }
  assert.ok(
    t.ownersOf("2.0") >= 4 && t.ownersOf("2.0") < 16,
    `half done: ${t.ownersOf("2.0")} on B`,
  );
  t.deploys.pause();
  const paused = t.ownersOf("2.0");
  t.advance(5_000);
  t.deploys.step();
  t.beat();
  assert.equal(t.ownersOf("2.0"), paused, "a paused deploy moves nothing");
  t.deploys.rollback();
  for (let n = 0; n < 100 && t.deploys.current; n++) {
    t.advance(250);
    t.deploys.step();
    t.beat();
  }
  assert.equal(t.deploys.runs[0].state, "rolled_back");
  assert.equal(t.ownersOf("1.0"), 16);
  assert.equal(t.deploys.live, "1.0");
  assert.equal(t.deploys.versions.get("2.0")?.state, "draining");
  t.deploys.step();
  t.beat();
  assert.equal(t.registry.workers.get("w3")?.state, "drained");
});

Deno.test("bad deploy requests are refused with a code and change nothing", () => {
  const t = make();
  assert.equal(codeOf(() => t.deploys.start("9.9")), "NOT_FOUND");
  assert.equal(codeOf(() => t.deploys.start("1.0")), "CONFLICT", "already live everywhere");
  assert.equal(codeOf(() => t.deploys.pause()), "CONFLICT", "nothing to pause");
  assert.equal(codeOf(() => t.deploys.rollback()), "CONFLICT", "nothing to roll back");
  assert.equal(t.deploys.runs.length, 0);
  t.deploys.start("2.0");
  assert.equal(codeOf(() => t.deploys.start("2.0")), "CONFLICT", "one run at a time");
  assert.equal(codeOf(() => t.deploys.resume()), "CONFLICT", "running, not paused");
  t.deploys.abort();
  assert.equal(t.deploys.runs[0].state, "aborted");
  assert.equal(t.deploys.versions.get("2.0")?.state, "staged");
  assert.equal(t.deploys.holding, false);
});

Deno.test("the map lists the live version's gateways; a replaced version's are flagged draining", () => {
  const t = make(1000);
  t.gateway("g1", "1.0");
  t.gateway("g2", "2.0");
  const ids = () =>
    t.deploys.listGateways(t.gateways.list()).map((g) => `${g.id}${g.draining ? "*" : ""}`);
  assert.deepEqual(ids(), ["g1"], "a staged version's gateway gets no client");
  t.deploys.start("2.0");
  for (let n = 0; n < 20 && t.deploys.current; n++) {
    t.advance(1_000);
    t.deploys.step();
    t.beat();
  }
  assert.equal(t.deploys.live, "2.0");
  assert.deepEqual(ids(), ["g2", "g1*"]);
  const state = t.deploys.state() as { versions: Array<Record<string, unknown>> };
  assert.deepEqual(
    state.versions.map((v) => [v.version, v.state, v.workers, v.gateways, v.cells]),
    [["2.0", "live", 2, 1, 16], ["1.0", "draining", 2, 1, 0]],
  );
});

Deno.test("a deploy fills every new-version worker, not only the first", () => {
  const t = make(1000);
  t.deploys.start("2.0");
  for (let n = 0; n < 20 && t.deploys.current; n++) {
    t.advance(1_000);
    t.deploys.step();
    t.beat();
  }
  assert.equal(t.registry.map.cellsOf("w3").length, 8);
  assert.equal(t.registry.map.cellsOf("w4").length, 8);
});

Deno.test("another game version joins only as a new version, and a mixed world is not aborted", () => {
  const t = make(4);
  const game = { name: "demo", version: "1" };
  // The live version's workers run its game; the staged 2.0 was seen with game 1 in make().
  assert.equal(t.deploys.gameRefusal({ version: "1.0", gameVersion: "1" }, game), undefined);
  assert.match(
    t.deploys.gameRefusal({ version: "1.0", gameVersion: "2" }, game)!,
    /^GAME_MISMATCH: the worker runs game demo@2 but the cluster runs demo@1 on version 1\.0; another game version comes with a new version \(ZS_VERSION\) and a deploy/,
  );
  assert.match(
    t.deploys.gameRefusal({ version: "2.0", gameVersion: "2" }, game)!,
    /^GAME_MISMATCH: the worker runs game demo@2 but the workers of version 2\.0 run demo@1/,
  );
  // A new version may bring a new game version; its next workers must run the same.
  assert.equal(t.deploys.gameRefusal({ version: "3.0", gameVersion: "2" }, game), undefined);
  t.deploys.seen("3.0", "2");
  assert.equal(t.deploys.gameRefusal({ version: "3.0", gameVersion: "2" }, game), undefined);
  assert.match(t.deploys.gameRefusal({ version: "3.0", gameVersion: "3" }, game)!, /run demo@2/);

  // 2.0 with game 2: once some cells run it, abort would leave two game versions mixed.
  t.deploys.versions.get("2.0")!.gameVersion = "2";
  t.deploys.start("2.0");
  assert.equal(t.deploys.abort().state, "aborted", "nothing moved yet: abort is fine");
  t.deploys.start("2.0");
  for (let n = 0; n < 10 && t.ownersOf("2.0") < 4; n++) {
    (t.advance(250), t.deploys.step(), t.beat());
  }
  assert.ok(t.ownersOf("2.0") > 0);
  assert.equal(codeOf(() => t.deploys.abort()), "CONFLICT");
  assert.equal(t.deploys.current?.state, "running", "the refused abort changed nothing");
  assert.equal(t.deploys.rollback().state, "rolling_back");
});
