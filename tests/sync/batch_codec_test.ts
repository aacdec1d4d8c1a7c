import assert from "node:assert/strict";
import fc from "fast-check";
import {
  type Batch,
  BATCH_VERSION,
  checksumOf,
  decodeBatch,
  emptyBatch,
  encodeBatch,
  MAX_BATCH_BYTES,
} from "../../src/sync/batch_codec.ts";
import { BatchError } from "../../src/errors.ts";
import { encode } from "../../src/protocol/msgpack.ts";

const finite = fc.double({ noNaN: true, noDefaultInfinity: true });
const id = fc.integer({ min: 0, max: Number.MAX_SAFE_INTEGER });
const plain: fc.Arbitrary<unknown> = fc.letrec((tie) => ({
  value: fc.oneof(
    { maxDepth: 3 },
    fc.constant(null),
    fc.boolean(),
    finite,
    fc.string({ maxLength: 8 }),
    fc.array(tie("value"), { maxLength: 3 }),
    fc.dictionary(fc.string({ minLength: 1, maxLength: 6 }), tie("value"), { maxKeys: 3 }),
  ),
})).value;
const data = fc.dictionary(fc.string({ minLength: 1, maxLength: 6 }), plain, { maxKeys: 3 });
const state = fc.record({
  id,
  type: fc.constantFrom("npc", "player"),
  x: finite,
  y: finite,
  z: finite,
  vx: finite,
  vy: finite,
  vz: finite,
  data,
});
const session = fc.record({
  id: fc.string({ minLength: 1, maxLength: 12 }),
  gateway: fc.string({ minLength: 1, maxLength: 12 }),
  name: fc.string({ minLength: 1, maxLength: 12 }),
  lastSeq: fc.nat(),
  resumeJti: fc.string({ minLength: 1, maxLength: 24 }),
  detachedAt: finite,
  account: fc.string({ maxLength: 24 }),
});
const handoff = fc.record({ entity: state, tick: id, hops: fc.nat(8), session }, {
  requiredKeys: ["entity", "tick", "hops"],
});
const mirrored = fc.record({
  id,
  type: fc.constantFrom("npc", "player"),
  x: finite,
  y: finite,
  z: finite,
  vx: finite,
  vy: finite,
  vz: finite,
  data,
  session,
}, { requiredKeys: ["id", "type", "x", "y", "z", "vx", "vy", "vz", "data"] });
const batch: fc.Arbitrary<Batch> = fc.record({
  from: fc.string({ minLength: 1, maxLength: 16 }),
  epoch: id,
  tick: id,
  creates: fc.array(state, { maxLength: 4 }),
  updates: fc.array(state, { maxLength: 4 }),
  deletes: fc.array(id, { maxLength: 4 }),
  moves: fc.array(fc.tuple(id, finite, finite, finite, finite, finite, finite), { maxLength: 4 })
    .map((rows) => rows.flat()),
  full: fc.boolean(),
  handoffs: fc.array(
    fc.record({
      entity: state,
      tick: id,
      hops: fc.nat(8),
      session: fc.record({
        id: fc.string({ minLength: 1, maxLength: 12 }),
        gateway: fc.string({ minLength: 1, maxLength: 12 }),
        name: fc.string({ minLength: 1, maxLength: 12 }),
        lastSeq: fc.nat(),
        resumeJti: fc.string({ minLength: 1, maxLength: 24 }),
        detachedAt: finite,
        account: fc.string({ maxLength: 24 }),
      }),
    }, { requiredKeys: ["entity", "tick", "hops"] }),
    { maxLength: 2 },
  ),
  interactions: fc.array(
    fc.record({
      id: fc.string({ minLength: 1, maxLength: 20 }),
      source: id,
      target: id,
      kind: fc.string({ minLength: 1, maxLength: 10 }),
      data: plain,
      hops: fc.nat(8),
    }),
    { maxLength: 3 },
  ),
  transfers: fc.array(
    fc.record({
      cell: fc.nat(1000),
      epoch: id,
      tick: id,
      count: fc.nat(5000),
      checksum: fc.nat(2 ** 32 - 1),
      frozenAtMs: finite,
    }),
    { maxLength: 2 },
  ),
  acks: fc.array(fc.record({ cell: fc.nat(1000), epoch: id, ok: fc.boolean() }), { maxLength: 2 }),
  handoffAcks: fc.array(fc.record({ entity: id, tick: id }), { maxLength: 3 }),
  replica: fc.record({
    creates: fc.array(mirrored, { maxLength: 3 }),
    updates: fc.array(mirrored, { maxLength: 3 }),
    deletes: fc.array(id, { maxLength: 3 }),
    held: fc.array(handoff, { maxLength: 2 }),
    released: fc.array(id, { maxLength: 3 }),
    moves: fc.array(fc.tuple(id, finite, finite, finite, finite, finite, finite), { maxLength: 3 })
      .map((rows) => rows.flat()),
  }),
  replicaAck: id,
  claims: fc.array(
    fc.record({ owner: fc.string({ minLength: 1, maxLength: 8 }), entity: id, tick: id }),
    { maxLength: 2 },
  ),
  space: fc.string({ minLength: 1, maxLength: 64 }),
}, {
  requiredKeys: [
    "from",
    "epoch",
    "tick",
    "creates",
    "updates",
    "deletes",
    "moves",
    "full",
    "handoffs",
    "interactions",
    "transfers",
    "acks",
    "handoffAcks",
    "replica",
    "replicaAck",
    "claims",
  ],
});

