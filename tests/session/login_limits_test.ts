// Login floods: per-IP attempt limits and per-account backoff, on the limiter and through the
// gateway's /login route (429 RATE_LIMITED with Retry-After).
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { AccountStore, type PasswordKdf } from "../../src/session/account_store.ts";
import { gatewayApi } from "../../src/session/gateway_api.ts";
import { LoginLimits, type LoginLimitsOptions } from "../../src/session/login_limits.ts";
import { Logger } from "../../src/observe/log.ts";

const cheapKdf: PasswordKdf = (password, salt) =>
  Promise.resolve(new Uint8Array(createHash("sha512").update(password).update(salt).digest()));

const LIMITS: Omit<LoginLimitsOptions, "now"> = {
  ipBurst: 5,
  perIpPerMinute: 6,
  accountFailures: 3,
  backoffMs: 1_000,
  backoffMaxMs: 4_000,
};

function gateway(clock: { now: number }) {
  const accounts = new AccountStore({ path: ":memory:", kdf: cheapKdf });
  const routes = gatewayApi({
    accounts,
    secret: "login-limits-secret-0123",
    tokenTtlMs: 60_000,
    staticDir: "static",
    log: new Logger({ role: "gateway", level: "error", sink: () => {} }),
    gateways: () => [],
    hub: () => undefined,
    limits: new LoginLimits({ ...LIMITS, now: () => clock.now }),
  });
  const login = async (body: unknown, ip = "10.0.0.1") => {
    const url = new URL("http://gateway/login");
    const request = new Request(url, { method: "POST", body: JSON.stringify(body) });
    const response = (await routes(request, url, { remoteAddress: ip }))!;
    const json = await response.json();
    return {
      status: response.status,
      code: json.error?.code as string | undefined,
      retryAfter: response.headers.get("retry-after"),
    };
  };
  return { accounts, login };
}

Deno.test("a password flood from one IP is limited to its burst, then its refill rate", async () => {
  const clock = { now: 0 };
  const { accounts, login } = gateway(clock);
  await accounts.register("target", "the-right-password");
  const statuses: number[] = [];
  for (let i = 0; i < 20; i++) {
    statuses.push((await login({ username: `user${i}`, password: "guess-guess" })).status);
  }
  assert.deepEqual(statuses, [...Array(5).fill(401), ...Array(15).fill(429)]);
  const refused = await login({ username: "someone", password: "guess-guess" });
  assert.deepEqual([refused.code, refused.retryAfter], ["RATE_LIMITED", "10"]);
  // Another IP is not affected; guests are never limited here (no scrypt work).
  assert.equal((await login({ username: "x1y", password: "guess-guess" }, "10.0.0.2")).status, 401);
  assert.equal((await login({ guest: true, name: "Guest" })).status, 200);
  clock.now += 10_000; // one attempt back (6 a minute)
  assert.equal((await login({ username: "target", password: "the-right-password" })).status, 200);
  assert.equal((await login({ username: "target", password: "the-right-password" })).status, 429);
  await accounts.close();
});

Deno.test("wrong passwords for one account back off from any IP, doubling, until a success", async () => {
  const clock = { now: 0 };
  const { accounts, login } = gateway(clock);
  await accounts.register("victim", "the-right-password");
  let ip = 0;
  const next = () => `10.1.0.${++ip}`; // a distributed guess: every attempt from a new IP
  for (let i = 0; i < 3; i++) {
    assert.equal((await login({ username: "victim", password: "wrong-pass" }, next())).status, 401);
  }
  const locked = await login({ username: "VICTIM", password: "the-right-password" }, next());
  assert.deepEqual([locked.status, locked.retryAfter], [429, "1"], "even the right password waits");
  clock.now += 1_000;
  assert.equal((await login({ username: "victim", password: "wrong-pass" }, next())).status, 401);
  assert.equal(
    (await login({ username: "victim", password: "x-wrong-x" }, next())).retryAfter,
    "2",
  );
  clock.now += 2_000;
  assert.equal((await login({ username: "victim", password: "wrong-pass" }, next())).status, 401);
  assert.equal(
    (await login({ username: "victim", password: "x-wrong-x" }, next())).retryAfter,
    "4",
  );
  clock.now += 4_000;
  assert.equal((await login({ username: "victim", password: "wrong-pass" }, next())).status, 401);
  assert.equal(
    (await login({ username: "victim", password: "x-wrong-x" }, next())).retryAfter,
    "4",
    "capped at backoffMaxMs",
  );
  clock.now += 4_000;
  assert.equal(
    (await login({ username: "victim", password: "the-right-password" }, next())).status,
    200,
  );
  assert.equal((await login({ username: "victim", password: "wrong-pass" }, next())).status, 401);
  assert.equal((await login({ username: "victim", password: "wrong-pass" }, next())).status, 401);
  await accounts.close();
});

Deno.test("registration floods count against the IP too", async () => {
  const clock = { now: 0 };
  const { accounts, login } = gateway(clock);
  const statuses: number[] = [];
  for (let i = 0; i < 8; i++) {
    statuses.push(
      (await login({ username: `spam${i}`, password: "password-123", register: true })).status,
    );
  }
  assert.deepEqual(statuses, [200, 200, 200, 200, 200, 429, 429, 429]);
  await accounts.close();
});

Deno.test("the limiter forgets the least recently seen IPs beyond maxEntries", () => {
  const limits = new LoginLimits({ ...LIMITS, ipBurst: 1, maxEntries: 2, now: () => 0 });
  assert.equal(limits.admitIp("a"), 0);
  assert.ok(limits.admitIp("a") > 0);
  limits.admitIp("b");
  limits.admitIp("c"); // "a" is forgotten: it starts again with a full bucket
  assert.equal(limits.admitIp("a"), 0);
});
