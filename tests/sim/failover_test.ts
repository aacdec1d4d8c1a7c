import assert from "node:assert/strict";
import { type Batch, decodeBatch, encodeBatch } from "../../src/sync/batch_codec.ts";
import { demoGame } from "../../src/games/demo.ts";
import { Grid } from "../../src/world/grid.ts";
import { assignRegions, PartitionMap } from "../../src/world/partition.ts";
import { Space } from "../../src/sim/space.ts";

const grid = new Grid({ dims: 2, size: [600, 200], cellSize: 100 });
const gameOptions = { npcs: 300, speed: 80, bumpRadius: 8, bumpCooldownTicks: 5, seed: 11 };

/**
 * Spaces in one process exchanging batches through the real codec. `dead` workers' batches
 * are never delivered, and batches to them vanish (a kill -9).
 */
function cluster(ids: string[], options: { replicationTicks?: number; seed?: number } = {}) {
  const spaces = new Map(
    ids.map((id, index) => [
      id,
      new Space({
        id,
        index,
        grid,
        tickHz: 20,
        ghostMargin: 30,
        game: demoGame,
        gameOptions: { ...gameOptions, seed: options.seed ?? gameOptions.seed },
        replicationTicks: options.replicationTicks ?? 2,
      }),
    ]),
  );
  const dead = new Set<string>();
  /** Batches the network loses (a reset link), decided per batch. */
  const lose = {
    batch: (_from: string, _peer: string, _batch: Batch, _all: Map<string, Map<string, Batch>>) =>
      false,
  };
  /** Handoffs sent and not delivered yet, by entity (the ones a dead worker never got). */
  const lastOut = new Map<string, Map<string, Batch>>();
  const step = (tick: number) => {
    const outs = new Map<string, Map<string, Batch>>();
    for (const [id, space] of spaces) {
      if (dead.has(id)) continue;
      outs.set(
        id,
        new Map([...space.step(tick)].map(([peer, b]) => [peer, decodeBatch(encodeBatch(b))])),
      );
    }
    for (const [from, out] of outs) {
      for (const [peer, batch] of out) {
        if (dead.has(from) || dead.has(peer) || lose.batch(from, peer, batch, outs)) continue;
        spaces.get(peer)?.receive(batch);
      }
    }
    lastOut.clear();
    for (const [from, out] of outs) lastOut.set(from, out);
  };
  const setMap = (map: PartitionMap) => {
    for (const [id, space] of spaces) if (!dead.has(id)) space.setMap(map);
  };
  /** Ids owned by live spaces; fails on an id owned twice. */
  const owned = (tick: number) => {
    const seen = new Set<number>();
    for (const [id, space] of spaces) {
      if (dead.has(id)) continue;
      for (const e of space.owned.keys()) {
        assert.ok(!seen.has(e), `entity ${e} owned twice at tick ${tick}`);
        seen.add(e);
      }
    }
    return seen;
  };
  /** Entities inside handoffs of the last tick's batches (between owners for a tick). */
  const inFlight = () => {
    const ids = new Set<number>();
    for (const [from, out] of lastOut) {
      if (dead.has(from)) continue;
      for (const [peer, batch] of out) {
        if (dead.has(peer)) continue;
        for (const h of batch.handoffs) ids.add(h.entity.id);
      }
    }
    return ids;
  };
  /** Every entity: owned or inside a handoff. */
  const everything = (tick: number) => new Set([...owned(tick), ...inFlight()]);
  return { spaces, dead, lose, step, setMap, owned, inFlight, everything, lastOut };
}

/** Worlds the trickiest scenarios run in: kill ticks and races differ with each. */
const SEEDS = [11, 52, 53, 56];

const backups = (pairs: Record<string, string>) => new Map(Object.entries(pairs));

function assertAll(expected: Set<number>, c: ReturnType<typeof cluster>, tick: number) {
  const have = c.owned(tick);
  for (const id of c.inFlight()) have.add(id);
  const missing = [...expected].filter((id) => !have.has(id));
  assert.deepEqual(missing, [], `entities lost at tick ${tick}`);
}