/** -0 and 0 are the same value on the wire; compare what a peer can observe. */
function normalise(value: unknown): unknown {
  return JSON.parse(JSON.stringify(value, (_k, v) => (Object.is(v, -0) ? 0 : v)));
}

Deno.test("a batch survives an encode/decode round trip unchanged", () => {
  fc.assert(
    fc.property(batch, (b) => {
      assert.deepEqual(normalise(decodeBatch(encodeBatch(b))), normalise(b));
    }),
    { numRuns: 500 },
  );
});

Deno.test("random bytes never decode into anything but a batch or a BatchError", () => {
  fc.assert(
    fc.property(fc.uint8Array({ maxLength: 256 }), (bytes) => {
      try {
        decodeBatch(bytes);
      } catch (error) {
        assert.ok(error instanceof BatchError, `unexpected ${(error as Error).name}`);
        assert.equal(error.code, "BAD_BATCH");
      }
    }),
    { numRuns: 10_000 },
  );
});

Deno.test("mutated valid batches are either valid or rejected with BAD_BATCH", () => {
  fc.assert(
    fc.property(batch, fc.nat(), fc.integer({ min: 0, max: 255 }), (b, at, byte) => {
      const bytes = encodeBatch(b).slice();
      bytes[at % bytes.length] = byte;
      try {
        const decoded = decodeBatch(bytes);
        assert.equal(typeof decoded.tick, "number");
      } catch (error) {
        assert.ok(error instanceof BatchError);
      }
    }),
    { numRuns: 5_000 },
  );
});

function rejects(payload: Uint8Array, pattern: RegExp): void {
  assert.throws(() => decodeBatch(payload), (error: unknown) => {
    assert.ok(error instanceof BatchError);
    assert.equal(error.code, "BAD_BATCH");
    assert.match(error.message, pattern);
    return true;
  });
}

const wire = (fields: Record<string, unknown>) =>
  encode({
    v: BATCH_VERSION,
    f: "w1",
    e: 1,
    t: 5,
    c: [],
    u: [],
    d: [],
    h: [],
    i: [],
    m: [],
    a: [],
    ...fields,
  });
const entity = [7, "npc", 1, 2, 0, 0, 0, 0, {}];

Deno.test("the reserved byte 0xc1 is rejected wherever it appears", () => {
  rejects(new Uint8Array([0xc1]), /top level must be a map/);
  for (const where of ["data", "interaction"]) {
    const valid = where === "data"
      ? encodeBatch({ ...emptyBatch("w1", 1, 5), creates: [{ ...stateOf(), data: { k: 0x7f } }] })
      : encodeBatch({
        ...emptyBatch("w1", 1, 5),
        interactions: [{ id: "i", source: 1, target: 2, kind: "k", data: [0x7f], hops: 0 }],
      });
    // Replace the marker value 0x7f with 0xc1.
    const bytes = valid.slice();
    bytes[bytes.lastIndexOf(0x7f)] = 0xc1;
    rejects(bytes, /reserved byte 0xc1/);
  }
  rejects(new Uint8Array([0x81, 0xa1, 0x76, 0xc1]), /version/);
});

function stateOf() {
  return { id: 1, type: "npc", x: 0, y: 0, z: 0, vx: 0, vy: 0, vz: 0, data: {} };
}

