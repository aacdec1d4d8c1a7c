// The instance and user directories: indexed search with paging, seats (the last one goes to
// exactly one user), quick-join's open instance, the empty grace on an injected clock, users.
import assert from "node:assert/strict";
import fc from "fast-check";
import { CodedError } from "../../src/errors.ts";
import {
  InstanceDirectory,
  type InstanceQuery,
  type InstanceRecord,
} from "../../src/cluster/instance_directory.ts";

const spec = (over: Partial<InstanceRecord> = {}) => ({
  mode: "duel",
  options: {},
  maxPlayers: 2,
  private: false,
  tags: [] as string[],
  version: "1",
  worker: "w1",
  owner: "u0",
  ...over,
});

function code(fn: () => unknown): string {
  try {
    fn();
  } catch (error) {
    if (error instanceof CodedError) return error.code;
    throw error;
  }
  return "none";
}

Deno.test("the last seat goes to exactly one user; a full or unknown instance is refused", () => {
  const d = new InstanceDirectory({ emptyGraceMs: 1000 });
  const room = d.create(spec());
  d.reserve(room.id, "a", "g1");
  d.reserve(room.id, "b", "g2");
  assert.equal(code(() => d.reserve(room.id, "c", "g1")), "INSTANCE_FULL");
  assert.equal(room.players.size, 2);
  // A user already seated keeps its seat (a retried join is not a second seat).
  d.reserve(room.id, "a", "g1");
  assert.equal(room.players.size, 2);
  assert.equal(code(() => d.reserve("i999", "c", "g1")), "INSTANCE_NOT_FOUND");
  assert.equal(code(() => d.reserve(room.id, "c", "g1", { version: "2" })), "WRONG_VERSION");
  assert.equal(code(() => d.destroy(room.id, "a")), "NOT_ALLOWED");
});

Deno.test("joining another instance gives up the first seat; leave returns the world position", () => {
  const d = new InstanceDirectory({ emptyGraceMs: 1000 });
  const one = d.create(spec()), two = d.create(spec());
  d.reserve(one.id, "a", "g1", { world: { x: 1, y: 2, z: 0 } });
  d.reserve(two.id, "a", "g1");
  assert.deepEqual([one.players.size, two.players.size], [0, 1]);
  assert.deepEqual(d.user("a"), {
    user: "a",
    gateway: "g1",
    instance: two.id,
    world: { x: 1, y: 2, z: 0 },
  });
  assert.deepEqual(d.release("a")?.world, { x: 1, y: 2, z: 0 });
  assert.equal(d.user("a")?.instance, "");
  assert.deepEqual(d.usersOn("g1"), ["a"]);
  d.offline("a");
  assert.equal(d.users, 0);
});

Deno.test("an empty instance is destroyed once its grace has passed on the injected clock", () => {
  let now = 10_000;
  const d = new InstanceDirectory({ emptyGraceMs: 500, now: () => now });
  const room = d.create(spec());
  d.reserve(room.id, "a", "g1");
  now += 10_000;
  assert.deepEqual(d.sweep(), [], "occupied: never");
  d.release("a");
  now += 499;
  assert.deepEqual(d.sweep(), [], "not before the grace");
  // Someone comes back within the grace: the clock starts again when it empties again.
  d.reserve(room.id, "b", "g1");
  now += 1;
  d.release("b");
  now += 499;
  assert.deepEqual(d.sweep(), []);
  now += 1;
  assert.deepEqual(d.sweep().map((r) => r.id), [room.id]);
  assert.equal(d.get(room.id), undefined);
  assert.equal(d.size, 0);
});

Deno.test("quick-join finds the oldest open public instance of the mode and version", () => {
  const d = new InstanceDirectory({ emptyGraceMs: 1000 });
  const hidden = d.create(spec({ private: true }));
  const arena = d.create(spec({ mode: "arena" }));
  const first = d.create(spec());
  const second = d.create(spec());
  const other = d.create(spec({ version: "2" }));
  assert.equal(d.findOpen("duel", "1")?.id, first.id);
  d.reserve(first.id, "a", "g");
  d.reserve(first.id, "b", "g");
  assert.equal(d.findOpen("duel", "1")?.id, second.id, "a full one is skipped");
  assert.equal(d.findOpen("duel", "2")?.id, other.id);
  assert.equal(d.findOpen("arena")?.id, arena.id);
  assert.equal(d.findOpen("none"), undefined);
  assert.equal(d.search({}).instances.some((r) => r.id === hidden.id), false, "private: unlisted");
  d.release("b");
  assert.equal(d.findOpen("duel", "1")?.id, first.id, "a freed seat reopens it");
});

