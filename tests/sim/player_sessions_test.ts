import assert from "node:assert/strict";
import { type DiffMessage, Op } from "../../src/protocol/client_protocol.ts";
import { ClientView } from "../../src/session/client_view.ts";
import { demoGame } from "../../src/games/demo.ts";
import { Grid } from "../../src/world/grid.ts";
import { PartitionMap } from "../../src/world/partition.ts";
import {
  decodeCommands,
  decodeReport,
  encodeCommands,
  encodeReport,
} from "../../src/session/session_wire.ts";
import type { GatewayCommand, WorkerReport } from "../../src/session/session_messages.ts";
import { LocalCluster } from "../../testing/local_cluster.ts";

const grid = new Grid({ dims: 2, size: [200, 100], cellSize: 100 });
const game = { npcs: 20, speed: 40, bumpRadius: 4, bumpCooldownTicks: 20, seed: 3 };

function world(options: { snapshotEvery?: number; owners?: string[] } = {}) {
  /** The players' wall clock, moved by the test. */
  const clock = { ms: 1_000_000 };
  const { owners = ["a", "b"], ...spaceOptions } = options;
  const cluster = LocalCluster.of(["a", "b"], {
    ...spaceOptions,
    grid,
    tickHz: 20,
    ghostMargin: 30,
    aoiRadius: 25,
    resumeGraceMs: 1_000,
    game: demoGame,
    gameOptions: game,
    now: () => clock.ms,
  });
  cluster.setMap(new PartitionMap(1, owners));
  const reports: WorkerReport[] = [];
  /** Every report with the gateway it is for. */
  const sentTo: Array<[string, WorkerReport]> = [];
  const step = (tick: number) => {
    const outs = cluster.spaces.map((s) => new Map(s.step(tick)));
    for (const s of cluster.spaces) {
      for (const [gateway, report] of s.takeReports()) {
        const decoded = decodeReport(encodeReport(report));
        if (gateway === "g1") reports.push(decoded);
        sentTo.push([gateway, decoded]);
      }
    }
    for (const out of outs) cluster.deliver(out);
  };
  /** Sends commands through the real wire codec. */
  const sendFrom = (gateway: string, worker: string, ...commands: GatewayCommand[]) => {
    const decoded = decodeCommands(encodeCommands(gateway, commands));
    for (const c of decoded.commands) cluster.get(worker).command(decoded.gateway, c);
  };
  const send = (worker: string, ...commands: GatewayCommand[]) =>
    sendFrom("g1", worker, ...commands);
  return { spaces: cluster.spaces, step, send, sendFrom, reports, sentTo, clock };
}

const asDiff = (d: WorkerReport["diffs"][number], tick: number): DiffMessage => ({
  op: Op.DIFF,
  tick,
  ack: d.ack,
  full: d.full || undefined,
  enter: d.enter,
  update: d.update,
  leave: d.leave,
});

Deno.test("a player walking across a worker border gets a continuous view of itself and its area", () => {
  const { spaces, step, send, reports } = world();
  const [a, b] = spaces;
  send("a", { op: "join", session: "s1", name: "ann", resumeJti: "j1", x: 60, y: 50, z: 0 });
  step(1);
  const joined = reports.flatMap((r) => r.joined);
  assert.deepEqual(joined.map((j) => j.session), ["s1"]);
  const entity = joined[0].entity;
  const view = new ClientView();
  let owner = "a";
  let seq = 0;
  let lastTick = -1;
  let handoffAt = 0;
  for (let tick = 2; tick <= 80; tick++) {
    // Inputs go to the worker the gateway last heard from, like the gateway does.
    send(owner, { op: "input", entity, conn: "j1", input: { seq: ++seq, move: [1, 0] } });
    step(tick);
    for (const report of reports.splice(0)) {
      for (const d of report.diffs) {
        assert.equal(d.session, "s1");
        if (report.worker !== owner) {
          owner = report.worker;
          handoffAt = report.tick;
          assert.ok(d.full, "the new owner starts with a full set");
        }
        assert.equal(report.tick - lastTick, 1, `no tick skipped: ${lastTick} → ${report.tick}`);
        lastTick = report.tick;
        view.apply(asDiff(d, report.tick));
        assert.ok(view.has(entity), `own entity visible at tick ${report.tick}`);
      }
    }
  }
  step(81); // the state after tick 80 is shown at the start of tick 81
  for (const report of reports.splice(0)) {
    for (const d of report.diffs) view.apply(asDiff(d, report.tick));
  }
  assert.equal(owner, "b", "the player crossed to b");
  assert.ok(handoffAt > 0);
  assert.ok(b.owned.get(entity)!.x > 100);
  assert.equal(
    b.owned.get(entity)!.session?.lastSeq,
    seq,
    "every input applied, acks follow the player",
  );
  assert.equal(view.ack, seq, "the client's ack is the last input applied");
  assert.equal(
    view.repairs.reentered + view.repairs.unknownUpdates + view.repairs.unknownLeaves,
    0,
  );
  assert.ok(!a.owned.has(entity));
});