/** Float64 little-endian bytes, as the move column is sent. */
function packed(values: number[]): Uint8Array {
  const bytes = new Uint8Array(values.length * 8);
  const view = new DataView(bytes.buffer);
  values.forEach((v, n) => view.setFloat64(n * 8, v, true));
  return bytes;
}

Deno.test("each malformed field is rejected with a message naming it", () => {
  rejects(new Uint8Array(0), /payload is empty/);
  rejects(new Uint8Array(MAX_BATCH_BYTES + 1), /exceeds the maximum/);
  rejects(new Uint8Array([0x92, 0x01]), /not valid msgpack/);
  rejects(encode([1, 2]), /top level must be a map, got an array/);
  // A version-2 peer (before packed mirror moves) and a future one are both refused.
  rejects(wire({ v: 2 }), /version must be 3, got 2/);
  rejects(wire({ v: 4 }), /version must be 3, got 4/);
  rejects(wire({ t: "soon" }), /tick must be a non-negative integer, got "soon"/);
  rejects(wire({ t: -1 }), /tick must be a non-negative integer/);
  rejects(wire({ e: 1.5 }), /epoch must be a non-negative integer/);
  rejects(wire({ f: "" }), /from must be a string/);
  rejects(wire({ f: 7 }), /from must be a string/);
  rejects(wire({ c: {} }), /creates must be an array/);
  rejects(wire({ c: [[1, "npc"]] }), /creates\[0\] must have 9 fields, got 2/);
  rejects(wire({ c: [[1, "npc", 0, 0, 0, 0, 0, 0, 7]] }), /creates\[0\]\.data must be a map/);
  rejects(
    wire({ u: [[1, "npc", "x", 0, 0, 0, 0, 0, {}]] }),
    /updates\[0\]\.x must be a finite number/,
  );
  rejects(
    wire({ u: [[1, "npc", Infinity, 0, 0, 0, 0, 0, {}]] }),
    /updates\[0\]\.x must be a finite number/,
  );
  rejects(wire({ u: [[1, "", 0, 0, 0, 0, 0, 0, {}]] }), /updates\[0\]\.type must be a string/);
  rejects(wire({ d: [1, "two"] }), /deletes\[1\] must be a non-negative integer/);
  rejects(wire({ p: [1, 2, 3, 4, 5, 6, 7] }), /moves must be binary/);
  rejects(wire({ p: new Uint8Array(55) }), /moves must hold 56 bytes per entity, got 55/);
  rejects(
    wire({ p: packed([1, 0, 0, 0, 0, 0, 0, 2, 0, NaN, 0, 0, 0, 0]) }),
    /moves\[1\]\.y must be a finite number/,
  );
  rejects(
    wire({ p: packed([1.5, 0, 0, 0, 0, 0, 0]) }),
    /moves\[0\]\.id must be a non-negative integer/,
  );
  rejects(
    wire({ p: packed([-1, 0, 0, 0, 0, 0, 0]) }),
    /moves\[0\]\.id must be a non-negative integer/,
  );
  rejects(wire({ g: 1 }), /full must be a boolean/);
  rejects(wire({ h: [[entity, 3]] }), /handoffs\[0\] must have 3 or 4 fields/);
  rejects(
    wire({ h: [[entity, 3, 0, ["s", "g", "n", 1, "j", 0]]] }),
    /handoffs\[0\]\.session must have 7 fields/,
  );
  rejects(
    wire({ h: [[entity, 3, 0, ["s", "g", "n", 1, "j", 0, 5]]] }),
    /handoffs\[0\]\.session\.account must be a string/,
  );
  rejects(
    wire({ h: [[entity, 3, 0, ["s", "g", "n", -1, "j", 0, ""]]] }),
    /handoffs\[0\]\.session\.lastSeq/,
  );
  rejects(wire({ h: [[entity, 3, -1]] }), /handoffs\[0\]\.hops/);
  rejects(wire({ i: [["id", 1, 2, "bump", null]] }), /interactions\[0\] must have 6 fields/);
  rejects(wire({ i: [["id", 1, 2, "bump", new Date(0), 0]] }), /interactions\[0\]\.data contains/);
  rejects(
    wire({ c: [[1, "npc", 0, 0, 0, 0, 0, 0, { when: new Date(0) }]] }),
    /creates\[0\]\.data contains/,
  );
  rejects(
    wire({ c: [[1, "npc", 0, 0, 0, 0, 0, 0, { a: new Int8Array(2) }]] }),
    /unsupported value/,
  );
  rejects(wire({ m: [[1, 2, 3, 4, 5]] }), /transfers\[0\] must have 6 fields/);
  rejects(wire({ m: [[1, 2, 3, 4, -5, 0]] }), /transfers\[0\]\.checksum/);
  rejects(wire({ a: [[1, 2, "yes"]] }), /acks\[0\]\.ok must be a boolean/);
  rejects(wire({ a: 3 }), /acks must be an array/);
  rejects(wire({ k: 3 }), /handoffAcks must be an array/);
  rejects(wire({ k: [[1]] }), /handoffAcks\[0\] must have 2 fields/);
  rejects(wire({ k: [[1, -2]] }), /handoffAcks\[0\]\.tick/);
  rejects(wire({ r: [[], [], []] }), /replica must have 6 fields, got 3/);
  rejects(wire({ r: {} }), /replica must be an array/);
  rejects(
    wire({ r: [[[entity, ["s"]]], [], [], [], [], new Uint8Array(0)] }),
    /replica\.creates\[0\]\.session/,
  );
  rejects(
    wire({ r: [[], [[]], [], [], [], new Uint8Array(0)] }),
    /replica\.updates\[0\] must have 1 or 2 fields/,
  );
  rejects(wire({ r: [[], [], ["x"], [], [], new Uint8Array(0)] }), /replica\.deletes\[0\]/);
  rejects(
    wire({ r: [[], [], [], [[entity]], [], new Uint8Array(0)] }),
    /replica\.held\[0\] must have 3 or 4/,
  );
  rejects(wire({ r: [[], [], [], [], [1.5], new Uint8Array(0)] }), /replica\.released\[0\]/);
  rejects(wire({ r: [[], [], [], [], [], [1, 2]] }), /replica\.moves must be binary/);
  rejects(wire({ r: [[], [], [], [], [], new Uint8Array(8)] }), /replica\.moves must hold 56/);
  rejects(
    wire({
      r: [[], [], [], [], [], new Uint8Array(new Float64Array([1, NaN, 0, 0, 0, 0, 0]).buffer)],
    }),
    /replica\.moves\[0\]\.x must be a finite number/,
  );
  rejects(wire({ o: [["w1", 3]] }), /claims\[0\] must have 3 fields/);
  rejects(wire({ q: -1 }), /replicaAck must be a non-negative integer/);
  rejects(wire({ s: 7 }), /space must be a string of 1\.\.64/);
  rejects(wire({ s: "" }), /space must be a string of 1\.\.64/);
  rejects(wire({ s: "i".repeat(65) }), /space must be a string of 1\.\.64/);
  rejects(wire({ o: [["", 3, 4]] }), /claims\[0\]\.owner must be a string/);
  let deep: unknown = 1;
  for (let n = 0; n < 20; n++) deep = [deep];
  rejects(wire({ c: [[1, "npc", 0, 0, 0, 0, 0, 0, { deep }]] }), /nesting deeper/);
});

