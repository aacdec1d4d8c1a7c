// The gateway↔worker session link decoders: valid messages round-trip, and random or mutated
// bytes never throw anything but a BatchError (BAD_BATCH) — the documented failure.
import assert from "node:assert/strict";
import fc from "fast-check";
import { BatchError, ErrorCode } from "../../src/errors.ts";
import { encode } from "../../src/protocol/msgpack.ts";
import {
  decodeCommands,
  decodeReport,
  encodeCommands,
  encodeReport,
  SESSION_WIRE_VERSION,
} from "../../src/session/session_wire.ts";
import { connectedPlayer } from "../../testing/players.ts";
import {
  emptyReport,
  type GatewayCommand,
  type WorkerReport,
} from "../../src/session/session_messages.ts";
import { PlayerViews } from "../../src/sim/player_views.ts";
import { GridIndex } from "../../src/world/grid_index.ts";
import { makeEntity } from "../../src/world/entity.ts";

/** Records with Object.prototype, as decoded maps have. */
function record<T>(model: { [K in keyof T]: fc.Arbitrary<T[K]> }): fc.Arbitrary<T> {
  return fc.record(model, { noNullPrototype: true });
}

const id = fc.string({ minLength: 1, maxLength: 24 });
const entity = fc.nat({ max: 2 ** 40 });
// -0 + 0 is 0: msgpack need not keep the sign of zero.
const coordinate = fc.double({ min: -1e6, max: 1e6, noNaN: true }).map((v) => v + 0);
const axis = fc.double({ min: -1, max: 1, noNaN: true }).map((v) => v + 0);

const command: fc.Arbitrary<GatewayCommand> = fc.oneof(
  record({
    op: fc.constant("join" as const),
    session: id,
    name: fc.string({ minLength: 1, maxLength: 64 }),
    resumeJti: id,
    x: coordinate,
    y: coordinate,
    z: coordinate,
  }),
  record({
    op: fc.constant("input" as const),
    entity,
    conn: id,
    input: fc.oneof(
      record({ seq: fc.nat(), move: fc.array(axis, { minLength: 2, maxLength: 3 }) }),
      record({
        seq: fc.nat(),
        move: fc.array(axis, { minLength: 2, maxLength: 3 }),
        action: fc.string({ minLength: 1, maxLength: 32 }),
      }),
    ),
  }),
  record({
    op: fc.constant("join" as const),
    session: id,
    name: fc.string({ minLength: 1, maxLength: 64 }),
    resumeJti: id,
    x: coordinate,
    y: coordinate,
    z: coordinate,
    instance: record({
      id,
      seq: fc.nat(),
      worker: id,
      mode: id,
      options: fc.dictionary(fc.string({ maxLength: 8 }), fc.integer(), { noNullPrototype: true }),
      maxPlayers: fc.integer({ min: 1, max: 100 }),
      moves: fc.nat(),
    }),
    carried: record({
      data: fc.dictionary(fc.string({ maxLength: 8 }), fc.integer(), { noNullPrototype: true }),
      lastSeq: fc.nat(),
    }),
    account: id,
  }),
  record({ op: fc.constant("depart" as const), entity, session: id, conn: id }),
  record({ op: fc.constant("detach" as const), entity, session: id, conn: id }),
  record({ op: fc.constant("resume" as const), entity, session: id, jti: id, nextJti: id }),
);

const report: fc.Arbitrary<WorkerReport> = record({
  worker: id,
  tick: fc.nat(),
  diffs: fc.array(
    record({
      session: id,
      entity,
      ack: fc.nat(),
      full: fc.boolean(),
      enter: fc.array(
        fc.tuple(
          entity,
          fc.string({ minLength: 1, maxLength: 16 }),
          coordinate,
          coordinate,
          coordinate,
          fc.dictionary(fc.string({ maxLength: 8 }), fc.integer(), { noNullPrototype: true }),
        ),
        { maxLength: 4 },
      ),
      update: fc.array(fc.tuple(entity, coordinate, coordinate, coordinate), { maxLength: 4 }),
      leave: fc.array(entity, { maxLength: 4 }),
    }),
    { maxLength: 3 },
  ),
  joined: fc.array(record({ session: id, entity }), { maxLength: 2 }),
  resumed: fc.array(record({ session: id, entity, ok: fc.boolean(), conn: id }), { maxLength: 2 }),
  superseded: fc.array(record({ session: id, conn: id }), { maxLength: 2 }),
  gone: fc.array(record({ session: id, entity }), { maxLength: 2 }),
  departed: fc.array(
    record({
      session: id,
      entity,
      x: coordinate,
      y: coordinate,
      z: coordinate,
      data: fc.dictionary(fc.string({ maxLength: 8 }), fc.integer(), { noNullPrototype: true }),
      lastSeq: fc.nat(),
      reason: fc.constantFrom("depart" as const, "destroyed" as const),
      account: fc.string({ maxLength: 24 }),
    }),
    { maxLength: 2 },
  ),
  saves: fc.array(
    record({
      account: id,
      data: fc.dictionary(fc.string({ maxLength: 8 }), fc.integer(), { noNullPrototype: true }),
    }),
    { maxLength: 2 },
  ),
});

