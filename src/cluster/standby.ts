// The standby coordinator's side of log replay: checks that what it was pointed at is a
// coordinator, follows the active's log stream into its own state file (snapshot or entries,
// in order, acknowledging each), and decides the takeover: once it followed the active in this
// run and then heard nothing from it for `takeoverMs`, it resolves with its state and a higher
// term.
import type { Logger } from "../observe/log.ts";
import {
  type ClientCall,
  type FollowMessage,
  type LogRecord,
  type RpcClient,
  rpcClient,
  status,
  statusOf,
  type StatusReply,
  unary,
} from "../net/rpc.ts";
import { applyChange, type DurableState } from "./durable_state.ts";
import { parseChange, parseState, StateFileError } from "./durable_state_reader.ts";
import type { StateStore } from "./state_store.ts";
import { SNAPSHOT_EVERY } from "./coordinator_state.ts";

/** The address a standby was given is not a coordinator (or refuses our secret). */
export class NotCoordinatorError extends Error {
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = "NotCoordinatorError";
  }
}

/** Options of {@linkcode Standby}. */
export interface StandbyOptions {
  /** gRPC address of the active coordinator. */
  active: string;
  secret: string;
  log: Logger;
  store: StateStore;
  cellCount: number;
  /** The state already in the store (a restarted standby), if any. */
  initial?: DurableState;
  /** Silence of the active after which this standby takes over. */
  takeoverMs: number;
  /** This standby's own gRPC and HTTP addresses, as the active is told. */
  address: string;
  httpAddress: string;
  now?: () => number;
}

/** What a takeover starts from. */
export interface Takeover {
  state: DurableState;
  /** The new term: higher than any the standby saw. */
  term: number;
  /** How long the active had been silent. */
  silentMs: number;
}

const decoder = new TextDecoder();

/** A standby following one active coordinator. */
export class Standby {
  #o: StandbyOptions;
  #now: () => number;
  #client: RpcClient;
  #state?: DurableState;
  #highestTerm = 0;
  #lastContact: number;
  #call?: ClientCall<FollowMessage, LogRecord>;
  #closed = false;
  /** A record came from the active in this run: only then may a stored state be taken over. */
  #heard = false;
  #timer?: ReturnType<typeof setInterval>;
  #retry?: ReturnType<typeof setTimeout>;
  /** The active's HTTP address, from its records (for the standby's page). */
  activeHttp = "";

  constructor(options: StandbyOptions) {
    this.#o = options;
    this.#now = options.now ?? Date.now;
    this.#client = rpcClient("Coordinator", options.active, options.secret);
    this.#state = options.initial;
    // Terms only grow on this node, whatever its log held before it followed this active.
    this.#highestTerm = Math.max(options.initial?.term ?? 0, options.store.last.term);
    this.#lastContact = this.#now();
  }

  /** The active followed. */
  get active(): string {
    return this.#o.active;
  }

  /** Index of the last entry applied. */
  get index(): number {
    return this.#o.store.last.index;
  }

  /** The state replayed so far (undefined before the first snapshot). */
  get state(): DurableState | undefined {
    return this.#state;
  }

  /** Snapshots received in this run (a catching-up standby gets none). */
  snapshots = 0;

  /** The highest term seen. */
  get term(): number {
    return this.#highestTerm;
  }

