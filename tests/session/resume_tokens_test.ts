import assert from "node:assert/strict";
import { AuthError } from "../../src/session/login_tokens.ts";
import { LocalResumeStore, ResumeTokens } from "../../src/session/resume_tokens.ts";

const SECRET = "cluster-secret-0123456789";
const HOUR = 3_600_000;
const GRACE = 15_000;

function clock(start = 1_000_000) {
  const state = { now: start };
  return { state, now: () => state.now };
}

async function refused(promise: Promise<unknown>): Promise<void> {
  await assert.rejects(promise, (error: unknown) => {
    assert.ok(error instanceof AuthError, `expected AuthError, got ${error}`);
    assert.equal(error.code, "RESUME_FAILED");
    return true;
  });
}

Deno.test("a resume token is redeemed exactly once and a replay is refused", async () => {
  const { now } = clock();
  const tokens = new ResumeTokens({ secret: SECRET, now });
  const token = await tokens.issue("session-1", 4_294_967_296 + 5, HOUR);
  assert.match(token, /^r1\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$/);
  assert.deepEqual(await tokens.redeem(token), { sessionId: "session-1", entityId: 4294967301 });
  await refused(tokens.redeem(token));
  await refused(tokens.redeem(token));
});

Deno.test("after a disconnect the token works only within the grace period", async () => {
  const { state, now } = clock();
  const tokens = new ResumeTokens({ secret: SECRET, now });
  const early = await tokens.issue("s1", 1, HOUR);
  const late = await tokens.issue("s2", 2, HOUR);
  state.now += 60_000; // connected for a minute, then the connection drops
  assert.equal(await tokens.detach(early, GRACE), true);
  assert.equal(await tokens.detach(late, GRACE), true);
  state.now += GRACE - 1;
  assert.equal((await tokens.redeem(early)).sessionId, "s1");
  state.now += 1;
  await refused(tokens.redeem(late));
});

Deno.test("while still connected the token works (session takeover) until its ttl", async () => {
  const { state, now } = clock();
  const tokens = new ResumeTokens({ secret: SECRET, now });
  const token = await tokens.issue("s1", 1, HOUR);
  const expired = await tokens.issue("s2", 2, HOUR);
  state.now += HOUR - 1;
  assert.equal((await tokens.redeem(token)).entityId, 1);
  state.now += 1;
  await refused(tokens.redeem(expired));
  // The explicit `now` argument wins over the clock.
  const other = await tokens.issue("s3", 3, HOUR);
  await refused(tokens.redeem(other, state.now + HOUR));
});

Deno.test("a detach never extends a token beyond its ttl, nor revives a used one", async () => {
  const { state, now } = clock();
  const tokens = new ResumeTokens({ secret: SECRET, now });
  const short = await tokens.issue("s1", 1, 5_000);
  assert.equal(await tokens.detach(short, GRACE), true);
  state.now += 5_000;
  await refused(tokens.redeem(short));
  const used = await tokens.issue("s2", 2, HOUR);
  await tokens.redeem(used);
  assert.equal(await tokens.detach(used, GRACE), false);
  await refused(tokens.redeem(used));
  assert.equal(await tokens.detach("r1.not.valid", GRACE), false);
});

Deno.test("forged, tampered and revoked resume tokens are refused", async () => {
  const { now } = clock();
  const tokens = new ResumeTokens({ secret: SECRET, now });
  const token = await tokens.issue("s1", 1, HOUR);
  const foreign = await new ResumeTokens({ secret: "another-secret-abcdef", now }).issue(
    "s1",
    1,
    HOUR,
  );
  await refused(tokens.redeem(foreign));
  const [prefix, body, signature] = token.split(".");
  await refused(
    tokens.redeem(`${prefix}.${body}.${signature.replace(/^./, (c) => c === "A" ? "B" : "A")}`),
  );
  await refused(tokens.redeem(`${prefix}.${body.slice(1)}.${signature}`));
  await refused(tokens.redeem(""));
  await refused(tokens.redeem("x".repeat(4000)));
  await refused(tokens.redeem(undefined as unknown as string));
  await tokens.revoke(token);
  await refused(tokens.redeem(token));
});