/** Runs a decoder; anything thrown must be the documented BatchError with code BAD_BATCH. */
function onlyBatchErrors(decode: (bytes: Uint8Array) => unknown, bytes: Uint8Array): void {
  try {
    decode(bytes);
  } catch (error) {
    if (!(error instanceof BatchError) || error.code !== ErrorCode.BAD_BATCH) {
      throw new Error(`decoder threw ${String(error)} for ${Array.from(bytes)}`, { cause: error });
    }
    assert.match(error.message, /^Cannot decode batch: /);
  }
}

/** A valid payload with one byte flipped, inserted, deleted, cut or replaced by 0xc1. */
function mutate(bytes: Uint8Array, at: number, byte: number, how: number): Uint8Array {
  const i = bytes.length === 0 ? 0 : at % bytes.length;
  const out = Array.from(bytes);
  if (how === 0) out[i] = byte;
  else if (how === 1) out.splice(i, 0, byte);
  else if (how === 2) out.splice(i, 1);
  else if (how === 3) out.length = i;
  else out[i] = 0xc1;
  return new Uint8Array(out);
}

const mutation = fc.tuple(
  fc.nat(),
  fc.integer({ min: 0, max: 255 }),
  fc.integer({ min: 0, max: 4 }),
);

Deno.test("gateway commands and worker reports survive the round trip", () => {
  fc.assert(
    fc.property(id, fc.array(command, { maxLength: 6 }), (gateway, commands) => {
      assert.deepEqual(decodeCommands(encodeCommands(gateway, commands)), { gateway, commands });
    }),
  );
  fc.assert(
    fc.property(report, (r) => {
      const { shared, ...decoded } = decodeReport(encodeReport(r));
      // A diff without a tick of its own shows the report's.
      assert.deepEqual(decoded, { ...r, diffs: r.diffs.map((d) => ({ ...d, tick: r.tick })) });
      assert.equal(shared?.size, 0); // every generated row is an object of its own
    }),
  );
});

Deno.test("a row several diffs list is sent once and decoded into one object they share", () => {
  const enter: [number, string, number, number, number, Record<string, unknown>] = [
    7,
    "npc",
    1.5,
    2,
    0,
    { hp: 3 },
  ];
  const move: [number, number, number, number] = [8, 4.25, 5, 0];
  const own: [number, number, number, number] = [9, 1, 1, 0];
  const diff = (session: string, update: Array<[number, number, number, number]>) => ({
    session,
    entity: 1,
    ack: 0,
    full: false,
    enter: [enter],
    update,
    leave: [],
  });
  const report: WorkerReport = {
    ...emptyReport("w1", 5),
    diffs: [diff("a", [move, own]), diff("b", [move]), diff("c", [move])],
  };
  const bytes = encodeReport(report);
  const alone = encodeReport({ ...report, diffs: [diff("a", [move, own])] });
  // Two more diffs cost their own fields and a list of one index, not their rows again.
  assert.ok(
    bytes.byteLength - alone.byteLength < 2 * 16,
    `${bytes.byteLength} vs ${alone.byteLength}`,
  );
  const decoded = decodeReport(bytes);
  const [a, b, c] = decoded.diffs;
  assert.deepEqual(a.enter, [enter]);
  assert.deepEqual(a.update, [move, own]);
  assert.deepEqual(b.update, [move]);
  // Equal lists are one array, and rows one object, however many diffs hold them.
  assert.equal(b.enter, a.enter);
  assert.equal(c.update, b.update);
  assert.notEqual(a.update, b.update);
  assert.equal(b.update[0], a.update[0]);
  assert.deepEqual(
    new Set(decoded.shared),
    new Set([a.enter, a.enter[0], b.update, a.update[0]]), // not own, nor a's update list
  );
});