Deno.test("search matches a brute-force filter, page by page, for any mix of fields", () => {
  const modes = ["duel", "arena", "race"];
  const tags = ["eu", "us", "ranked", "casual"];
  const specArb = fc.record({
    mode: fc.constantFrom(...modes),
    tags: fc.subarray(tags),
    version: fc.constantFrom("1", "2"),
    worker: fc.constantFrom("w1", "w2", "w3"),
    region: fc.constantFrom("", "eu", "us"),
    private: fc.boolean(),
    maxPlayers: fc.integer({ min: 1, max: 3 }),
    seats: fc.integer({ min: 0, max: 3 }),
  });
  const queryArb: fc.Arbitrary<InstanceQuery> = fc.record({
    mode: fc.constantFrom(...modes),
    tags: fc.subarray(tags, { maxLength: 2 }),
    version: fc.constantFrom("1", "2"),
    worker: fc.constantFrom("w1", "w2", "w3"),
    region: fc.constantFrom("", "eu", "us"),
    open: fc.boolean(),
  }, { requiredKeys: [] });
  fc.assert(
    fc.property(
      fc.array(specArb, { maxLength: 40 }),
      queryArb,
      fc.integer({ min: 1, max: 7 }),
      fc.array(fc.nat(), { maxLength: 5 }),
      (specs, query, limit, destroyed) => {
        const d = new InstanceDirectory({ emptyGraceMs: 1000 });
        const records = specs.map((s, n) => {
          const r = d.create(spec({ ...s, owner: `o${n}` }));
          for (let k = 0; k < Math.min(s.seats, s.maxPlayers); k++) {
            d.reserve(r.id, `u${n}.${k}`, "g");
          }
          return r;
        });
        for (const n of destroyed) {
          const r = records[n % Math.max(1, records.length)];
          if (r && d.get(r.id)) d.destroy(r.id);
        }
        const expected = records.filter((r) =>
          d.get(r.id) && !r.private &&
          (query.mode === undefined || r.mode === query.mode) &&
          (query.version === undefined || r.version === query.version) &&
          (query.worker === undefined || r.worker === query.worker) &&
          (query.region === undefined || r.region === query.region) &&
          (query.tags ?? []).every((t) => r.tags.includes(t)) &&
          (query.open === undefined || (r.players.size < r.maxPlayers) === query.open)
        ).map((r) => r.id);
        const got: string[] = [];
        let after: string | undefined;
        for (let page = 0; page < 50; page++) {
          const result = d.search({ ...query, limit, after });
          assert.ok(result.instances.length <= limit);
          got.push(...result.instances.map((r) => r.id));
          if (!result.next) break;
          after = result.next;
        }
        assert.deepEqual(got, expected);
      },
    ),
  );
});

Deno.test("regions: quick-join stays in its region, and a relocated instance takes its new worker's", () => {
  const d = new InstanceDirectory({ emptyGraceMs: 1000 });
  const eu = d.create(spec({ worker: "w1", region: "eu" }));
  const us = d.create(spec({ worker: "w2", region: "us" }));
  assert.equal(d.findOpen("duel", "1")?.id, eu.id, "no region: the oldest");
  assert.equal(d.findOpen("duel", "1", () => true, "us")?.id, us.id);
  assert.equal(d.findOpen("duel", "1", () => true, "asia"), undefined);
  d.relocate(eu.id, "w3", "us");
  assert.equal(d.get(eu.id)!.region, "us");
  assert.deepEqual(d.search({ region: "us" }).instances.map((r) => r.id), [eu.id, us.id]);
  assert.deepEqual(d.search({ region: "eu" }).instances, [], "the old region's index forgot it");
  assert.deepEqual(d.search({ worker: "w3" }).instances.map((r) => r.id), [eu.id]);
});

Deno.test("a bad paging cursor is BAD_REQUEST", () => {
  const d = new InstanceDirectory({ emptyGraceMs: 1000 });
  assert.equal(code(() => d.search({ after: "not-an-id" })), "BAD_REQUEST");
});

Deno.test("seats of a downed gateway's users are freed after the grace unless they resume", () => {
  let now = 0;
  const d = new InstanceDirectory({ emptyGraceMs: 100_000, lostGraceMs: 1_000, now: () => now });
  const room = d.create(spec({ maxPlayers: 3 }));
  d.reserve(room.id, "a", "g1");
  d.reserve(room.id, "b", "g1");
  d.reserve(room.id, "c", "g2");
  d.gatewayDown("g1");
  now += 500;
  d.online("b", "g3"); // b resumed on another gateway within the grace
  d.sweep();
  assert.equal(room.players.size, 3);
  now += 500;
  d.sweep();
  assert.deepEqual([...room.players].sort(), ["b", "c"]);
  assert.equal(d.user("a"), undefined);
  assert.equal(d.user("b")?.gateway, "g3");
  assert.equal(d.user("b")?.instance, room.id);
});