Deno.test("a worker owning every cell sends a tick's DIFF at its end, a tick before one with a peer would", () => {
  for (const [owners, late] of [[["a", "a"], 0], [["a", "b"], 1]] as const) {
    const { step, send, reports } = world({ owners: [...owners] });
    send("a", { op: "join", session: "s1", name: "ann", resumeJti: "j1", x: 60, y: 50, z: 0 });
    step(1);
    const entity = reports.flatMap((r) => r.joined)[0].entity;
    step(2);
    step(3);
    send("a", { op: "input", entity, conn: "j1", input: { seq: 5, move: [1, 0] } });
    const before = reports.length;
    step(4);
    const at4 = reports.slice(before).flatMap((r) => r.diffs.map((d) => [r.tick, d.ack]));
    step(5);
    const at5 = reports.slice(before).flatMap((r) => r.diffs.map((d) => [r.tick, d.ack]));
    // The input is applied in tick 4; the DIFF showing it is of tick 4 either way.
    if (late === 0) assert.deepEqual(at4, [[4, 5]], `owners ${owners}`);
    else {
      assert.deepEqual(at4, [[3, 0]], `owners ${owners}`);
      assert.deepEqual(at5, [[3, 0], [4, 5]], `owners ${owners}`);
    }
  }
});

Deno.test("one DIFF per tick, in order, as a worker comes to own every cell and gives one back", () => {
  const { step, send, reports, spaces } = world();
  send("b", { op: "join", session: "s1", name: "ann", resumeJti: "j1", x: 160, y: 50, z: 0 });
  step(1);
  const entity = reports.flatMap((r) => r.joined)[0].entity;
  const view = new ClientView();
  const shown: number[] = [];
  /** Ticks whose DIFF came out of their own step (a owning every cell). */
  const atOnce: number[] = [];
  let seq = 0;
  for (let tick = 2; tick <= 40; tick++) {
    // b's cell moves to a (which then owns every cell: DIFFs at the tick's end), then back.
    if (tick === 12) { for (const s of spaces) s.setMap(new PartitionMap(2, ["a", "a"])); }
    if (tick === 26) { for (const s of spaces) s.setMap(new PartitionMap(3, ["a", "b"])); }
    const owner = spaces.find((s) => s.owned.has(entity))?.id ?? "b";
    send(owner, { op: "input", entity, conn: "j1", input: { seq: ++seq, move: [0, 0] } });
    step(tick);
    // As the gateway does: each diff in report order, never one of a tick already shown.
    for (const report of reports.splice(0)) {
      for (const d of report.diffs) {
        const at = d.tick ?? report.tick;
        if (at <= (shown.at(-1) ?? -1)) continue;
        shown.push(at);
        if (at === tick) atOnce.push(at);
        view.apply(asDiff(d, at));
        assert.ok(view.has(entity), `own entity visible at tick ${at}`);
      }
    }
  }
  assert.ok(spaces[1].owned.has(entity), "back on b");
  const expected = Array.from({ length: shown.length }, (_, i) => shown[0] + i);
  assert.deepEqual(shown, expected, "every tick once, none skipped");
  assert.equal(shown.at(-1), 39, "b shows tick 39 at the start of tick 40");
  // From the tick after a adopted ann (its first DIFF of her is of the tick before) until the
  // cell went back, a sent each tick's DIFF in that tick.
  assert.ok(atOnce.length >= 10, `DIFFs at once: ${atOnce}`);
  assert.ok(atOnce.every((t) => t > 12 && t < 27), `DIFFs at once: ${atOnce}`);
  assert.equal(
    view.repairs.reentered + view.repairs.unknownUpdates + view.repairs.unknownLeaves,
    0,
  );
});