  /**
   * Asks the active for its status; throws NotCoordinatorError when the address answers but
   * is no coordinator (or refuses the secret). Undefined while it cannot be reached.
   */
  async check(): Promise<StatusReply | undefined> {
    const { active } = this.#o;
    try {
      return await unary<unknown, StatusReply>(
        this.#client,
        "Status",
        { term: 0, address: this.#o.address },
        2_000,
      );
    } catch (error) {
      const code = statusOf(error);
      if (code === status.UNAVAILABLE || code === status.DEADLINE_EXCEEDED) return undefined;
      const details = String((error as { details?: unknown }).details ?? error);
      if (code === status.UNAUTHENTICATED) {
        throw new NotCoordinatorError(
          `Cannot follow ${active}: it refused the cluster secret (${details})`,
          { cause: error },
        );
      }
      throw new NotCoordinatorError(
        `Cannot follow ${active}: it is not a ZoneScaler coordinator (${details})`,
        { cause: error },
      );
    }
  }

  /** Follows the active until it is silent for takeoverMs (with a state to take over). */
  run(): Promise<Takeover> {
    const done = Promise.withResolvers<Takeover>();
    const { takeoverMs, log } = this.#o;
    this.#lastContact = this.#now();
    this.#timer = setInterval(() => {
      const silentMs = this.#now() - this.#lastContact;
      // A stored state alone is never taken over: it may be hours old while the active is
      // only unreachable from here. Start without --standby-of to make it active on purpose.
      if (this.#closed || !this.#heard || !this.#state || silentMs <= takeoverMs) return;
      this.#stop();
      const term = this.#highestTerm + 1;
      log.warn("standby.takeover", {
        active: this.#o.active,
        silentMs,
        term,
        index: this.index,
      });
      done.resolve({ state: this.#state, term, silentMs });
    }, Math.max(10, Math.floor(takeoverMs / 10)));
    this.#open();
    return done.promise;
  }

  /** Stops following (the process exits, or it took over). */
  close(): void {
    this.#stop();
    this.#client.close();
  }

  #stop(): void {
    this.#closed = true;
    clearInterval(this.#timer);
    clearTimeout(this.#retry);
    this.#call?.cancel();
  }

  #open(): void {
    if (this.#closed) return;
    const { store, log } = this.#o;
    const call = this.#client.call<FollowMessage, LogRecord>("Follow");
    this.#call = call;
    let ended = false;
    const again = (error?: unknown) => {
      if (ended) return;
      ended = true;
      if (this.#closed) return;
      if (error) log.debug("follow.error", { error });
      this.#retry = setTimeout(() => this.#open(), 200);
    };
    call.on("error", again);
    call.on("end", () => again());
    call.on("data", (record: LogRecord) => {
      if (ended || this.#closed) return;
      this.#lastContact = this.#now();
      this.#heard = true;
      this.activeHttp = record.httpAddress || this.activeHttp;
      if (record.term > this.#highestTerm) this.#highestTerm = record.term;
      try {
        if (this.#apply(record)) call.write(ack(this.index));
      } catch (error) {
        // A record that cannot be applied: start over from the active's snapshot.
        log.error("follow.rejected", { index: record.index, error });
        this.#state = undefined;
        call.cancel();
        again();
      }
    });
    const last = store.last;
    call.write({
      address: this.#o.address,
      httpAddress: this.#o.httpAddress,
      lastIndex: this.#state ? last.index : 0,
      lastTerm: this.#state ? last.term : 0,
      acked: 0,
    });
  }

  /** Applies one record; true when it moved the log on (worth acknowledging). */
  #apply(record: LogRecord): boolean {
    const { store, cellCount } = this.#o;
    if (record.kind === "keepalive") return false;
    const where = `the active's ${record.kind} ${record.index}`;
    const value = JSON.parse(decoder.decode(record.payload));
    if (record.kind === "snapshot") {
      const state = parseState(value, cellCount, where);
      store.reset(state, record.index, record.term);
      this.#state = state;
      this.snapshots++;
      return true;
    }
    if (record.kind !== "change" || !this.#state) {
      throw new StateFileError(`${where}: unexpected before a snapshot`);
    }
    const change = parseChange(value, cellCount, where);
    store.appendEntries([{ index: record.index, term: record.term, change }]);
    applyChange(this.#state, change);
    if (store.sinceSnapshot >= SNAPSHOT_EVERY) store.snapshot(this.#state);
    return true;
  }
}

function ack(index: number): FollowMessage {
  return { address: "", httpAddress: "", lastIndex: 0, lastTerm: 0, acked: index };
}
