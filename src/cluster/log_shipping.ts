// The active coordinator's side of log replay: serves the standby's Follow stream (its log
// from the standby's last applied entry, a snapshot when that entry is gone or differs, then
// every commit as it happens, and keepalives between), and holds back announcements until the
// standby acknowledged the entries they depend on, so a takeover never loses an announced map.
import type { Logger } from "../observe/log.ts";
import { type FollowMessage, grpc, type LogRecord } from "../net/rpc.ts";
import type { CoordinatorState } from "./coordinator_state.ts";
import type { LogEntry } from "./state_store.ts";

type FollowCall = grpc.ServerDuplexStream<FollowMessage, LogRecord>;

/** Options of {@linkcode LogShipping}. */
export interface LogShippingOptions {
  state: CoordinatorState;
  log: Logger;
  /** This coordinator's HTTP address (the standby's page links to it). */
  self: { httpAddress: string };
  /** Keepalive records this often, so the standby tells silence from a quiet log. */
  keepaliveMs: number;
  /** A standby that acknowledges nothing for this long is dropped (announcements go on). */
  ackTimeoutMs: number;
}

/** The standby attached to this active coordinator. */
export interface AttachedStandby {
  address: string;
  httpAddress: string;
  acked: number;
}

const encoder = new TextEncoder();

/** Log shipping to at most one standby. */
export class LogShipping {
  #o: LogShippingOptions;
  #follower?: { call: FollowCall; standby: AttachedStandby; stop: () => void };
  #waiting: Array<{ index: number; run: () => void }> = [];
  #ackTimer?: ReturnType<typeof setTimeout>;

  constructor(options: LogShippingOptions) {
    this.#o = options;
  }

  /** The standby following now, with how far it acknowledged. */
  get standby(): AttachedStandby | undefined {
    return this.#follower && { ...this.#follower.standby };
  }

  /** Runs `run` once the standby acknowledged entry `index` (at once with no standby). */
  after(index: number, run: () => void): void {
    const f = this.#follower;
    if (!f || f.standby.acked >= index) {
      if (this.#waiting.length === 0) return run();
    }
    this.#waiting.push({ index, run });
    if (!f) return this.#flush(Infinity);
    this.#arm();
  }

  /** Drops a standby that acknowledges nothing of what waits for ackTimeoutMs. */
  #arm(): void {
    this.#ackTimer ??= setTimeout(() => {
      this.#ackTimer = undefined;
      const late = this.#follower;
      if (!late) return;
      this.#o.log.warn("standby.dropped", {
        standby: late.standby.address,
        acked: late.standby.acked,
        index: this.#o.state.store.last.index,
        reason: `no acknowledgement for ${this.#o.ackTimeoutMs} ms`,
      });
      this.#detach(late.call);
      late.call.end();
    }, this.#o.ackTimeoutMs);
  }

  /** The Follow handler. */
  follow(call: FollowCall): void {
    const { log } = this.#o;
    call.on("error", (error) => log.debug("follow.error", { error }));
    let started = false;
    call.on("data", (message: FollowMessage) => {
      if (!started) {
        started = true;
        this.#start(call, message);
        return;
      }
      const f = this.#follower;
      if (f?.call !== call) return;
      if (Number.isSafeInteger(message.acked) && message.acked > f.standby.acked) {
        f.standby.acked = Math.min(message.acked, this.#o.state.store.last.index);
        this.#flush(f.standby.acked);
      }
    });
    const gone = () => this.#detach(call);
    call.on("end", gone);
    call.on("close", gone);
    call.on("cancelled", gone);
  }

  /** Ends the standby's stream and runs whatever waited for it. */
  close(): void {
    const f = this.#follower;
    if (f) {
      this.#detach(f.call);
      f.call.end();
    }
  }

  #start(call: FollowCall, hello: FollowMessage): void {
    const { state, log, keepaliveMs } = this.#o;
    const httpAddress = this.#o.self.httpAddress;
    if (!hello.address) {
      call.emit("error", {
        code: grpc.status.INVALID_ARGUMENT,
        details: "INVALID_ARGUMENT: Follow needs the standby's address in its first message",
      });
      return;
    }
    const previous = this.#follower;
    if (previous) {
      this.#detach(previous.call);
      previous.call.end();
    }
    const store = state.store;
    const last = store.last;
    const matches = hello.lastIndex > 0 && hello.lastIndex <= last.index &&
      store.termAt(hello.lastIndex) === hello.lastTerm;
    const entries = matches ? store.entriesAfter(hello.lastIndex) : undefined;
    const record = (e: LogEntry): LogRecord => ({
      index: e.index,
      term: e.term,
      kind: "change",
      payload: encoder.encode(JSON.stringify(e.change)),
      httpAddress,
    });
    if (entries) {
      for (const e of entries) call.write(record(e));
    } else {
      call.write({
        index: last.index,
        term: last.term,
        kind: "snapshot",
        payload: encoder.encode(JSON.stringify(state.committed)),
        httpAddress,
      });
    }
    const unlisten = state.onAppend((appended) => {
      for (const e of appended) call.write(record(e));
    });
    const keepalive = setInterval(() => {
      const at = store.last;
      call.write({
        index: at.index,
        term: state.term,
        kind: "keepalive",
        payload: new Uint8Array(),
        httpAddress,
      });
    }, keepaliveMs);
    const standby = {
      address: hello.address,
      httpAddress: hello.httpAddress,
      acked: entries ? hello.lastIndex : 0,
    };
    this.#follower = {
      call,
      standby,
      stop: () => (unlisten(), clearInterval(keepalive)),
    };
    log.info("standby.attached", {
      standby: hello.address,
      from: entries ? hello.lastIndex : 0,
      snapshot: !entries,
      index: last.index,
    });
    if (state.peer !== hello.address) {
      state.peer = hello.address;
      state.commit();
    }
  }

  #detach(call: FollowCall): void {
    const f = this.#follower;
    if (f?.call !== call) return;
    f.stop();
    this.#follower = undefined;
    this.#o.log.warn("standby.detached", { standby: f.standby.address, acked: f.standby.acked });
    this.#flush(Infinity);
  }

  #flush(acked: number): void {
    const before = this.#waiting.length;
    while (this.#waiting.length > 0 && this.#waiting[0].index <= acked) {
      this.#waiting.shift()!.run();
    }
    // Progress restarts the bound: a standby is dropped for silence, not for a busy log.
    if (this.#waiting.length < before && this.#ackTimer !== undefined) {
      clearTimeout(this.#ackTimer);
      this.#ackTimer = undefined;
      if (this.#waiting.length > 0) this.#arm();
    }
  }
}