Deno.test("at snapshotHz = tickHz / 2 a player gets a DIFF of every even tick, with every change since, across a border", () => {
  const { spaces, step, send, reports } = world({ snapshotEvery: 2 });
  send("a", { op: "join", session: "s1", name: "ann", resumeJti: "j1", x: 80, y: 50, z: 0 });
  step(1);
  const entity = reports.flatMap((r) => r.joined)[0].entity;
  const view = new ClientView();
  // The first view travels with the join (tick 0, between snapshots): full.
  for (const d of reports.splice(0).flatMap((r) => r.diffs)) view.apply(asDiff(d, 0));
  let owner = "a";
  let seq = 0;
  const ticks: number[] = [];
  /** The player's x after each tick, wherever it is owned. */
  const xAfter = new Map<number, number>();
  let compared = 0;
  for (let tick = 2; tick <= 41; tick++) {
    send(owner, { op: "input", entity, conn: "j1", input: { seq: ++seq, move: [1, 0] } });
    step(tick);
    for (const report of reports.splice(0)) {
      for (const d of report.diffs) {
        owner = report.worker;
        ticks.push(report.tick);
        view.apply(asDiff(d, report.tick));
        // Two ticks of movement in one DIFF: the state after the DIFF's tick, not older.
        const x = view.snapshot().enter.find((e) => e[0] === entity)?.[2];
        if (xAfter.has(report.tick)) {
          assert.equal(x, xAfter.get(report.tick), `x at tick ${report.tick}`);
          compared++;
        }
      }
    }
    // In flight during a handoff (owned by neither for that tick's end): nothing to compare.
    const here = spaces.find((s) => s.owned.has(entity));
    if (here) xAfter.set(tick, here.owned.get(entity)!.x);
  }
  assert.deepEqual(ticks, Array.from({ length: 20 }, (_, i) => 2 * (i + 1)), "ticks 2, 4 … 40");
  assert.equal(owner, "b", "the player crossed to b");
  assert.ok(compared >= 18, `compared ${compared} of 20 DIFFs with the owner's state`);
  assert.equal(view.ack, seq - 1, "the last DIFF (tick 40) acknowledges the input applied in it");
  assert.equal(
    view.repairs.reentered + view.repairs.unknownUpdates + view.repairs.unknownLeaves,
    0,
  );
});

Deno.test("input sent to the old owner after a handoff is forwarded and applied once", () => {
  const { spaces, step, send, reports } = world();
  const [a, b] = spaces;
  send("a", { op: "join", session: "s1", name: "ann", resumeJti: "j1", x: 99, y: 50, z: 0 });
  step(1);
  const entity = reports.flatMap((r) => r.joined)[0].entity;
  send("a", { op: "input", entity, conn: "j1", input: { seq: 1, move: [1, 0] } });
  step(2);
  for (let t = 3; t < 8; t++) step(t);
  assert.ok(b.owned.has(entity));
  send("a", { op: "input", entity, conn: "j1", input: { seq: 2, move: [0, 1] } }); // stale route
  send("a", { op: "input", entity, conn: "j1", input: { seq: 2, move: [0, 1] } }); // duplicate
  for (let t = 8; t < 12; t++) step(t);
  const player = b.owned.get(entity)!;
  assert.equal(player.session?.lastSeq, 2);
  assert.ok(player.vy > 0, "the forwarded input took effect");
  assert.ok(!a.owned.has(entity));
});