Deno.test("a dead worker's backup promotes its mirror: 0 entities lost, one owner per tick", () => {
  for (const seed of SEEDS) {
    const ids = ["a", "b", "c"];
    const owners = assignRegions(grid, ids);
    const c = cluster(ids, { seed });
    const roles = { backups: backups({ a: "b", b: "c", c: "a" }) };
    c.setMap(new PartitionMap(1, owners, roles));
    // A player on a: its session must survive the death.
    const a = c.spaces.get("a")!;
    const home = owners.indexOf("a");
    const x = (grid.cellMin(home, 0) + grid.cellMax(home, 0)) / 2;
    const y = (grid.cellMin(home, 1) + grid.cellMax(home, 1)) / 2;
    a.command("g1", { op: "join", session: "s1", name: "p", resumeJti: "j", x, y, z: 0 });
    let tick = 1;
    c.step(tick);
    const player = [...a.owned.values()].find((e) => e.session)!;
    assert.ok(player, "the player joined on a");
    const all = c.everything(tick);
    assert.equal(all.size, gameOptions.npcs + 1);
    for (tick = 2; tick <= 60; tick++) (c.step(tick), assertAll(all, c, tick));
    // Kill a at a tick where others just handed entities to it: those handoffs vanish.
    let intoVoid: number[] = [];
    for (; tick < 400 && intoVoid.length === 0; tick++) {
      c.step(tick);
      intoVoid = [...c.lastOut].filter(([from]) => from !== "a")
        .flatMap(([, out]) => out.get("a")?.handoffs.map((h) => h.entity.id) ?? []);
    }
    assert.ok(intoVoid.length > 0, "some handoff went to a just before it died");
    c.dead.add("a");
    // The coordinator notices: a's cells go to its backup b; b gets a new backup.
    const afterOwners = owners.map((o) => o === "a" ? "b" : o);
    c.setMap(
      new PartitionMap(2, afterOwners, {
        backups: backups({ b: "c", c: "b" }),
        down: new Set(["a"]),
      }),
    );
    const b = c.spaces.get("b")!;
    for (const stop = tick + 80; tick < stop; tick++) (c.step(tick), assertAll(all, c, tick));
    assert.ok(b.counters.promoted > 0, "b promoted a's mirror");
    for (const id of intoVoid) {
      assert.ok(c.everything(tick).has(id), `held handoff of ${id} re-routed`);
    }
    const promotedPlayer = b.owned.get(player.id) ?? c.spaces.get("c")!.owned.get(player.id);
    assert.equal(promotedPlayer?.session?.id, "s1", "the player's session survived");
    // Its diffs flow again from whichever worker owns it now.
    const owner = b.owned.has(player.id) ? b : c.spaces.get("c")!;
    owner.step(tick);
    assert.ok(owner.takeReports().get("g1")?.diffs.some((d) => d.session === "s1"));
  }
});

Deno.test("a fenced worker's batches are refused and it learns it was fenced", () => {
  const ids = ["a", "b"];
  const owners = assignRegions(grid, ids);
  const c = cluster(ids);
  c.setMap(new PartitionMap(1, owners, { backups: backups({ a: "b", b: "a" }) }));
  for (let tick = 1; tick <= 40; tick++) c.step(tick);
  const all = c.everything(40);
  const a = c.spaces.get("a")!;
  const b = c.spaces.get("b")!;
  // a pauses: the coordinator gives its cells to b.
  c.dead.add("a");
  const down = new PartitionMap(2, owners.map(() => "b"), { down: new Set(["a"]) });
  b.setMap(down);
  for (let tick = 41; tick <= 60; tick++) c.step(tick);
  assert.equal(b.owned.size, all.size, "b owns every entity");
  // a resumes on its old map and sends a batch with handoffs: b refuses it.
  const stale = a.step(61).get("b");
  assert.ok(stale, "a still talks to b");
  const before = b.counters.batchesFenced;
  b.receive(decodeBatch(encodeBatch(stale)));
  b.step(62);
  assert.equal(b.counters.batchesFenced, before + 1);
  assert.equal(b.owned.size, all.size, "nothing of a's was adopted");
  a.setMap(down);
  assert.equal(a.fenced, true);
  assert.equal(a.step(63).size, 0, "a fenced space sends nothing");
});