Deno.test("the transfer checksum ignores order and changes with any field", () => {
  const a = { ...stateOf(), id: 1, data: { hp: 3 } };
  const b = { ...stateOf(), id: 2, x: 5 };
  assert.equal(checksumOf([a, b]), checksumOf([b, a]));
  assert.notEqual(checksumOf([a, b]), checksumOf([a, { ...b, x: 5.000001 }]));
  assert.notEqual(checksumOf([a, b]), checksumOf([{ ...a, data: { hp: 4 } }, b]));
  assert.notEqual(checksumOf([a, b]), checksumOf([a]));
  const batch = { ...emptyBatch("w1", 1, 1), handoffs: [{ entity: a, tick: 1, hops: 0 }] };
  const decoded = decodeBatch(encodeBatch(batch));
  assert.equal(checksumOf(decoded.handoffs.map((h) => h.entity)), checksumOf([a]));
});

Deno.test("a map key named __proto__ cannot change an object's prototype", () => {
  const bytes = wire({ c: [[1, "npc", 0, 0, 0, 0, 0, 0, {}]] });
  const decoded = decodeBatch(bytes);
  assert.equal(Object.getPrototypeOf(decoded.creates[0].data), Object.prototype);
  const hostile = new Uint8Array([
    0x81,
    0xa9,
    ...new TextEncoder().encode("__proto__"),
    0x81,
    0xa1,
    0x78,
    0x01,
  ]);
  rejects(hostile, /version/);
  assert.equal(({} as Record<string, unknown>).x, undefined);
});