Deno.test("a resume token works exactly once, and a detached player is removed after the grace period", () => {
  const { spaces, step, send, reports, clock } = world();
  const [a] = spaces;
  send("a", { op: "join", session: "s1", name: "ann", resumeJti: "j1", x: 30, y: 50, z: 0 });
  step(1);
  const entity = reports.flatMap((r) => r.joined)[0].entity;
  send("a", { op: "detach", entity, session: "s1", conn: "j1" });
  step(2);
  reports.length = 0;
  step(3);
  assert.equal(reports.flatMap((r) => r.diffs).length, 0, "no diffs while detached");
  send("a", { op: "resume", entity, session: "s1", jti: "j1", nextJti: "j2" });
  send("b", { op: "resume", entity, session: "s1", jti: "j1", nextJti: "j2" }); // not the owner: silent
  step(4);
  assert.deepEqual(reports.flatMap((r) => r.resumed), [{
    session: "s1",
    entity,
    ok: true,
    conn: "j2",
  }]);
  // The first (full) view travels with the answer.
  assert.ok(reports.flatMap((r) => r.diffs).some((d) => d.full), "a full view after resume");
  reports.length = 0;
  send("a", { op: "resume", entity, session: "s1", jti: "j1", nextJti: "j3" }); // replayed token
  step(5);
  assert.deepEqual(reports.flatMap((r) => r.resumed), [{
    session: "s1",
    entity,
    ok: false,
    conn: "j3",
  }]);
  send("a", { op: "detach", entity, session: "s1", conn: "j2" });
  step(6);
  clock.ms += 1_000; // exactly the grace period: still waiting
  reports.length = 0;
  step(7);
  assert.deepEqual(reports.flatMap((r) => r.gone), [], "kept for the whole grace period");
  assert.ok(a.owned.has(entity));
  clock.ms += 1;
  step(8);
  assert.deepEqual(reports.flatMap((r) => r.gone), [{ session: "s1", entity }]);
  assert.ok(!a.owned.has(entity));
});

Deno.test("malformed session commands and reports are rejected with BAD_BATCH", () => {
  const bad = [
    new Uint8Array([0xc1]),
    encodeCommands("g1", []).slice(0, 3),
  ];
  for (const bytes of bad) assert.throws(() => decodeCommands(bytes), /Cannot decode batch/);
  assert.throws(
    () =>
      decodeCommands(
        encodeCommands("g1", [{
          op: "input",
          entity: 1,
          conn: "j1",
          input: { seq: 1, move: [2, 0] },
        }]),
      ),
    /move\[0\] must be a number in -1\.\.1/,
  );
  assert.throws(() => decodeReport(encodeCommands("g1", [])), /worker must be a string/);
});

Deno.test("players of a gateway that left the cluster count as disconnected and expire", () => {
  const { spaces, step, send, reports, clock } = world();
  const [a] = spaces;
  a.players.gatewaysAlive(["g1"]);
  send("a", { op: "join", session: "s1", name: "ann", resumeJti: "j1", x: 30, y: 50, z: 0 });
  step(1);
  const entity = reports.flatMap((r) => r.joined)[0].entity;
  step(2);
  assert.equal(a.owned.get(entity)?.session?.detachedAt, 0);
  a.players.gatewaysAlive([]); // g1 missed its heartbeats
  step(3);
  assert.equal(a.owned.get(entity)!.session!.detachedAt, clock.ms, "detached now");
  reports.length = 0;
  clock.ms += 1_000;
  step(4);
  assert.equal(reports.flatMap((r) => r.diffs).length, 0, "no diffs for a gateway that is gone");
  assert.ok(a.owned.has(entity), "kept for the whole grace period");
  clock.ms += 1;
  step(5);
  assert.ok(!a.owned.has(entity), "removed after the grace period");
  assert.deepEqual(reports.flatMap((r) => r.gone), [{ session: "s1", entity }]);
});