Deno.test("a fenced worker's new space ignores the map it kept from before: it owns nothing", () => {
  const ids = ["a", "b"];
  const owners = assignRegions(grid, ids);
  const c = cluster(ids);
  const first = new PartitionMap(1, owners, { backups: backups({ a: "b", b: "a" }) });
  c.setMap(first);
  for (let tick = 1; tick <= 40; tick++) c.step(tick);
  c.dead.add("a");
  const b = c.spaces.get("b")!;
  b.setMap(new PartitionMap(2, owners.map(() => "b"), { down: new Set(["a"]) }));
  for (let tick = 41; tick <= 60; tick++) c.step(tick);
  const all = c.everything(60);
  // a comes back, is fenced and registers again at epoch 3 (a spare now). The last map it heard
  // before its pause is epoch 1, where it owned half the world: applied to its fresh space, it
  // would start that half of the world again under the same ids b already owns.
  const rejoined = new Space({
    id: "a",
    index: 5,
    grid,
    tickHz: 20,
    ghostMargin: 30,
    game: demoGame,
    gameOptions,
    replicationTicks: 2,
    epoch: 3,
  });
  c.spaces.set("a", rejoined);
  c.dead.delete("a");
  rejoined.setMap(first);
  assert.equal(rejoined.map.epoch, 3, "the epoch-1 map is older than the registration");
  c.setMap(new PartitionMap(3, owners.map(() => "b"), { backups: backups({ b: "a" }) }));
  for (let tick = 61; tick <= 80; tick++) c.step(tick);
  assert.equal(rejoined.owned.size, 0, "the spare owns nothing");
  assert.deepEqual(c.owned(80), all, "every entity once, on b");
});

Deno.test("with a spare, the backup transfers the dead worker's mirror to it", () => {
  for (const seed of SEEDS) {
    const ids = ["a", "b", "s"];
    const owners = assignRegions(grid, ["a", "b"]);
    const c = cluster(ids, { seed });
    c.setMap(new PartitionMap(1, owners, { backups: backups({ a: "b", b: "a" }) }));
    let tick = 1;
    for (; tick <= 50; tick++) c.step(tick);
    const all = c.everything(tick);
    c.dead.add("a");
    const afterOwners = owners.map((o) => o === "a" ? "s" : o);
    c.setMap(
      new PartitionMap(2, afterOwners, {
        backups: backups({ b: "s", s: "b" }),
        down: new Set(["a"]),
      }),
    );
    for (const stop = tick + 60; tick < stop; tick++) {
      c.step(tick);
      assertAll(all, c, tick);
    }
    const s = c.spaces.get("s")!;
    assert.ok(s.counters.migrationsIn > 0, "the spare accepted cell transfers");
    assert.ok(s.owned.size > 0);
    assert.equal(c.spaces.get("b")!.pendingTransfers, 0, "every transfer acknowledged");
  }
});

Deno.test("without replicas the taker respawns world-start entities under fresh ids", () => {
  const ids = ["a", "b"];
  const owners = assignRegions(grid, ids);
  const c = cluster(ids, { replicationTicks: 0 });
  c.setMap(new PartitionMap(1, owners));
  let tick = 1;
  for (; tick <= 30; tick++) c.step(tick);
  c.dead.add("a");
  c.setMap(new PartitionMap(2, owners.map(() => "b"), { down: new Set(["a"]) }));
  for (const stop = tick + 5; tick < stop; tick++) c.step(tick);
  const b = c.spaces.get("b")!;
  assert.ok(b.counters.respawned > 0, "b respawned a's world-start entities");
  c.owned(tick); // no id twice
});

