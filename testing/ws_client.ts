// A strict protocol client for tests: logs in, speaks msgpack or JSON frames, and checks every
// DIFF against what it was told before (no double enter, no unknown update or leave, its own
// entity always visible) and records every gap in the tick numbers.
import { decodeServerFrame, encodeClientFrame } from "../src/client/client_codec.ts";
import type {
  ClientMessage,
  ServerMessage,
  WelcomeMessage,
} from "../src/protocol/client_protocol.ts";

/** POST /login as a guest; returns the token. */
export async function guestToken(base: string, name: string): Promise<string> {
  const response = await fetch(`${base}/login`, {
    method: "POST",
    body: JSON.stringify({ guest: true, name }),
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
  readonly visible = new Map<number, { x: number; y: number }>();
  /** Violations of the stream's rules (should stay empty). */
  readonly problems: string[] = [];
  welcome?: WelcomeMessage;
  lastTick = -1;
  maxGap = 0;
  /** Consecutive DIFF ticks [before, after] more than one apart. */
  readonly gaps: Array<[number, number]> = [];
  diffs = 0;
  closed: Promise<{ code: number; reason: string }>;
  /** The close, once it happened (for `waitFor` probes). */
  closedWith?: { code: number; reason: string };
  #waiters = new Set<() => void>();

  constructor(url: string, readonly format: "msgpack" | "json" = "msgpack") {
    this.socket = new WebSocket(format === "json" ? `${url}?format=json` : url);
    this.socket.binaryType = "arraybuffer";
    this.closed = new Promise((resolve) => {
      this.socket.onclose = (e) => {
        this.closedWith = { code: e.code, reason: e.reason };
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

  /** Resolves with the first value `probe` returns, or throws after timeoutMs. */
  waitFor<T>(what: string, probe: () => T | undefined, timeoutMs = 10_000): Promise<T> {
    return new Promise((resolve, reject) => {
      const check = () => {
        const value = probe();
        if (value === undefined) return;
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

  close(): void {
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
    if (message.op === 5) this.welcome = message;
    if (message.op === 8) this.errors.push({ code: message.code, message: message.message });
    if (message.op !== 6) return;
    this.diffs++;
    if (this.lastTick >= 0) {
      this.maxGap = Math.max(this.maxGap, message.tick - this.lastTick);
      if (message.tick - this.lastTick > 1) this.gaps.push([this.lastTick, message.tick]);
    }
    this.lastTick = message.tick;
    if (message.full) this.visible.clear();
    for (const id of message.leave) {
      if (!this.visible.delete(id)) this.problems.push(`leave of unknown ${id} at ${message.tick}`);
    }
    for (const [id, , x, y] of message.enter) {
      if (this.visible.has(id)) this.problems.push(`double enter of ${id} at ${message.tick}`);
      this.visible.set(id, { x, y });
    }
    for (const [id, x, y] of message.update) {
      if (!this.visible.has(id)) this.problems.push(`update of unknown ${id} at ${message.tick}`);
      this.visible.set(id, { x, y });
    }
    const self = this.welcome?.entity;
    if (self !== undefined && !this.visible.has(self)) {
      this.problems.push(`own entity missing at ${message.tick}`);
    }
  }
}