Deno.test("a resume from another gateway supersedes the live connection: its inputs and detach are ignored", () => {
  const { spaces, step, send, sendFrom, sentTo, clock } = world();
  const [a] = spaces;
  send("a", { op: "join", session: "s1", name: "ann", resumeJti: "j1", x: 30, y: 50, z: 0 });
  step(1);
  const entity = sentTo.flatMap(([, r]) => r.joined)[0].entity;
  // The connection on g1 is still open; g2 resumes with its token.
  sendFrom("g2", "a", { op: "resume", entity, session: "s1", jti: "j1", nextJti: "j2" });
  sentTo.length = 0;
  step(2);
  const to = (gateway: string) => sentTo.filter(([g]) => g === gateway).map(([, r]) => r);
  assert.deepEqual(to("g1").flatMap((r) => r.superseded), [{ session: "s1", conn: "j1" }]);
  assert.equal(to("g2").flatMap((r) => r.diffs)[0]?.full, true, "with a full view");
  assert.deepEqual(to("g2").flatMap((r) => r.resumed), [
    { session: "s1", entity, ok: true, conn: "j2" },
  ]);
  // The superseded connection's input and detach change nothing.
  send("a", { op: "input", entity, conn: "j1", input: { seq: 7, move: [1, 0] } });
  send("a", { op: "detach", entity, session: "s1", conn: "j1" });
  sentTo.length = 0;
  step(3);
  assert.deepEqual(to("g1").flatMap((r) => r.diffs), [], "the old gateway gets no more diffs");

  const session = a.owned.get(entity)!.session!;
  assert.equal(session.lastSeq, 0, "no input from a superseded connection is applied");
  assert.equal(session.detachedAt, 0, "a superseded connection cannot end the session");
  // The current one's input is applied; a replay of the used token changes nothing.
  sendFrom("g2", "a", { op: "input", entity, conn: "j2", input: { seq: 1, move: [1, 0] } });
  sendFrom("g1", "a", { op: "resume", entity, session: "s1", jti: "j1", nextJti: "j3" });
  sentTo.length = 0;
  step(4);
  assert.equal(session.lastSeq, 1);
  assert.deepEqual(
    sentTo.flatMap(([, r]) => r.superseded),
    [],
    "a refused replay supersedes nobody",
  );
  assert.deepEqual(to("g1").flatMap((r) => r.resumed), [
    { session: "s1", entity, ok: false, conn: "j3" },
  ]);
  // A repeated round of the winning resume is answered yes again, and supersedes nobody.
  sendFrom("g2", "a", { op: "resume", entity, session: "s1", jti: "j1", nextJti: "j2" });
  sentTo.length = 0;
  step(5);
  assert.deepEqual(to("g2").flatMap((r) => r.resumed).map((r) => r.ok), [true]);
  assert.deepEqual(sentTo.flatMap(([, r]) => r.superseded), []);
  // Grace starts once, from the current connection's detach, and ends the session once.
  sendFrom("g2", "a", { op: "detach", entity, session: "s1", conn: "j2" });
  step(6);
  clock.ms += 1_001;
  sentTo.length = 0;
  step(7);
  step(8);
  assert.deepEqual(sentTo.flatMap(([, r]) => r.gone), [{ session: "s1", entity }]);
  assert.ok(!a.owned.has(entity));
});

