// A worker's instance spaces without sockets: a join creates the instance (onCreate, with
// ctx.instance), its players get AOI diffs in the worker's reports, a depart hands the player's
// data back, and a list without the instance disposes of it (onDispose, players sent home);
// two workers' instance spaces over the real batch codec: a moved instance is handed over
// whole, and a backup promotes its mirror of an instance whose host died.
import assert from "node:assert/strict";
import { defineGame, type InstanceInfo } from "../../src/sim/game.ts";
import { type InstanceRoles, InstanceSpaces } from "../../src/sim/instance_spaces.ts";
import type { InstancePlacement, WorkerReport } from "../../src/session/session_messages.ts";
import { decodeBatch, encodeBatch, stateOf } from "../../src/sync/batch_codec.ts";

const WORLD = {
  dims: 2,
  size: [400, 400],
  cellSize: 100,
  tickHz: 20,
  aoiRadius: 50,
  ghostMargin: 60,
  worldStartMs: 0,
};

function setup(worker = "w1", replicationTicks = 0, events: string[] = []) {
  const game = defineGame({
    name: "t",
    entityTypes: { player: {}, flag: {} },
    instanceModes: {
      duel: {
        maxPlayers: 2,
        size: [60, 40],
        onCreate: (ctx, room: InstanceInfo) => {
          events.push(`create ${room.id} ${ctx.instance?.mode}`);
          ctx.spawn("flag", { x: 30, y: 20 }, { ...room.options as object });
        },
        onDispose: (ctx, room) => void events.push(`dispose ${room.id} ${[...ctx.owned()].length}`),
      },
    },
    onJoin: (ctx, p) => void (p.data.place = ctx.instance?.id ?? "world"),
    onLeave: (ctx, p) => void events.push(`leave ${p.id} ${ctx.instance?.id}`),
  });
  const ids = { entity: Number(worker.slice(1)) * 2 ** 32, interaction: 0 };
  const spaces = new InstanceSpaces({
    worker,
    world: WORLD,
    game,
    gameOptions: undefined,
    ids,
    space: { replicationTicks },
  });
  return { spaces, events, ids };
}

const placement = (seq: number): InstancePlacement => ({
  id: `i${seq}`,
  seq,
  worker: "w1",
  mode: "duel",
  options: { rounds: 2 },
  maxPlayers: 2,
});

const join = (session: string, instance: InstancePlacement, data = {}) => ({
  op: "join" as const,
  session,
  name: session,
  resumeJti: `j-${session}`,
  x: 0,
  y: 0,
  z: 0,
  instance,
  carried: { data, lastSeq: 7 },
});

Deno.test("a join creates the instance and its players see each other in the worker's reports", () => {
  const { spaces, events, ids } = setup();
  const room = placement(1);
  assert.equal(spaces.route("g1", join("a", room, { score: 3 })), true);
  assert.deepEqual(events, ["create i1 duel"]);
  spaces.route("g2", join("b", room));
  let reports = spaces.step(100);
  const a = reports.get("g1")!.joined[0].entity;
  const b = reports.get("g2")!.joined[0].entity;
  assert.ok(a >= 2 ** 32 && b > a, "ids come from the worker's shared counter");
  assert.equal(ids.entity, b + 1);
  const first = reports.get("g1")!.diffs[0];
  assert.equal(first.full, true);
  const self = first.enter.find((e) => e[0] === a)!;
  assert.deepEqual([self[2], self[3]], [30, 20], "players arrive at the centre");
  assert.equal(self[5].score, 3, "carried data");
  assert.equal(self[5].place, "i1", "ctx.instance in onJoin");
  assert.equal(first.ack, 7, "acks go on from the carried seq");
  assert.ok(first.enter.some((e) => e[1] === "flag" && e[5].rounds === 2));
  // A room owns its only cell: views are of the end of the join's tick, so a sees b joined in
  // that tick from its first DIFF, which shows that tick.
  assert.ok(first.enter.some((e) => e[0] === b), "a sees b");
  assert.equal(first.tick, 100);
  reports = spaces.step(101);
  assert.equal(reports.get("g1")!.diffs[0].full, false);
  assert.ok(!reports.get("g1")!.diffs[0].enter.some((e) => e[0] === b), "b entered once");
  // Commands for an entity of an instance go to it; others are the world's.
  assert.equal(
    spaces.route("g1", { op: "depart", entity: a, session: "a", conn: "j-a" }),
    true,
  );
  assert.equal(spaces.route("g1", { op: "detach", entity: 12345, session: "x", conn: "y" }), false);
  reports = spaces.step(102);
  assert.deepEqual(
    reports.get("g1")!.departed.map((d) => [d.entity, d.reason, d.data.score, d.lastSeq]),
    [
      [a, "depart", 3, 7],
    ],
  );
  assert.ok(events.includes(`leave ${a} i1`));
});

