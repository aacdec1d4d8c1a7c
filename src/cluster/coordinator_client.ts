// The one coordinator client of workers and gateways: register (retrying while the coordinator
// is not up), follow the partition map over WatchMap (re-opened when it ends), heartbeats that
// register again when the coordinator forgot us and report when we were fenced. Given both
// coordinators of an active/standby pair, it follows the active: a call that cannot reach one,
// or that a standby refuses (UNAVAILABLE "STANDBY"), moves every later call to the other.
import type { Logger } from "../observe/log.ts";
import {
  type CloseOptions,
  grpc,
  type MapUpdate,
  type RegisterReply,
  type RpcClient,
  rpcClient,
  statusOf,
  unary,
} from "../net/rpc.ts";

/** The registering methods of the Coordinator service. */
export type RegisterMethod = "Register" | "RegisterGateway";

/** What a heartbeat came to. */
export type BeatOutcome = "ok" | "fenced" | "failed";

/** Options of {@linkcode CoordinatorClient}. */
export interface CoordinatorClientOptions {
  /** host:port of the coordinator's gRPC server, or of both of a pair, comma-separated. */
  address: string;
  secret: string;
  log: Logger;
  /** Pause between attempts to register or to re-open the map stream (default 500 ms). */
  retryMs?: number;
}

/** Details prefix of the status a fenced worker's heartbeat is refused with. */
export const FENCED = "FENCED";

/** Statuses after which the other coordinator of a pair is tried. */
const TRY_OTHER: ReadonlySet<number> = new Set([
  grpc.status.UNAVAILABLE,
  grpc.status.DEADLINE_EXCEEDED,
  grpc.status.CANCELLED,
  grpc.status.UNKNOWN,
  grpc.status.INTERNAL,
]);

/** A node's connection to the coordinator (the active one of a pair). */
export class CoordinatorClient {
  #options: CoordinatorClientOptions;
  #stop = new AbortController();
  #registration?: { method: RegisterMethod; request: unknown };
  #watch?: grpc.ClientReadableStream<MapUpdate>;
  #addresses: string[];
  #clients: RpcClient[];
  #at = 0;

  constructor(options: CoordinatorClientOptions) {
    this.#options = options;
    this.#addresses = options.address.split(",").map((a) => a.trim()).filter((a) => a !== "");
    this.#clients = this.#addresses.map((a) => rpcClient("Coordinator", a, options.secret));
  }

  /** The client of the coordinator calls go to now. */
  get client(): grpc.Client {
    return this.#clients[this.#at];
  }

  /** The address calls go to now. */
  get address(): string {
    return this.#addresses[this.#at];
  }

  /**
   * After a call to `client` failed with `error`: when it could not reach the coordinator or
   * was refused by a standby, later calls go to the other one of the pair (once per failure
   * of the current one, however many calls saw it).
   */
  #maybeSwitch(client: grpc.Client, error: unknown): void {
    if (this.#clients.length < 2 || client !== this.client || this.closed) return;
    const code = statusOf(error);
    if (code !== undefined && !TRY_OTHER.has(code)) return;
    const from = this.address;
    this.#at = (this.#at + 1) % this.#clients.length;
    this.#options.log.info("coordinator.switched", { from, to: this.address, status: code });
  }

  get closed(): boolean {
    return this.#stop.signal.aborted;
  }

