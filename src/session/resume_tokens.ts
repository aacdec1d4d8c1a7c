// Single-use resume tokens: a signed token names the session and entity, and a ResumeStore
// (in memory here; shared between gateways later) lets each token be redeemed exactly once.
import { AuthError, newTokenId, TokenSigner } from "./login_tokens.ts";
import { ErrorCode } from "../errors.ts";

/**
 * The single-use ledger behind resume tokens, keyed by token id. An interface so several
 * gateways can share one (the coordinator, a database) instead of {@linkcode LocalResumeStore};
 * `take` must be atomic across all of them. Times are ms since the Unix epoch.
 */
export interface ResumeStore {
  /** Records a new token id, redeemable until `expiresAt`. */
  put(id: string, expiresAt: number): Promise<void>;
  /** Moves the deadline of an unredeemed token; false when it is unknown or already taken. */
  setDeadline(id: string, expiresAt: number): Promise<boolean>;
  /** Marks the token used: true exactly once, and only while `now < expiresAt`. */
  take(id: string, now: number): Promise<boolean>;
  /** Forgets a token (its session ended). */
  delete(id: string): Promise<void>;
}

/** Options of {@linkcode LocalResumeStore}. */
export interface LocalResumeStoreOptions {
  /** Most tokens held; when full, expired ones go first, then the oldest. Default 100,000. */
  maxEntries?: number;
  /** Clock used to sweep expired entries (ms). Default `Date.now`. */
  now?: () => number;
}

/**
 * An in-memory {@linkcode ResumeStore} for one gateway (or role "all"), bounded and expiring.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * const store = new LocalResumeStore();
 * await store.put("t1", 1000);
 * assert.equal(await store.take("t1", 500), true);
 * assert.equal(await store.take("t1", 501), false);
 * ```
 */
export class LocalResumeStore implements ResumeStore {
  readonly maxEntries: number;
  #deadlines = new Map<string, number>();
  #now: () => number;

  constructor(options: LocalResumeStoreOptions = {}) {
    this.maxEntries = options.maxEntries ?? 100_000;
    if (!Number.isSafeInteger(this.maxEntries) || this.maxEntries < 1) {
      throw new RangeError(
        `Cannot create a resume store: maxEntries must be an integer >= 1, got ${this.maxEntries}`,
      );
    }
    this.#now = options.now ?? Date.now;
  }

  /** Tokens currently held (redeemable or expired but not yet swept). */
  get size(): number {
    return this.#deadlines.size;
  }