Deno.test("random bytes never make the session decoders throw anything but BAD_BATCH", () => {
  const bytes = fc.oneof(
    fc.uint8Array({ maxLength: 96 }),
    // Behind a map header with the version, so the decoder gets past the first checks.
    fc.uint8Array({ maxLength: 96 }).map((b) =>
      new Uint8Array([0x83, 0xa1, 0x76, SESSION_WIRE_VERSION, ...b])
    ),
    fc.anything().map((value) => encode(value)),
    fc.dictionary(
      fc.constantFrom("v", "g", "c", "w", "t", "e", "d", "j", "r", "s", "x", "p"),
      fc.anything(),
    )
      .map((value) => encode({ ...value, v: SESSION_WIRE_VERSION })),
  );
  fc.assert(
    fc.property(bytes, (b) => {
      onlyBatchErrors(decodeCommands, b);
      onlyBatchErrors(decodeReport, b);
    }),
    { numRuns: 2_000 },
  );
});

Deno.test("mutated valid payloads never make the session decoders throw anything but BAD_BATCH", () => {
  fc.assert(
    fc.property(id, fc.array(command, { minLength: 1, maxLength: 4 }), mutation, (g, c, m) => {
      onlyBatchErrors(decodeCommands, mutate(encodeCommands(g, c), ...m));
    }),
    { numRuns: 2_000 },
  );
  fc.assert(
    fc.property(report, mutation, (r, m) => {
      onlyBatchErrors(decodeReport, mutate(encodeReport(r), ...m));
    }),
    { numRuns: 2_000 },
  );
});

Deno.test("each malformed session field is named in the error", () => {
  const commands = (c: unknown[]) => encode({ v: SESSION_WIRE_VERSION, g: "g1", c });
  const cases: Array<[Uint8Array, RegExp]> = [
    [encode({ v: 1, g: "g1", c: [] }), /version must be 4, got 1/],
    [commands([[9, 1]]), /commands\[0\] has an unknown op 9/],
    [commands([[1, 5, 1, [0]]]), /commands\[0\] must have 7 fields, got 4/],
    [
      commands([[1, 5, 1, [2, 0], null, "j1", null]]),
      /commands\[0\]\.move\[0\] must be a number in -1\.\.1/,
    ],
    [commands([[2, -1, "s", "j1"]]), /commands\[0\]\.entity must be a non-negative integer/],
    [
      commands([[0, "", "n", "j", 0, 0, 0, null, null, ""]]),
      /commands\[0\]\.session must be a string of 1\.\.128/,
    ],
    [commands([[0, "s", "n", "j", 0, 0, 0]]), /commands\[0\] must have 10 fields, got 7/],
    [
      commands([[0, "s", "n", "j", 0, 0, 0, null, null, 12]]),
      /commands\[0\]\.account must be a string of 0\.\.128/,
    ],
    [
      commands([[0, "s", "n", "j", 0, 0, 0, ["i1", 1, "w1", "duel", null, 0, 0], null, ""]]),
      /commands\[0\]\.instance\.maxPlayers must be an integer in 1\.\.100000/,
    ],
    [
      commands([[0, "s", "n", "j", 0, 0, 0, ["i1", 1, "w1", "duel", null, 2, -1], null, ""]]),
      /commands\[0\]\.instance\.moves must be a non-negative integer/,
    ],
    [
      commands([[0, "s", "n", "j", 0, 0, 0, null, [[], 0], ""]]),
      /commands\[0\]\.carried\.data must be a map/,
    ],
    [commands([[4, 1, "s"]]), /commands\[0\] must have 4 fields, got 3/],
    [new Uint8Array([0xc1]), /not valid msgpack|reserved byte 0xc1/],
    [new Uint8Array(0), /payload is empty/],
  ];
  for (const [bytes, pattern] of cases) {
    assert.throws(() => decodeCommands(bytes), (error: unknown) => {
      assert.ok(error instanceof BatchError);
      assert.match(error.message, pattern);
      return true;
    });
  }
  const reportWith = (e: unknown, d: unknown[], l: unknown = [[]]) =>
    encode({ v: SESSION_WIRE_VERSION, w: "w1", t: 1, e, l, d, j: [], r: [], s: [], x: [] });
  const rows = [[7, "npc", 1, 2, 0, {}], [7, 1, 2, 0]];
  const lists = [[0], [1], []];
  const reports: Array<[Uint8Array, RegExp]> = [
    [reportWith([], [["s", 1, 0, "yes", 0, 0, [], 1]]), /diffs\[0\]\.full must be a boolean/],
    [reportWith([], [["s", 1, 0, false, 0, 0, []]]), /diffs\[0\] must have 8 fields, got 7/],
    [
      reportWith([], [["s", 1, 0, false, 0, 0, [], -1]]),
      /diffs\[0\]\.tick must be a non-negative integer/,
    ],
    [reportWith(undefined, []), /rows must be an array/],
    [reportWith([], [], null), /lists must be an array/],
    [reportWith([[7, 1, 2]], []), /rows\[0\] must have 4\.\.6 elements, got 3/],
    [reportWith([[7, "", 1, 2, 0, {}]], []), /rows\[0\]\.type must be a string of 1\.\.64/],
    [reportWith([[7, 1, NaN, 0]], []), /rows\[0\]\.y must be a finite number/],
    [reportWith([[-7, 1, 2, 0, {}]], []), /rows\[0\]\.id must be a non-negative integer/],
    [reportWith([[7, 1, 2, 0, 5]], []), /rows\[0\]\.data must be a map/],
    [
      reportWith(rows, [], [[1, 2]]),
      /lists\[0\]\[1\] must be the index of a row in 0\.\.1, got 2/,
    ],
    [
      reportWith(rows, [], [[1, "0"]]),
      /lists\[0\]\[1\] must be the index of a row in 0\.\.1, got "0"/,
    ],
    [reportWith(rows, [], [[1, 0]]), /lists\[0\] must hold only enter rows or only update rows/],
    [
      reportWith(rows, [["s", 1, 0, false, 1, 2, [], 1]], lists),
      /diffs\[0\]\.enter must be the index of a list of enter rows in 0\.\.2, got 1/,
    ],
    [
      reportWith(rows, [["s", 1, 0, false, 2, 0, [], 1]], lists),
      /diffs\[0\]\.update must be the index of a list of update rows in 0\.\.2, got 0/,
    ],
    [
      reportWith(rows, [["s", 1, 0, false, 0, 3, [], 1]], lists),
      /diffs\[0\]\.update must be the index of a list of update rows in 0\.\.2, got 3/,
    ],
  ];
  for (const [bytes, pattern] of reports) {
    assert.throws(() => decodeReport(bytes), (error: unknown) => {
      assert.ok(error instanceof BatchError);
      assert.match(error.message, pattern);
      return true;
    });
  }
});