Deno.test("a list without the instance disposes of it and sends its players home", () => {
  const { spaces, events } = setup();
  spaces.route("g1", join("a", placement(1)));
  spaces.route("g1", join("b", placement(5)));
  const joined = spaces.step(10).get("g1")!.joined;
  // A list made before instance 5 existed (seq 4) must not dispose of it.
  spaces.sync([], 4);
  assert.equal(spaces.size, 1);
  assert.deepEqual(events.filter((e) => e.startsWith("dispose")), ["dispose i1 1"]);
  const home = spaces.step(11).get("g1")!.departed;
  assert.deepEqual(home.map((d) => [d.entity, d.reason]), [[joined[0].entity, "destroyed"]]);
  // A list that has it keeps it; a newer list without it disposes of it.
  spaces.sync([placement(5)], 5);
  assert.equal(spaces.size, 1);
  spaces.sync([], 6);
  assert.equal(spaces.size, 0);
  // Listed here but never joined: created from the list.
  spaces.sync([placement(7), { ...placement(8), worker: "w2" }], 8);
  assert.deepEqual([...spaces.spaces().keys()], ["i7"]);
});

Deno.test("a resume in the tick of the drop sends the gateway one full diff, not a stale one first", () => {
  const { spaces } = setup();
  spaces.route("g1", join("a", placement(1)));
  const a = spaces.step(10).get("g1")!.joined[0].entity;
  spaces.step(11);
  // The drop and the resume reach the worker within one tick.
  spaces.route("g1", { op: "detach", entity: a, session: "a", conn: "j-a" });
  spaces.route("g1", { op: "resume", entity: a, session: "a", jti: "j-a", nextJti: "j-a2" });
  const report = spaces.step(12).get("g1")!;
  assert.deepEqual(report.resumed.map((r) => r.ok), [true]);
  const diffs = report.diffs.filter((d) => d.entity === a);
  assert.equal(diffs.length, 1);
  assert.equal(diffs[0].full, true);
  assert.ok(diffs[0].enter.some((e) => e[0] === a));
});

const roles = (epoch: number, backups: Record<string, string>, down: string[] = []) =>
  ({ epoch, backups: new Map(Object.entries(backups)), down: new Set(down) }) as InstanceRoles;

/** Workers' instance spaces (w1, w2, w3) whose batches travel through the real codec. */
function pair(replicationTicks: number) {
  const events: string[] = [];
  const workers = {
    w1: setup("w1", replicationTicks, events),
    w2: setup("w2", replicationTicks, events),
    w3: setup("w3", replicationTicks, events),
  };
  let tick = 10;
  const alive = new Set(["w1", "w2", "w3"]);
  /**
   * One tick on every live worker, then their batches delivered (but those `lost` says were
   * lost); the reports per worker.
   */
  const step = (lost = (_from: string, _to: string) => false) => {
    const reports = new Map<string, Map<string, WorkerReport>>();
    for (const id of alive) reports.set(id, workers[id as "w1"].spaces.step(tick));
    for (const id of alive) {
      for (const [peer, batch] of workers[id as "w1"].spaces.takeBatches()) {
        if (!alive.has(peer) || lost(id, peer)) continue;
        workers[peer as "w1"].spaces.receive(decodeBatch(encodeBatch(batch)));
      }
    }
    tick++;
    return reports;
  };
  const sync = (list: InstancePlacement[], r: InstanceRoles) => {
    for (const id of alive) workers[id as "w1"].spaces.sync(list, 1, r);
  };
  const owned = (id: "w1" | "w2" | "w3") =>
    [...workers[id].spaces.spaces().get("i1")?.owned.values() ?? []].map(stateOf)
      .sort((a, b) => a.id - b.id);
  return { ...workers, events, step, sync, owned, alive };
}

Deno.test("a moved instance is handed over whole: the same entities, one onCreate, its players' diffs from the new host", () => {
  const p = pair(0);
  const room = placement(1);
  p.sync([room], roles(2, {}));
  assert.deepEqual([...p.w2.spaces.spaces().keys()], [], "w2 neither hosts nor mirrors it");
  p.w1.spaces.route("g1", join("a", room));
  p.w1.spaces.route("g1", join("b", room));
  p.step(), p.step();
  const before = p.owned("w1");
  assert.deepEqual(before.map((e) => e.type).sort(), ["flag", "player", "player"]);

  const moved = { ...room, worker: "w2", moves: 1 };
  p.sync([moved], roles(3, {}));
  const handedOver = p.step(); // w1 freezes i1 and sends it; w2 takes it at its next tick
  assert.equal(p.w1.spaces.pendingTransfers, 1, "one transfer for the instance's one cell");
  const taken = p.step().get("w2")!.get("g1")!;
  assert.deepEqual(p.owned("w2"), before, "every entity, with its state, and nothing else");
  const migrations = p.w2.spaces.spaces().get("i1")!.migrations();
  assert.deepEqual(migrations.map((m) => [m.from, m.entities, m.ticksMissed]), [["w1", 3, 0]]);
  assert.deepEqual(p.events.filter((e) => e.startsWith("create")), ["create i1 duel"]);
  assert.equal(handedOver.get("w2")!.get("g1"), undefined, "w2 reports nothing before it owns it");
  // The next tick w2 collects its players' views: both sessions get diffs from the new host.
  const diffs = p.step().get("w2")!.get("g1")!.diffs.map((d) => d.session).sort();
  assert.deepEqual(diffs, ["a", "b"]);
  assert.equal(taken.worker, "w2");
  // w1 dropped it once acknowledged, without onDispose: it lives on w2.
  for (let n = 0; n < 5 && p.w1.spaces.size > 0; n++) p.step();
  assert.equal(p.w1.spaces.size, 0);
  assert.ok(p.w1.spaces.empty);
  assert.deepEqual(p.events.filter((e) => e.startsWith("dispose")), []);
});