  put(id: string, expiresAt: number): Promise<void> {
    this.#deadlines.delete(id);
    if (this.#deadlines.size >= this.maxEntries) this.sweep(this.#now());
    // Still full: drop the oldest entry (a Map iterates in insertion order).
    if (this.#deadlines.size >= this.maxEntries) {
      this.#deadlines.delete(this.#deadlines.keys().next().value!);
    }
    this.#deadlines.set(id, expiresAt);
    return Promise.resolve();
  }

  setDeadline(id: string, expiresAt: number): Promise<boolean> {
    if (!this.#deadlines.has(id)) return Promise.resolve(false);
    this.#deadlines.set(id, expiresAt);
    return Promise.resolve(true);
  }

  take(id: string, now: number): Promise<boolean> {
    const deadline = this.#deadlines.get(id);
    if (deadline === undefined) return Promise.resolve(false);
    this.#deadlines.delete(id);
    return Promise.resolve(now < deadline);
  }

  delete(id: string): Promise<void> {
    this.#deadlines.delete(id);
    return Promise.resolve();
  }

  /** Drops every entry expired at `now`; returns how many. Call it now and then, or rely on put. */
  sweep(now: number): number {
    let dropped = 0;
    for (const [id, deadline] of this.#deadlines) {
      if (now >= deadline) {
        this.#deadlines.delete(id);
        dropped++;
      }
    }
    return dropped;
  }
}

/** What a redeemed resume token gives back. */
export interface ResumeTicket {
  sessionId: string;
  entityId: number;
}

/** Options of {@linkcode ResumeTokens}. */
export interface ResumeTokensOptions {
  /** Cluster secret; tokens verify on every gateway that shares it. */
  secret: string;
  /** Default: a {@linkcode LocalResumeStore} with the same clock. */
  store?: ResumeStore;
  /** Clock in ms. Default `Date.now`. */
  now?: () => number;
}

interface ResumeClaims {
  sid: string;
  ent: number;
  exp: number;
  jti: string;
}

/**
 * Issues and redeems resume tokens. A token is issued at WELCOME with a long `ttlMs` (it must
 * survive while the client is connected), shortened to the grace period by
 * {@linkcode ResumeTokens.detach} when the connection drops, and redeemed once by a HELLO on a
 * new connection, on this gateway or another one sharing the secret and the store.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * let now = 0;
 * const tokens = new ResumeTokens({ secret: "0123456789abcdef", now: () => now });
 * const token = await tokens.issue("s1", 42, 3_600_000);
 * now = 10_000;
 * await tokens.detach(token, 15_000); // connection lost at 10 s: resumable until 25 s
 * now = 20_000;
 * assert.deepEqual(await tokens.redeem(token), { sessionId: "s1", entityId: 42 });
 * await assert.rejects(tokens.redeem(token), { code: "RESUME_FAILED" });
 * ```
 */
export class ResumeTokens {
  readonly store: ResumeStore;
  #signer: TokenSigner;
  #now: () => number;

  constructor(options: ResumeTokensOptions) {
    this.#now = options.now ?? Date.now;
    this.store = options.store ?? new LocalResumeStore({ now: this.#now });
    this.#signer = new TokenSigner(options.secret, { purpose: "resume token", prefix: "r1" });
  }

  /**
   * A new token for the session, redeemable once within `ttlMs` from now. `jti` lets the
   * caller choose the token id up front (the owning worker records it at join).
   */
  async issue(
    sessionId: string,
    entityId: number,
    ttlMs: number,
    jti: string = newTokenId(),
  ): Promise<string> {
    if (typeof sessionId !== "string" || sessionId.length === 0 || sessionId.length > 128) {
      throw new TypeError(`Cannot issue a resume token: bad session id ${String(sessionId)}`);
    }
    if (!Number.isSafeInteger(entityId) || entityId < 0) {
      throw new TypeError(`Cannot issue a resume token: bad entity id ${entityId}`);
    }
    if (!Number.isFinite(ttlMs) || ttlMs <= 0) {
      throw new RangeError(`Cannot issue a resume token: ttlMs must be > 0, got ${ttlMs}`);
    }
    const claims: ResumeClaims = {
      sid: sessionId,
      ent: entityId,
      exp: Math.ceil(this.#now() + ttlMs),
      jti,
    };
    await this.store.put(claims.jti, claims.exp);
    return this.#signer.sign(claims);
  }

  /**
   * The session's connection dropped: from now the token works only for `graceMs` more (never
   * beyond its original expiry). False when the token is unknown, forged or already used.
   */
  async detach(token: string, graceMs: number): Promise<boolean> {
    const claims = this.#open(token);
    if (!claims) return false;
    return await this.store.setDeadline(claims.jti, Math.min(claims.exp, this.#now() + graceMs));
  }

  /**
   * Redeems a token: the session and entity it names, exactly once, while it is valid. Throws
   * {@linkcode AuthError} RESUME_FAILED for a forged, expired, revoked or already used token.
   */
  async redeem(token: string, now: number = this.#now()): Promise<ResumeTicket> {
    const { sessionId, entityId, id } = this.read(token, now);
    if (!(await this.store.take(id, now))) {
      throw new AuthError(
        ErrorCode.RESUME_FAILED,
        "Cannot resume: the resume token was already used or has expired",
      );
    }
    return { sessionId, entityId };
  }

  /**
   * Checks a token's signature and lifetime without using it up, for a caller that keeps the
   * single-use check elsewhere (e.g. the worker owning the entity compares `id`). Throws
   * {@linkcode AuthError} RESUME_FAILED for a forged or expired token.
   */
  read(token: string, now: number = this.#now()): ResumeTicket & { id: string; expiresAt: number } {
    const claims = this.#open(token);
    if (!claims) {
      throw new AuthError(ErrorCode.RESUME_FAILED, "Cannot resume: the resume token is not valid");
    }
    if (now >= claims.exp) {
      throw new AuthError(ErrorCode.RESUME_FAILED, "Cannot resume: the resume token has expired");
    }
    return { sessionId: claims.sid, entityId: claims.ent, id: claims.jti, expiresAt: claims.exp };
  }

  /** Makes a token unusable (the session ended for good). */
  async revoke(token: string): Promise<void> {
    const claims = this.#open(token);
    if (claims) await this.store.delete(claims.jti);
  }

  #open(token: string): ResumeClaims | undefined {
    const value = this.#signer.open(token) as Partial<ResumeClaims> | undefined;
    if (typeof value !== "object" || value === null || Array.isArray(value)) return undefined;
    const { sid, ent, exp, jti } = value;
    if (typeof sid !== "string" || typeof jti !== "string") return undefined;
    if (!Number.isSafeInteger(ent) || !Number.isSafeInteger(exp)) return undefined;
    return value as ResumeClaims;
  }
}