  /**
   * Registers with `method`, retrying while the coordinator cannot be reached. `request` is
   * kept (by reference) to register again after a coordinator restart. Throws when the secret
   * is refused or the client is closed first.
   */
  async register(method: RegisterMethod, request: unknown): Promise<RegisterReply> {
    this.#registration = { method, request };
    const { log, address } = this.#options;
    for (let attempt = 1;; attempt++) {
      const client = this.client;
      try {
        return await unary<unknown, RegisterReply>(client, method, request, 3_000);
      } catch (error) {
        if (statusOf(error) === grpc.status.UNAUTHENTICATED) {
          throw new Error(`Cannot register with ${address}: the cluster secret was refused`, {
            cause: error,
          });
        }
        if (statusOf(error) === grpc.status.FAILED_PRECONDITION) {
          // Refused for what it is (another game: GAME_MISMATCH): asking again cannot help.
          throw new Error((error as { details?: string }).details ?? String(error), {
            cause: error,
          });
        }
        if (this.closed) throw new Error("closed before registering", { cause: error });
        this.#maybeSwitch(client, error);
        if (attempt === 1 || attempt % 20 === 0) {
          log.warn("register.retry", { coordinator: address, attempt, error });
        }
        await delay(this.#options.retryMs ?? 500, this.#stop.signal);
      }
    }
  }

  /**
   * Follows the partition map: `onMap` gets every update, from the current map on. The stream
   * is opened again when it ends or fails (at once the first time, then every retryMs).
   */
  watch(nodeId: string, onMap: (update: MapUpdate) => void): void {
    let failures = 0;
    const open = () => {
      if (this.closed) return;
      const client = this.client;
      const call = (client as unknown as {
        WatchMap(request: { nodeId: string }): grpc.ClientReadableStream<MapUpdate>;
      }).WatchMap({ nodeId });
      this.#watch = call;
      let ended = false;
      call.on("data", (update: MapUpdate) => {
        failures = 0;
        onMap(update);
      });
      const again = (error?: unknown) => {
        if (ended) return;
        ended = true;
        if (this.closed) return;
        if (error) this.#options.log.warn("watch.error", { error });
        // A stream that ends without an error is the coordinator going away too.
        this.#maybeSwitch(client, error ?? { code: grpc.status.UNAVAILABLE });
        // A live node re-attaches well inside the coordinator's stream grace.
        const wait = failures++ === 0 ? 50 : this.#options.retryMs ?? 500;
        setTimeout(open, wait);
      };
      call.on("error", again);
      call.on("end", () => again());
    };
    open();
  }

  /**
   * Sends one heartbeat. NOT_FOUND (the coordinator forgot us) registers again with the last
   * registration; FAILED_PRECONDITION "FENCED" means we were declared down.
   */
  async beat(method: string, request: unknown, timeoutMs = 2_000): Promise<BeatOutcome> {
    const client = this.client;
    try {
      await unary(client, method, request, timeoutMs);
      return "ok";
    } catch (error) {
      if (this.closed) return "failed";
      this.#maybeSwitch(client, error);
      const status = statusOf(error);
      const details = String((error as { details?: unknown }).details ?? "");
      if (status === grpc.status.FAILED_PRECONDITION && details.startsWith(FENCED)) {
        return "fenced";
      }
      if (status === grpc.status.NOT_FOUND && this.#registration) {
        this.#options.log.warn("heartbeat.unknown", { note: "coordinator forgot us; registering" });
        const { method: register, request: again } = this.#registration;
        await unary(this.client, register, again, 3_000).catch((e) =>
          this.#options.log.warn("register.failed", { error: e })
        );
      } else {
        this.#options.log.warn("heartbeat.failed", { error });
      }
      return "failed";
    }
  }

  /** Calls another unary method of the coordinator (of a pair: the other one if need be). */
  async call<Res>(method: string, request: unknown, timeoutMs = 5_000): Promise<Res> {
    for (let tries = this.#clients.length;; tries--) {
      const client = this.client;
      try {
        return await unary<unknown, Res>(client, method, request, timeoutMs);
      } catch (error) {
        this.#maybeSwitch(client, error);
        if (tries <= 1 || client === this.client) throw error;
      }
    }
  }

  /** Stops retrying and watching; the channel stays open when exiting (see CloseOptions). */
  close(options: CloseOptions = {}): void {
    if (this.closed) return;
    this.#stop.abort();
    this.#watch?.cancel();
    if (!options.exiting) { for (const client of this.#clients) client.close(); }
  }
}

/** Waits `ms`, or less when `signal` aborts. */
function delay(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal.aborted) return resolve();
    const timer = setTimeout(resolve, ms);
    signal.addEventListener("abort", () => (clearTimeout(timer), resolve()), { once: true });
  });
}
