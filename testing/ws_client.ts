// A strict protocol client for tests: logs in, speaks msgpack or JSON frames, and checks every
// DIFF against what it was told before (no double enter, no unknown update or leave, no update
// repeating the data the client already has, its own entity always visible) and records every
// gap in the tick numbers.
import { decodeServerFrame, encodeClientFrame } from "../src/client/client_codec.ts";
import { isDeepStrictEqual } from "node:util";
import type {
  ClientMessage,
  ServerMessage,
  WelcomeMessage,
} from "../src/protocol/client_protocol.ts";
import type { EntityData } from "../src/world/entity.ts";

/** POST /login as a guest; returns the token. */
export function guestToken(base: string, name: string): Promise<string> {
  return loginToken(base, { guest: true, name });
}

/** POST /login with an account (registering it first when `register`); returns the token. */
export function accountToken(
  base: string,
  username: string,
  password: string,
  register = false,
): Promise<string> {
  return loginToken(base, { username, password, register });
}

async function loginToken(base: string, request: Record<string, unknown>): Promise<string> {
  const response = await fetch(`${base}/login`, {
    method: "POST",
    body: JSON.stringify(request),
    signal: AbortSignal.timeout(5_000),
  });
  const body = await response.json();
  if (!response.ok) throw new Error(`login failed: ${JSON.stringify(body)}`);
  return body.token;
}

/** One WebSocket client of the gateway. */
export class TestClient {
  readonly socket: WebSocket;
  readonly messages: ServerMessage[] = [];
  readonly errors: Array<{ code: string; message: string }> = [];
  /** The client's copy of every visible entity, as the DIFFs told it. */
  readonly visible = new Map<number, { x: number; y: number; data: EntityData | undefined }>();
  /** `update` records that carried data (a changed value, by the protocol). */
  dataUpdates = 0;
  /** Violations of the stream's rules (should stay empty). */
  readonly problems: string[] = [];
  welcome?: WelcomeMessage;
  /** The player's own entity: WELCOME's, then each TRAVEL's. */
  entity?: number;
  lastTick = -1;
  maxGap = 0;
  /** Consecutive DIFF ticks [before, after] more than one apart. */
  readonly gaps: Array<[number, number]> = [];
  diffs = 0;
  /** Arrival time (Date.now(), the clock of log lines and cluster events) of every DIFF. */
  readonly diffTimes: number[] = [];
  /** WELCOMEs received on this connection (a second one would break the protocol). */
  welcomes = 0;
  /** Set once the socket closed; `at` is its Date.now(). */
  closeEvent: { code: number; reason: string; at: number } | undefined;
  closed: Promise<{ code: number; reason: string }>;
  /** The close, once it happened (for `waitFor` probes). */
  closedWith?: { code: number; reason: string };
  #waiters = new Set<() => void>();
  #walk: ReturnType<typeof setInterval> | undefined;
  #seq = 0;

  constructor(url: string, readonly format: "msgpack" | "json" = "msgpack") {
    this.socket = new WebSocket(format === "json" ? `${url}?format=json` : url);
    this.socket.binaryType = "arraybuffer";
    this.closed = new Promise((resolve) => {
      this.socket.onclose = (e) => {
        this.closedWith = { code: e.code, reason: e.reason };
        this.closeEvent = { ...this.closedWith, at: Date.now() };
        this.stopWalking();
        resolve(this.closedWith);
        this.#wake();
      };
    });
    this.socket.onmessage = (e) => {
      const message = decodeServerFrame(
        typeof e.data === "string" ? e.data : new Uint8Array(e.data),
      );
      this.messages.push(message);
      this.#check(message);
      this.#wake();
    };
  }

  /** Resolves when the socket is open. */
  opened(): Promise<void> {
    if (this.socket.readyState === WebSocket.OPEN) return Promise.resolve();
    return new Promise((resolve, reject) => {
      this.socket.onopen = () => resolve();
      this.socket.onerror = () => reject(new Error("WebSocket failed to open"));
    });
  }

  send(message: ClientMessage): void {
    this.socket.send(encodeClientFrame(message, this.format as "msgpack"));
  }

  /**
   * Resolves with the first value `probe` returns; throws after timeoutMs, or at once when the
   * socket closed and `probe` still returns nothing (naming the close code, reason and the last
   * ERROR, so a test says why a stream ended instead of only that it timed out).
   */
  waitFor<T>(what: string, probe: () => T | undefined, timeoutMs = 10_000): Promise<T> {
    return new Promise((resolve, reject) => {
      const check = () => {
        const value = probe();
        if (value === undefined) {
          if (!this.closedWith) return;
          clearTimeout(timer);
          this.#waiters.delete(check);
          const { code, reason } = this.closedWith;
          reject(
            new Error(
              `Closed (${code} ${reason}, last ERROR ${
                JSON.stringify(this.errors.at(-1) ?? null)
              }) while waiting for ${what}`,
            ),
          );
          return;
        }
        clearTimeout(timer);
        this.#waiters.delete(check);
        resolve(value);
      };
      const timer = setTimeout(() => {
        this.#waiters.delete(check);
        reject(new Error(`Timed out after ${timeoutMs} ms waiting for ${what}`));
      }, timeoutMs);
      this.#waiters.add(check);
      check();
    });
  }

