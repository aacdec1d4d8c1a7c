// Which coordinator of an active/standby pair this one is, and the moves between the two: it
// starts as the standby of `standbyOf` (or of a peer it finds active with a higher term), takes
// over with a higher term when the standby's active falls silent, and steps down (fenced: it
// announces nothing again) when it meets a higher term. While standby it refuses every call
// but Status and Follow, naming the active.
import type { Logger } from "../observe/log.ts";
import {
  grpc,
  type RpcClient,
  rpcClient,
  type StatusReply,
  type StatusRequest,
  unary,
} from "../net/rpc.ts";
import type { Implementation } from "../net/rpc_server.ts";
import { ErrorCode } from "../errors.ts";
import type { CoordinatorState } from "./coordinator_state.ts";
import type { DurableState } from "./durable_state.ts";
import type { LogShipping } from "./log_shipping.ts";
import { Standby, type Takeover } from "./standby.ts";

/** Options of {@linkcode CoordinatorPair}. */
export interface CoordinatorPairOptions {
  /** The active to follow at start-up ("" = start active unless a peer is). */
  standbyOf: string;
  takeoverMs: number;
  secret: string;
  log: Logger;
  state: CoordinatorState;
  shipping: LogShipping;
  cellCount: number;
  /** This coordinator's own gRPC and HTTP addresses (as the other one reaches them). */
  self: { address: string; httpAddress: string };
  /** Now active: publish, run the timers. `takeover` is set when it took over. */
  onActive(takeover?: Takeover & { from: string }): void;
  /** No longer active: stop the timers, end the streams. */
  onStandby(): void;
  /** The state stored in the file at start-up (a restart), if any. */
  stored?: DurableState;
}

/** What the diagnostics show of the pair. */
export interface PairSummary {
  role: "active" | "standby";
  term: number;
  /** Last log entry written (active) or applied (standby). */
  index: number;
  /** gRPC and HTTP address of the active ("" while unknown). */
  active: string;
  activeHttp: string;
  /** The standby following this active, with how far behind it is (in log entries). */
  standby?: { address: string; httpAddress: string; acked: number; lag: number };
}

/** One coordinator's place in its pair. */
export class CoordinatorPair {
  role: "active" | "standby" = "standby";
  #o: CoordinatorPairOptions;
  #standby?: Standby;
  #ping?: ReturnType<typeof setInterval>;
  #closed = false;
  #clients = new Map<string, RpcClient>();
  /** The stored state until it was made live or replaced by the active's. */
  #stored?: DurableState;

  constructor(options: CoordinatorPairOptions) {
    this.#o = options;
    this.#stored = options.stored;
  }

