// Login protection of a gateway: a token bucket per client IP over every /login (guest, login
// and registration), and per account a backoff after repeated wrong passwords that doubles up to
// a maximum. Both answer RATE_LIMITED (429) with the wait in Retry-After. Memory is bounded: the
// least recently seen entries are forgotten first.
import { type Clock, TokenBucket } from "./rate_limit.ts";
import type { GatewayConfig } from "../config/schema.ts";

/** Options of {@linkcode LoginLimits} (config keys gateway.login*). */
export interface LoginLimitsOptions {
  /** Attempts per IP in a burst, then `perIpPerMinute`. */
  ipBurst: number;
  perIpPerMinute: number;
  /** Wrong passwords in a row before an account backs off. */
  accountFailures: number;
  /** First backoff, doubled by each further failure, at most `backoffMaxMs`. */
  backoffMs: number;
  backoffMaxMs: number;
  /** Most IPs and accounts remembered each. Default 10 000. */
  maxEntries?: number;
  now?: Clock;
}

interface AccountFailures {
  count: number;
  until: number;
}

/**
 * The limiter. `admitIp` before any work, `admitAccount` before checking a password,
 * `failed`/`succeeded` after.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * let now = 0;
 * const limits = new LoginLimits({
 *   ipBurst: 2, perIpPerMinute: 60, accountFailures: 2, backoffMs: 1000, backoffMaxMs: 8000,
 *   now: () => now,
 * });
 * assert.equal(limits.admitIp("10.0.0.1"), 0);
 * assert.equal(limits.admitIp("10.0.0.1"), 0);
 * assert.equal(limits.admitIp("10.0.0.1"), 1000); // burst used: wait a second
 * limits.failed("ann");
 * limits.failed("ann");
 * assert.equal(limits.admitAccount("ANN"), 1000);
 * now += 1000;
 * assert.equal(limits.admitAccount("ann"), 0);
 * ```
 */
export class LoginLimits {
  #options: LoginLimitsOptions;
  #now: Clock;
  #max: number;
  #ips = new Map<string, TokenBucket>();
  #accounts = new Map<string, AccountFailures>();

  constructor(options: LoginLimitsOptions) {
    this.#options = options;
    this.#now = options.now ?? (() => performance.now());
    this.#max = options.maxEntries ?? 10_000;
  }

  /** The limits a gateway's config sets (`gateway.login*`). */
  static of(gateway: GatewayConfig): LoginLimits {
    return new LoginLimits({
      ipBurst: gateway.loginIpBurst,
      perIpPerMinute: gateway.loginPerIpPerMinute,
      accountFailures: gateway.loginAccountFailures,
      backoffMs: gateway.loginBackoffMs,
      backoffMaxMs: gateway.loginBackoffMaxMs,
    });
  }

  /** 0 when this IP may try now, else the ms to wait (the attempt is refused). */
  admitIp(ip: string): number {
    let bucket = this.#ips.get(ip);
    if (bucket) this.#ips.delete(ip);
    bucket ??= new TokenBucket({
      capacity: this.#options.ipBurst,
      refillPerSecond: this.#options.perIpPerMinute / 60,
      now: this.#now,
    });
    remember(this.#ips, ip, bucket, this.#max);
    return bucket.take() ? 0 : Math.max(1, bucket.msUntil());
  }

  /** 0 when this account may be tried now, else the ms left of its backoff. */
  admitAccount(username: string): number {
    const entry = this.#accounts.get(username.toLowerCase());
    if (!entry) return 0;
    return Math.max(0, Math.ceil(entry.until - this.#now()));
  }

  /** A wrong password for `username`: from the `accountFailures`-th on, back off. */
  failed(username: string): void {
    const key = username.toLowerCase();
    const entry = this.#accounts.get(key) ?? { count: 0, until: 0 };
    this.#accounts.delete(key);
    entry.count++;
    const over = entry.count - this.#options.accountFailures;
    if (over >= 0) {
      const wait = Math.min(this.#options.backoffMaxMs, this.#options.backoffMs * 2 ** over);
      entry.until = this.#now() + wait;
    }
    remember(this.#accounts, key, entry, this.#max);
  }

  /** A good password: the account's failures are forgotten. */
  succeeded(username: string): void {
    this.#accounts.delete(username.toLowerCase());
  }
}

// Maps keep insertion order: re-inserting on use makes the first key the least recent.
function remember<V>(map: Map<string, V>, key: string, value: V, max: number): void {
  map.set(key, value);
  if (map.size > max) map.delete(map.keys().next().value!);
}
