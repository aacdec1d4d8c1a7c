// The one coordinator client of workers and gateways: register (retrying while the coordinator
// is not up), follow the partition map over WatchMap (re-opened when it ends), heartbeats that
// register again when the coordinator forgot us and report when we were fenced.
import type { Logger } from "../observe/log.ts";
import {
  type CloseOptions,
  grpc,
  type MapUpdate,
  type RegisterReply,
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
  /** host:port of the coordinator's gRPC server. */
  address: string;
  secret: string;
  log: Logger;
  /** Pause between attempts to register or to re-open the map stream (default 500 ms). */
  retryMs?: number;
}

/** Details prefix of the status a fenced worker's heartbeat is refused with. */
export const FENCED = "FENCED";

/** A node's connection to the coordinator. */
export class CoordinatorClient {
  readonly client: grpc.Client;
  #options: CoordinatorClientOptions;
  #stop = new AbortController();
  #registration?: { method: RegisterMethod; request: unknown };
  #watch?: grpc.ClientReadableStream<MapUpdate>;

  constructor(options: CoordinatorClientOptions) {
    this.#options = options;
    this.client = rpcClient("Coordinator", options.address, options.secret);
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
      try {
        return await unary<unknown, RegisterReply>(this.client, method, request, 3_000);
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
      const call = (this.client as unknown as {
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
    try {
      await unary(this.client, method, request, timeoutMs);
      return "ok";
    } catch (error) {
      if (this.closed) return "failed";
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

  /** Calls another unary method of the coordinator. */
  call<Res>(method: string, request: unknown, timeoutMs = 5_000): Promise<Res> {
    return unary<unknown, Res>(this.client, method, request, timeoutMs);
  }

  /** Stops retrying and watching; the channel stays open when exiting (see CloseOptions). */
  close(options: CloseOptions = {}): void {
    if (this.closed) return;
    this.#stop.abort();
    this.#watch?.cancel();
    if (!options.exiting) this.client.close();
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