Deno.test("two players on either side of a border see every entity, owned or ghost, as of the DIFF's tick", () => {
  const { spaces, step, send, reports } = world();
  // The border is x = 100; both walk along it side by side, in each other's view.
  send("a", { op: "join", session: "sa", name: "ann", resumeJti: "ja", x: 95, y: 10, z: 0 });
  send("b", { op: "join", session: "sb", name: "bob", resumeJti: "jb", x: 105, y: 10, z: 0 });
  /** Where every owned entity is after each tick, as the workers hold it. */
  const truth = new Map<number, Map<number, [number, number, number]>>();
  const record = (tick: number) => {
    const at = new Map<number, [number, number, number]>();
    for (const space of spaces) for (const e of space.owned.values()) at.set(e.id, [e.x, e.y, e.z]);
    truth.set(tick, at);
  };
  step(1);
  record(1);
  const joined = reports.flatMap((r) => r.joined);
  const ids = new Map(joined.map((j) => [j.session, j.entity]));
  const [ann, bob] = [ids.get("sa")!, ids.get("sb")!];
  send("a", { op: "input", entity: ann, conn: "ja", input: { seq: 1, move: [0, 1] } });
  send("b", { op: "input", entity: bob, conn: "jb", input: { seq: 1, move: [0, 1] } });
  reports.length = 0;
  let seenOther = 0;
  let checked = 0;
  for (let tick = 2; tick <= 30; tick++) {
    step(tick);
    record(tick);
    for (const report of reports.splice(0)) {
      const state = truth.get(report.tick)!;
      for (const d of report.diffs) {
        const rows = [
          ...d.enter.map((e) => [e[0], e[2], e[3], e[4]]),
          ...d.update.map((u) => [u[0], u[1], u[2], u[3]]),
        ];
        for (const [id, x, y, z] of rows) {
          const expected = state.get(id);
          if (!expected) continue; // an NPC in the middle of a handoff
          assert.deepEqual(
            [x, y, z],
            expected,
            `entity ${id} in ${d.session}'s DIFF ${report.tick}`,
          );
          checked++;
          if (id === (d.session === "sa" ? bob : ann)) seenOther++;
        }
      }
    }
  }
  // Each sees the other, a ghost on its worker, for most of the 29 ticks (NPCs bump them).
  assert.ok(seenOther >= 20, `the other player was checked ${seenOther} times`);
  assert.ok(checked > seenOther);
});

Deno.test("in a 2D world an INPUT's dz is ignored: it neither moves nor slows the player", () => {
  const { spaces, step, send, reports } = world();
  const [a] = spaces;
  send("a", { op: "join", session: "s1", name: "ann", resumeJti: "j1", x: 30, y: 50, z: 0 });
  step(1);
  const entity = reports.flatMap((r) => r.joined)[0].entity;
  send("a", { op: "input", entity, conn: "j1", input: { seq: 1, move: [1, 0, 1] } });
  step(2);
  const player = a.owned.get(entity)!;
  assert.equal(player.vx, game.speed * 1.5, "full speed along x");
  assert.equal(player.vz, 0);
  assert.equal(player.z, 0);
});

Deno.test("a gateway's stream attaching again gives its players, and only them, a full DIFF", () => {
  const { spaces, step, sendFrom, sentTo } = world();
  const [a] = spaces;
  sendFrom("g1", "a", {
    op: "join",
    session: "s1",
    name: "ann",
    resumeJti: "j1",
    x: 40,
    y: 50,
    z: 0,
  });
  sendFrom("g2", "a", {
    op: "join",
    session: "s2",
    name: "bob",
    resumeJti: "j2",
    x: 45,
    y: 50,
    z: 0,
  });
  /** Each diff of the tick `step(tick)` reported: gateway, session, full. */
  const diffsOf = (tick: number) => {
    sentTo.length = 0;
    step(tick);
    return sentTo.flatMap(([g, r]) => r.diffs.map((d) => [g, d.session, d.full] as const)).sort();
  };
  assert.deepEqual(diffsOf(1), [["g1", "s1", true], ["g2", "s2", true]], "the first is full");
  assert.deepEqual(diffsOf(2), [["g1", "s1", false], ["g2", "s2", false]]);
  assert.equal(a.resync("g1"), 1, "one player of g1 here");
  assert.equal(a.resync("g3"), 0);
  assert.deepEqual(diffsOf(3), [["g1", "s1", true], ["g2", "s2", false]]);
  assert.deepEqual(diffsOf(4), [["g1", "s1", false], ["g2", "s2", false]], "once");
});