Deno.test("the backup of an instance's host promotes its mirror when the host dies: same entities, players go on", () => {
  const p = pair(1);
  const room = placement(1);
  p.sync([room], roles(2, { w1: "w2", w2: "w1" }));
  assert.deepEqual([...p.w2.spaces.spaces().keys()], ["i1"], "w2 mirrors it for w1");
  p.w1.spaces.route("g1", join("a", room));
  p.w1.spaces.route("g1", join("b", room));
  for (let n = 0; n < 4; n++) p.step();
  const before = p.owned("w1");
  assert.equal(before.length, 3);
  assert.equal(p.w2.spaces.mirrored, 3);
  assert.deepEqual(p.owned("w2"), [], "a mirror is not owned");

  p.alive.delete("w1"); // kill -9: w1 says nothing more
  p.sync([{ ...room, worker: "w2", moves: 1 }], roles(3, {}, ["w1"]));
  p.step(); // the takeover
  assert.deepEqual(
    p.owned("w2").map((e) => [e.id, e.type, e.x, e.y]),
    before.map((e) => [e.id, e.type, e.x, e.y]),
  );
  const diffs = p.step().get("w2")!.get("g1")!.diffs.map((d) => d.session).sort();
  assert.deepEqual(diffs, ["a", "b"], "its players get diffs from the heir");
  assert.deepEqual(p.events.filter((e) => e.startsWith("create")), ["create i1 duel"]);
});

Deno.test("a join that reaches the old host after a move follows the instance to its new host, with no second onCreate", () => {
  const p = pair(0);
  const room = placement(1);
  p.sync([room], roles(2, {}));
  p.w1.spaces.route("g1", join("a", room));
  p.step();
  const moved = { ...room, worker: "w2", moves: 1 };
  p.sync([moved], roles(3, {}));
  for (let n = 0; n < 5 && p.w1.spaces.size > 0; n++) p.step();
  assert.equal(p.w1.spaces.size, 0, "w1 handed it over and forgot it");
  // The gateway still thinks the room is on w1 (its placement from before the move).
  p.w1.spaces.route("g1", join("b", room));
  for (let n = 0; n < 5 && p.w1.spaces.size > 0; n++) p.step();
  assert.equal(p.w1.spaces.size, 0);
  assert.deepEqual(p.owned("w2").map((e) => e.type).sort(), ["flag", "player", "player"]);
  assert.deepEqual(p.events.filter((e) => e.startsWith("create")), ["create i1 duel"]);
});

Deno.test("a host that dies while handing a moved instance over: its backup passes what was in flight on to the new host", () => {
  const p = pair(1);
  const room = placement(1);
  // w3 backs up w1 only: once the room is on w2, w3 is not its backup.
  const backups = { w1: "w3", w2: "w1", w3: "w2" };
  p.sync([room], roles(2, backups));
  p.w1.spaces.route("g1", join("a", room));
  p.w1.spaces.route("g1", join("b", room));
  for (let n = 0; n < 4; n++) p.step();
  const before = p.owned("w1");
  assert.equal(before.length, 3);

  p.sync([{ ...room, worker: "w2", moves: 1 }], roles(3, backups));
  // w1 freezes the room and sends it, mirrored first to w3; the transfer never reaches w2.
  p.step((from, to) => from === "w1" && to === "w2");
  assert.deepEqual(p.owned("w2"), []);
  assert.equal(p.w3.spaces.size, 1, "w3 keeps its mirror while w1 holds handoffs");
  p.alive.delete("w1");
  p.sync([{ ...room, worker: "w2", moves: 1 }], roles(4, { w2: "w3", w3: "w2" }, ["w1"]));
  for (let n = 0; n < 8 && p.owned("w2").length < 3; n++) p.step();
  assert.deepEqual(p.owned("w2").map((e) => [e.id, e.type]), before.map((e) => [e.id, e.type]));
  assert.deepEqual(p.owned("w3"), [], "passed on, not kept");
  assert.deepEqual(p.events.filter((e) => e.startsWith("create")), ["create i1 duel"]);
});