  /**
   * Decides the role at start-up: a standby checks its active is a coordinator (throws a
   * NotCoordinatorError when not) and starts following; otherwise active, unless the peer it
   * knows from its state is active with a higher term.
   */
  async start(): Promise<void> {
    const { standbyOf, log } = this.#o;
    if (standbyOf) return await this.#follow(standbyOf, true);
    const peerAddress = this.#stored?.peer ?? "";
    if (peerAddress) {
      const peer = await this.#status(peerAddress);
      if (peer?.role === "active" && peer.term > (this.#stored?.term ?? 0)) {
        log.warn("coordinator.stepped_down", {
          reason: "the peer took over",
          term: this.#stored?.term,
          peerTerm: peer.term,
          active: peerAddress,
        });
        return await this.#follow(peerAddress, true);
      }
    }
    this.#activate();
  }

  /** The diagnostics' view. */
  summary(): PairSummary {
    const { state, shipping } = this.#o;
    const { address, httpAddress } = this.#o.self;
    if (this.role === "standby") {
      const s = this.#standby;
      return {
        role: "standby",
        term: s?.term ?? state.term,
        index: state.store.last.index,
        active: s?.active ?? "",
        activeHttp: s?.activeHttp ?? "",
      };
    }
    const follower = shipping.standby;
    const index = state.store.last.index;
    return {
      role: "active",
      term: state.term,
      index,
      active: address,
      activeHttp: httpAddress,
      ...(follower ? { standby: { ...follower, lag: index - follower.acked } } : {}),
    };
  }

  /**
   * Wraps the Coordinator handlers: Status answers always, Follow only while active, every
   * other call is refused by a standby with UNAVAILABLE "STANDBY: ... active is host:port".
   */
  gate(handlers: Implementation): Implementation {
    const gated: Implementation = {};
    for (const [method, handler] of Object.entries(handlers)) {
      gated[method] = (call: { emit(event: string, ...args: unknown[]): boolean }, callback?) => {
        if (this.role === "active") return handler(call, callback);
        const active = this.#standby?.active ?? "unknown";
        const refusal = {
          code: grpc.status.UNAVAILABLE,
          details: `${ErrorCode.STANDBY}: this coordinator is the standby; the active is ${active}`,
        };
        if (callback) callback(refusal);
        else call.emit("error", refusal);
      };
    }
    gated.Status = (
      call: { request: StatusRequest },
      callback: grpc.sendUnaryData<StatusReply>,
    ) => {
      const { term, address } = call.request;
      if (this.role === "active" && term > this.#o.state.term && address) {
        this.#stepDown(address, term);
      }
      const s = this.summary();
      callback(null, {
        role: s.role,
        term: s.term,
        index: s.index,
        active: s.active,
        httpAddress: this.#o.self.httpAddress,
        activeHttp: s.activeHttp,
      });
    };
    return gated;
  }

  close(): void {
    this.#closed = true;
    clearInterval(this.#ping);
    this.#standby?.close();
    for (const client of this.#clients.values()) client.close();
  }

  async #follow(active: string, first: boolean): Promise<void> {
    const o = this.#o;
    this.role = "standby";
    const standby = new Standby({
      active,
      secret: o.secret,
      log: o.log,
      store: o.state.store,
      cellCount: o.cellCount,
      // A standby that stepped down or restarted says where its log stands; the active sends
      // a snapshot when that differs from its own log.
      initial: first ? this.#stored : o.state.committed,
      takeoverMs: o.takeoverMs,
      address: o.self.address,
      httpAddress: o.self.httpAddress,
    });
    this.#standby = standby;
    // Pointed at something that is no coordinator: refuse to start (only the first time; a
    // standby that stepped down knows its active is one).
    if (first) await standby.check();
    o.log.info("standby.following", { active, index: o.state.store.last.index });
    standby.run().then((takeover) => {
      standby.close();
      if (this.#closed || this.#standby !== standby) return;
      this.#standby = undefined;
      this.#activate({ ...takeover, from: active });
    });
  }

  #activate(takeover?: Takeover & { from: string }): void {
    const o = this.#o;
    this.role = "active";
    if (!takeover && this.#stored) o.state.adopt(this.#stored, "restart");
    this.#stored = undefined;
    if (takeover) {
      o.state.adopt(takeover.state, "takeover", { term: takeover.term, peer: takeover.from });
    }
    o.onActive(takeover);
    // Tell the peer our term, so an old active that is still running (or back) steps down.
    clearInterval(this.#ping);
    this.#ping = setInterval(() => {
      if (this.role !== "active" || !o.state.peer) return;
      void this.#status(o.state.peer, o.state.term).then((peer) => {
        if (peer?.role === "active" && peer.term > o.state.term && this.role === "active") {
          this.#stepDown(o.state.peer, peer.term);
        }
      });
    }, o.takeoverMs);
  }

  #stepDown(active: string, term: number): void {
    const o = this.#o;
    if (this.role !== "active" || this.#closed) return;
    o.log.warn("coordinator.stepped_down", { term: o.state.term, newTerm: term, active });
    clearInterval(this.#ping);
    this.role = "standby";
    o.shipping.close();
    o.onStandby();
    void this.#follow(active, false);
  }

  /** The Status of the coordinator at `address`, or undefined when it cannot be asked. */
  async #status(address: string, term = 0): Promise<StatusReply | undefined> {
    let client = this.#clients.get(address);
    if (!client) {
      this.#clients.set(address, client = rpcClient("Coordinator", address, this.#o.secret));
    }
    try {
      return await unary<StatusRequest, StatusReply>(
        client,
        "Status",
        { term, address: this.#o.self.address },
        1_000,
      );
    } catch (error) {
      this.#o.log.debug("peer.unreachable", { peer: address, error });
      return undefined;
    }
  }
}