Deno.test("a handoff lost on the wire is sent again until its receiver confirms it", () => {
  const ids = ["a", "b"];
  const owners = assignRegions(grid, ids);
  const c = cluster(ids);
  c.setMap(new PartitionMap(1, owners, { backups: backups({ a: "b", b: "a" }) }));
  let tick = 1;
  for (; tick <= 20; tick++) c.step(tick);
  const all = c.everything(tick);
  // The first batch from a to b with handoffs in it is lost.
  const lost: number[] = [];
  c.lose.batch = (from, _peer, batch) => {
    if (from !== "a" || lost.length > 0 || batch.handoffs.length === 0) return false;
    lost.push(...batch.handoffs.map((h) => h.entity.id));
    return true;
  };
  for (; lost.length === 0 && tick < 200; tick++) c.step(tick);
  assert.ok(lost.length > 0, "a batch with handoffs was lost");
  const a = c.spaces.get("a")!;
  assert.ok(a.pendingHandoffs >= lost.length, "a holds what it handed off");
  for (const stop = tick + 60; tick < stop; tick++) c.step(tick);
  const have = c.everything(tick);
  for (const id of lost) assert.ok(have.has(id), `entity ${id} arrived after a resend`);
  assert.equal(have.size, all.size, "no entity lost or made up");
  assert.ok(a.counters.handoffsResent > 0);
});

Deno.test("a receiver's claim keeps the backup from promoting a mirror its owner had handed off", () => {
  for (const seed of SEEDS) {
    const ids = ["a", "b", "c"];
    const owners = assignRegions(grid, ids);
    const c = cluster(ids, { seed });
    c.setMap(new PartitionMap(1, owners, { backups: backups({ a: "b", b: "c", c: "a" }) }));
    let tick = 1;
    for (; tick <= 30; tick++) c.step(tick);
    const all = c.everything(tick);
    // a hands entities to c, and dies before its batch to its backup b leaves: b's mirror still
    // lists them as a's. c's claims must stop b from promoting them beside c's copies.
    let killed = false;
    c.lose.batch = (from, peer, _batch, outs) => {
      const toC = outs.get("a")?.get("c")?.handoffs.length ?? 0;
      if (from === "a" && peer === "b" && toC > 0 && !killed) return (killed = true);
      return false;
    };
    for (; !killed && tick < 400; tick++) c.step(tick);
    assert.ok(killed, "a handed entities to c at some tick");
    c.lose.batch = () => false;
    c.dead.add("a");
    // c adopts them at its next tick and claims them to b, before the coordinator notices.
    c.step(tick++);
    const afterOwners = owners.map((o) => o === "a" ? "b" : o);
    c.setMap(
      new PartitionMap(2, afterOwners, {
        backups: backups({ b: "c", c: "b" }),
        down: new Set(["a"]),
      }),
    );
    for (const stop = tick + 40; tick < stop; tick++) (c.step(tick), assertAll(all, c, tick));
    assert.equal(
      c.spaces.get("b")!.counters.duplicatesDropped,
      0,
      "claims arrived before promotion",
    );
  }
});

Deno.test("a death during a live cell migration loses nothing, as sender or as receiver", () => {
  for (const victim of ["a", "c"]) {
    const ids = ["a", "b", "c"];
    const owners = assignRegions(grid, ids);
    const c = cluster(ids);
    const roles = { backups: backups({ a: "b", b: "c", c: "a" }) };
    c.setMap(new PartitionMap(1, owners, roles));
    let tick = 1;
    for (; tick <= 40; tick++) c.step(tick);
    const all = c.everything(tick);
    // a's most crowded cell moves to c; the victim dies on the tick the transfer leaves.
    const a = c.spaces.get("a")!;
    const perCell = new Map<number, number>();
    for (const e of a.owned.values()) perCell.set(e.cell, (perCell.get(e.cell) ?? 0) + 1);
    const [cell] = [...perCell].sort((x, y) => y[1] - x[1])[0];
    const moved = [...owners];
    moved[cell] = "c";
    c.setMap(new PartitionMap(2, moved, roles));
    c.step(tick++);
    const sent = c.lastOut.get("a")?.get("c")?.transfers.length ?? 0;
    assert.equal(sent, 1, "a sent the cell");
    c.dead.add(victim);
    const heir = victim === "a" ? "b" : "a";
    const after = moved.map((o) => o === victim ? heir : o);
    const left = ids.filter((id) => id !== victim);
    c.setMap(
      new PartitionMap(3, after, {
        backups: backups({ [left[0]]: left[1], [left[1]]: left[0] }),
        down: new Set([victim]),
      }),
    );
    for (const stop = tick + 60; tick < stop; tick++) (c.step(tick), assertAll(all, c, tick));
    assert.equal(c.everything(tick).size, all.size, `${victim} died: nothing lost or made up`);
  }
});