  /** HELLO with a login token or a resume token, then WELCOME. */
  async hello(hello: { token: string } | { resumeToken: string }): Promise<WelcomeMessage> {
    await this.opened();
    this.send({ op: 1, protocol: 1, ...hello } as ClientMessage);
    return await this.waitFor(
      "WELCOME",
      () => this.welcome ?? (this.errors[0] ? this.#failed() : undefined),
    );
  }

  #failed(): never {
    throw new Error(`HELLO refused: ${JSON.stringify(this.errors[0])}`);
  }

  /**
   * Plays: sends an INPUT with the next seq `rateHz` times a second, heading in a direction
   * that changes with every step, until {@linkcode TestClient.stopWalking} or the close.
   */
  walk(rateHz: number): void {
    this.stopWalking();
    let heading = (this.welcome?.entity ?? 0) % 7;
    this.#walk = setInterval(() => {
      if (this.socket.readyState !== WebSocket.OPEN) return;
      heading += 0.3;
      this.send({
        op: 2,
        seq: ++this.#seq,
        intent: { move: [Math.cos(heading), Math.sin(heading)] },
      });
    }, 1000 / rateHz);
  }

  stopWalking(): void {
    clearInterval(this.#walk);
    this.#walk = undefined;
  }

  /** The first DIFF that arrived after `time` (Date.now() clock), or undefined. */
  firstDiffAfter(time: number): number | undefined {
    return this.diffTimes.find((t) => t > time);
  }

  /**
   * The silence a failure at `at` caused: the longest gap between DIFFs that began from the
   * last DIFF before `at` up to `startWithinMs` after it (the last DIFF a dead worker had in
   * flight lands by then). `resumedAt` is the arrival of the DIFF that ended it, undefined while
   * the stream is still silent. A player the failure did not touch shows a tick-sized gap.
   */
  silenceAt(at: number, startWithinMs = 500): { ms: number; resumedAt: number | undefined } {
    const times = this.diffTimes;
    let i = times.findLastIndex((t) => t <= at);
    if (i < 0) i = 0;
    let ms = 0, resumedAt: number | undefined;
    for (; i < times.length && times[i] <= at + startWithinMs; i++) {
      const next = times[i + 1];
      const gap = (next ?? Date.now()) - times[i];
      if (gap > ms) (ms = gap, resumedAt = next);
    }
    return { ms, resumedAt };
  }

  /**
   * The longest silence of the DIFF stream within `[from, to]`: between `from` and the first
   * DIFF after it, between two DIFFs, or from the last DIFF to `to`.
   */
  longestGap(from: number, to: number): number {
    let last = from, ms = 0;
    for (const t of this.diffTimes) {
      if (t <= from) continue;
      if (t > to) break;
      ms = Math.max(ms, t - last);
      last = t;
    }
    return Math.max(ms, to - last);
  }

  close(): void {
    this.stopWalking();
    try {
      this.socket.close(1000);
    } catch { /* closed */ }
  }

  #wake(): void {
    for (const waiter of this.#waiters) {
      try {
        waiter();
      } catch { /* a probe that throws rejects nothing here */ }
    }
  }

  #check(message: ServerMessage): void {
    if (message.op === 5) (this.welcome = message, this.welcomes++, this.entity = message.entity);
    if (message.op === 15) this.entity = message.entity;
    if (message.op === 8) this.errors.push({ code: message.code, message: message.message });
    if (message.op !== 6) return;
    this.diffs++;
    this.diffTimes.push(Date.now());
    if (this.lastTick >= 0) {
      this.maxGap = Math.max(this.maxGap, message.tick - this.lastTick);
      // A full DIFF may skip ticks (docs/protocol.md): after a TRAVEL it shows the new space
      // at the newest tick the gateway has of it.
      if (message.tick - this.lastTick > 1 && !message.full) {
        this.gaps.push([this.lastTick, message.tick]);
      }
    }
    this.lastTick = message.tick;
    if (message.full) this.visible.clear();
    for (const id of message.leave) {
      if (!this.visible.delete(id)) this.problems.push(`leave of unknown ${id} at ${message.tick}`);
    }
    for (const [id, , x, y, , data] of message.enter) {
      if (this.visible.has(id)) this.problems.push(`double enter of ${id} at ${message.tick}`);
      this.visible.set(id, { x, y, data });
    }
    for (const record of message.update) {
      const [id, x, y] = record;
      const known = this.visible.get(id);
      if (!known) this.problems.push(`update of unknown ${id} at ${message.tick}`);
      let data = known?.data;
      if (record.length > 4) {
        // Data rides an update only when a value changed since this client last got it.
        this.dataUpdates++;
        if (known && isDeepStrictEqual(record[4], known.data)) {
          this.problems.push(
            `update of ${id} at ${message.tick} repeats its data ${JSON.stringify(record[4])}`,
          );
        }
        data = record[4];
      }
      this.visible.set(id, { x, y, data });
    }
    const self = this.entity;
    if (self !== undefined && !this.visible.has(self)) {
      this.problems.push(`own entity missing at ${message.tick}`);
    }
  }
}
