// The coordinator's durability and pair wiring in one place: its state file (CoordinatorState on
// a StateStore), log shipping to a standby, its role in the pair, and `whenDurable`, the one gate
// every announcement and answer goes through (committed to the file and acknowledged by the
// standby first). Roles wire their servers to it; none of them re-implements the ordering.
import type { AutoscaleConfig, Config } from "../config/config.ts";
import type { Logger } from "../observe/log.ts";
import { jsonError } from "../net/http.ts";
import type { Implementation } from "../net/rpc_server.ts";
import { coordinatorAccess } from "./control_api.ts";
import { answerAfterCommit, CoordinatorState } from "./coordinator_state.ts";
import { CoordinatorPair } from "./coordinator_pair.ts";
import type { GatewayDirectory } from "./gateway_directory.ts";
import type { InstanceDirectory } from "./instance_directory.ts";
import type { Deploys } from "./deploys.ts";
import { LogShipping } from "./log_shipping.ts";
import type { Registry } from "./registry.ts";
import { StateStore } from "./state_store.ts";

/** Options of {@linkcode CoordinatorDurability}. */
export interface CoordinatorDurabilityOptions {
  config: Pick<Config, "coordinatorState" | "standbyOf" | "standbyTakeoverMs" | "secret">;
  log: Logger;
  registry: Registry;
  gateways: GatewayDirectory;
  instances: InstanceDirectory;
  deploys: Deploys;
  /** The balancer's live autoscale settings. */
  autoscale: { get(): AutoscaleConfig; set(value: AutoscaleConfig): void };
  /** The world spec handed to workers (its tick 0 comes from the state file if stored). */
  world: { worldStartMs: number };
  /** Became active (at start-up or by a takeover): announce the map (once durable). */
  onActive(): void;
  /** Stepped down: end the map streams. */
  onStandby(): void;
}

/** One coordinator's state file, log shipping and place in its pair. */
export class CoordinatorDurability {
  readonly state: CoordinatorState;
  readonly shipping: LogShipping;
  readonly pair: CoordinatorPair;
  /** This coordinator's own addresses, known once its servers listen. */
  readonly self = { address: "", httpAddress: "" };

  /** Opens the state file (throws a StateFileError when it is damaged) and reads it back. */
  #log: Logger;

  constructor(o: CoordinatorDurabilityOptions) {
    const { config, log, registry } = o;
    this.#log = log;
    const cellCount = registry.map.owners.length;
    this.state = new CoordinatorState({
      store: StateStore.open(config.coordinatorState, cellCount),
      registry,
      gateways: o.gateways,
      autoscale: o.autoscale,
      world: o.world,
      instances: o.instances,
      deploys: o.deploys,
    });
    try {
      const stored = this.state.read();
      this.shipping = new LogShipping({
        state: this.state,
        log,
        self: this.self,
        keepaliveMs: Math.max(20, Math.floor(config.standbyTakeoverMs / 5)),
        ackTimeoutMs: config.standbyTakeoverMs,
      });
      this.pair = new CoordinatorPair({
        standbyOf: config.standbyOf,
        takeoverMs: config.standbyTakeoverMs,
        secret: config.secret,
        log,
        state: this.state,
        shipping: this.shipping,
        cellCount,
        self: this.self,
        stored,
        onActive: (takeover) => {
          if (takeover) {
            registry.event("coordinator.takeover", {
              from: takeover.from,
              term: takeover.term,
              silentMs: takeover.silentMs,
              epoch: registry.map.epoch,
            });
          }
          this.whenDurable(o.onActive);
        },
        onStandby: o.onStandby,
      });
    } catch (error) {
      this.state.store.close();
      throw error;
    }
  }

  /** True while this coordinator is the active one (timers and announcements run). */
  get active(): boolean {
    return this.pair.role === "active";
  }

  /** Runs `announce` once every change so far is durable, here and on the standby. */
  whenDurable = (announce: () => void): void => this.shipping.after(this.state.commit(), announce);

  /**
   * The Coordinator service's handlers as they are served: refused by a standby (but Status),
   * answered once durable, with the standby's Follow stream added.
   */
  handlers(service: Implementation): Implementation {
    return this.pair.gate(
      answerAfterCommit({
        ...service,
        Follow: (call: Parameters<LogShipping["follow"]>[0]) => this.shipping.follow(call),
      }, this.whenDurable),
    );
  }

  /**
   * The control API as it is served: a mutation sent to the standby is 503 STANDBY naming the
   * active; on the active a request is answered once what it changed is durable.
   */
  control(
    routes: (request: Request, url: URL) => Promise<Response> | undefined,
  ): (request: Request, url: URL) => Promise<Response> | undefined {
    return (request, url) => {
      if (!this.active && coordinatorAccess(request, url) === "write") {
        return Promise.resolve(standbyRefusal(this.pair.summary().activeHttp));
      }
      return routes(request, url)?.then((response) =>
        new Promise<Response>((resolve) => this.whenDurable(() => resolve(response)))
      );
    };
  }

  /** Takes this coordinator's place in the pair once its servers listen at these addresses. */
  async start(address: string, httpAddress: string): Promise<void> {
    this.self.address = address;
    this.self.httpAddress = httpAddress;
    await this.pair.start();
  }

  /** Stops the pair's timers and the standby's stream (first, when the coordinator closes). */
  #jobs: Array<ReturnType<typeof setInterval>> = [];

  /**
   * Runs `job` every `ms` while this coordinator is the active one (a standby changes nothing),
   * then commits what it changed; a job that throws is logged as `<name>.failed` and the next
   * run goes on. Stopped by {@linkcode stop}.
   */
  whileActive(name: string, ms: number, job: () => void): void {
    this.#jobs.push(setInterval(() => {
      if (!this.active) return;
      try {
        job();
      } catch (error) {
        this.#log.error(`${name}.failed`, { error });
      }
      this.state.commit();
    }, ms));
  }

  stop(): void {
    for (const job of this.#jobs) clearInterval(job);
    this.#jobs = [];
    this.pair.close();
    this.shipping.close();
  }

  /** Closes the state file (last, once nothing can change the state). */
  close(): void {
    this.state.store.close();
  }
}

/** A control request sent to the standby: 503 naming the active's HTTP address. */
function standbyRefusal(activeHttp: string): Response {
  return jsonError(
    503,
    "STANDBY",
    `This coordinator is the standby: send operator requests to the active${
      activeHttp ? ` at ${activeHttp}` : ""
    }`,
  );
}