Deno.test("two gateways sharing a secret and a store honour a token once between them", async () => {
  const { now } = clock();
  const store = new LocalResumeStore({ now });
  const gatewayA = new ResumeTokens({ secret: SECRET, store, now });
  const gatewayB = new ResumeTokens({ secret: SECRET, store, now });
  const token = await gatewayA.issue("s1", 9, HOUR);
  await gatewayA.detach(token, GRACE);
  const results = await Promise.allSettled([gatewayB.redeem(token), gatewayA.redeem(token)]);
  assert.deepEqual(results.map((r) => r.status).sort(), ["fulfilled", "rejected"]);
  // Without a shared store the second gateway does not know the token at all.
  const isolated = new ResumeTokens({ secret: SECRET, now });
  await refused(isolated.redeem(await gatewayA.issue("s2", 10, HOUR)));
});

Deno.test("concurrent redeems of one token succeed exactly once", async () => {
  const { now } = clock();
  const tokens = new ResumeTokens({ secret: SECRET, now });
  const token = await tokens.issue("s1", 1, HOUR);
  const results = await Promise.allSettled(Array.from({ length: 10 }, () => tokens.redeem(token)));
  assert.equal(results.filter((r) => r.status === "fulfilled").length, 1);
});

Deno.test("the local store is bounded: expired entries go first, then the oldest", async () => {
  const { state, now } = clock(0);
  const store = new LocalResumeStore({ maxEntries: 3, now });
  await store.put("old", 10_000);
  await store.put("expiring", 100);
  await store.put("young", 10_000);
  state.now = 200;
  await store.put("new", 10_000); // full: the expired entry makes room
  assert.equal(store.size, 3);
  assert.equal(await store.take("old", state.now), true);
  await store.put("a", 10_000);
  await store.put("b", 10_000); // full, nothing expired: the oldest ("young") goes
  assert.equal(store.size, 3);
  assert.equal(await store.take("young", state.now), false);
  assert.equal(await store.take("new", state.now), true);
  assert.equal(store.sweep(20_000), 2);
  assert.equal(store.size, 0);
  assert.throws(() => new LocalResumeStore({ maxEntries: 0 }), RangeError);
});

Deno.test("issue refuses ids and lifetimes that could never redeem", async () => {
  const tokens = new ResumeTokens({ secret: SECRET });
  await assert.rejects(tokens.issue("", 1, HOUR), TypeError);
  await assert.rejects(tokens.issue("s", -1, HOUR), TypeError);
  await assert.rejects(tokens.issue("s", 1, 0), RangeError);
  await assert.rejects(tokens.issue("s", 1, Number.NaN), RangeError);
});

Deno.test("read checks a token without using it up and names its id", async () => {
  const { state, now } = clock();
  const tokens = new ResumeTokens({ secret: SECRET, now });
  const token = await tokens.issue("s1", 7, 5_000);
  const first = tokens.read(token);
  assert.deepEqual(tokens.read(token), first, "reading twice is fine");
  assert.deepEqual({ ...first, id: "" }, {
    sessionId: "s1",
    entityId: 7,
    id: "",
    expiresAt: state.now + 5_000,
  });
  assert.match(first.id, /^[A-Za-z0-9_-]{22}$/);
  assert.notEqual(tokens.read(await tokens.issue("s1", 7, 5_000)).id, first.id);
  assert.equal((await tokens.redeem(token)).entityId, 7);
  assert.throws(() => tokens.read(token, state.now + 5_000), { code: "RESUME_FAILED" });
  assert.throws(() => tokens.read("r1.x.y"), { code: "RESUME_FAILED" });
});