Deno.test("a report of diffs that say where their rows sit in the views' table is written as one found by identity", () => {
  const index = new GridIndex([100, 100], 25);
  const views = new PlayerViews(30);
  const players = [1, 2, 3].map((id) => {
    const p = connectedPlayer(id, 40 + id * 5, 50);
    index.upsert(p);
    views.reset(id);
    return p;
  });
  const npcs = [10, 11, 12, 13].map((id) => {
    const e = makeEntity(id, "npc", { x: 30 + id * 3, y: 55 }, { hp: id });
    index.upsert(e);
    return e;
  });
  const reportOf = (tick: number, diffs: WorkerReport["diffs"]): WorkerReport => ({
    ...emptyReport("w1", tick),
    diffs,
  });
  for (let tick = 1; tick <= 3; tick++) {
    for (const e of npcs) e.x += 1;
    npcs[0].data.hp = tick; // a data row too
    const diffs = players.map((p) => views.diff(index, tick, p)!);
    assert.ok(diffs.every((d) => d.refs !== undefined), "the views give each diff its refs");
    const withRefs = encodeReport(reportOf(tick, diffs));
    const byIdentity = encodeReport(reportOf(tick, diffs.map((d) => ({ ...d, refs: undefined }))));
    assert.deepEqual(withRefs, byIdentity, `tick ${tick}`);
    // Diffs of two tables in one report (two spaces' views): rows found by identity, all of them.
    const other = new PlayerViews(30);
    other.reset(players[0].id);
    const mixed = decodeReport(
      encodeReport(reportOf(tick, [diffs[1], other.diff(index, tick, players[0])!])),
    );
    assert.deepEqual(mixed.diffs[0].update, diffs[1].update);
    assert.deepEqual(mixed.diffs[1].enter.map((r) => r[0]), [1, 2, 3, 10, 11, 12, 13]);
  }
});
