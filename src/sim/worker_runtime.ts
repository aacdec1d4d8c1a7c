// A registered worker's life: its spaces (built by worker_spaces.ts), following the map (read by
// map_update.ts), the fixed-rate tick on the global clock, load reports, peers' batches,
// draining, and fencing: a worker that was stopped longer than workerTimeoutMs (paused,
// starved; stall_watch.ts) writes nothing until the coordinator confirms it is still a member,
// and one declared down drops its state and registers again as a spare.
import {
  type Batch,
  BATCH_VERSION,
  decodeBatch,
  encodeBatch,
  isEmptyReplica,
} from "../sync/batch_codec.ts";
import type { Config } from "../config/config.ts";
import type { LoadedGame } from "../games/game_module.ts";
import type { Logger } from "../observe/log.ts";
import type { NodeMetrics } from "../observe/metrics.ts";
import { PeerLinks } from "../sync/peer_links.ts";
import type { CloseOptions, MapUpdate, RegisterReply, RegisterRequest } from "../net/rpc.ts";
import type { Space } from "./space.ts";
import { type InstanceSpaces, mergeReports } from "./instance_spaces.ts";
import { TickClock, ticksToRun } from "./tick_clock.ts";
import { DurationRing } from "./tick_stats.ts";
import { PHASE } from "../observe/tick_phases.ts";
import { workerSpaces } from "./worker_spaces.ts";
import { partitionMapOf, placementsOf, rolesOf } from "./map_update.ts";
import { StallWatch } from "./stall_watch.ts";
import type { CoordinatorClient } from "../cluster/coordinator_client.ts";
import type { GatewayStreams } from "./session_service.ts";

const MAX_CATCH_UP = 5;
/** Peer batches held while paused; beyond, the oldest go (a pause that long is fenced anyway). */
export const MAX_HELD_WHILE_PAUSED = 4096;

/** Options of {@linkcode WorkerRuntime}. */
export interface WorkerRuntimeOptions {
  config: Config;
  log: Logger;
  metrics: NodeMetrics;
  coordinator: CoordinatorClient;
  /** The registration (by reference: registering again reuses it). */
  request: RegisterRequest;
  reply: RegisterReply;
  gateways: GatewayStreams;
  /** The game this worker runs (the coordinator checked it is the cluster's). */
  game: LoadedGame;
}

/** The worker after registration, until it closes. */
export class WorkerRuntime {
  readonly id: string;
  space!: Space;
  /** The instances (rooms) hosted here, beside the world's cells. */
  instances!: InstanceSpaces;
  readonly links: PeerLinks;
  /** "ok", or "fenced" while it drops its state and registers again. */
  status: "ok" | "fenced" = "ok";
  badBatches = 0;
  readonly drained: Promise<void>;
  #o: WorkerRuntimeOptions;
  #reply: RegisterReply;
  #clock: TickClock;
  #durations = new DurationRing(1024);
  #last: number;
  #timer?: ReturnType<typeof setTimeout>;
  #closed = false;
  #state = "";
  #update?: MapUpdate;
  #drained = { ...Promise.withResolvers<void>(), settled: false };
  /** Whether it may write after a stop (fenced until a heartbeat since then is acknowledged). */
  #stall: StallWatch;
  #beating = false;
  #nextReport = 0;
  #lastReportAt = performance.now();
  #reportTicks: number;
  /** Paused by fault injection: no tick, no heartbeat, peer batches and maps held. */
  #paused = false;
  #held: Array<[Uint8Array, string]> = [];

  constructor(options: WorkerRuntimeOptions) {
    this.#stall = new StallWatch(performance.now(), options.log);
    this.#o = options;
    this.#reply = options.reply;
    this.id = options.reply.workerId;
    this.drained = this.#drained.promise;
    this.#build(options.reply);
    const { log, metrics, config } = options;
    this.links = new PeerLinks({
      self: this.id,
      secret: config.secret,
      log,
      version: BATCH_VERSION,
      sendOnAccepted: true,
      onPayload: (payload, peer) =>
        this.#paused ? this.#hold(payload, peer) : this.#receive(payload, peer),
      onPeerRemoved: (peer) => {
        const dropped = this.space.peerGone(peer);
        log.info("peer.removed", { peer, ghostsDropped: dropped });
      },
    });
    // deno-lint-ignore no-this-alias -- the metrics read whichever space is current
    const runtime = this;
    metrics.watchWorker({
      get owned() {
        return runtime.space.owned;
      },
      get ghosts() {
        return runtime.space.ghosts;
      },
      get counters() {
        return runtime.space.counters;
      },
    }, this.links.traffic);
    const world = options.reply.world;
    this.#clock = new TickClock(world.worldStartMs, world.tickHz);
    this.#reportTicks = Math.max(1, Math.round(options.reply.heartbeatMs / this.#clock.periodMs));
    this.#last = this.#clock.current();
    options.coordinator.watch(this.id, (update) => this.#onMap(update));
    this.#loop();
  }

  /** Asks the coordinator to move every cell away; resolves true once drained in time. */
  async drain(): Promise<boolean> {
    const { log, config, coordinator } = this.#o;
    try {
      const reply = await coordinator.call<{ cells: number }>("Drain", { workerId: this.id });
      log.info("drain.started", { cells: reply.cells });
    } catch (error) {
      log.warn("drain.refused", { error, note: "stopping without moving cells" });
      return false;
    }
    let timer: ReturnType<typeof setTimeout> | undefined;
    const timedOut = new Promise<boolean>((resolve) => {
      timer = setTimeout(() => resolve(false), config.drainTimeoutMs);
    });
    const done = await Promise.race([this.drained.then(() => true), timedOut]);
    clearTimeout(timer);
    if (!done) {
      log.error("drain.timeout", { ms: config.drainTimeoutMs, owned: this.space.owned.size });
    }
    return done;
  }

  /** True while paused by {@linkcode pause}. */
  get paused(): boolean {
    return this.#paused;
  }

  /**
   * Freezes this worker as SIGSTOP would, but keeps its HTTP API up so it can be resumed: no
   * tick, no heartbeat, peer batches and map updates held unprocessed until {@linkcode resume}.
   */
  pause(): void {
    if (this.#paused) return;
    this.#paused = true;
    this.#o.log.warn("worker.paused", { tick: this.space.tick });
  }

  /**
   * Thaws a paused worker as SIGCONT would: the time it was frozen counts as a stop, so after a
   * pause longer than workerTimeoutMs it writes nothing until the coordinator confirms it.
   */
  resume(): void {
    if (!this.#paused) return;
    this.#paused = false;
    const held = this.#held;
    this.#held = [];
    this.#o.log.warn("worker.resumed", { held: held.length });
    if (this.#update) this.#onMap(this.#update);
    for (const [payload, peer] of held) this.#receive(payload, peer);
  }

  #hold(payload: Uint8Array, peer: string): void {
    this.#held.push([payload, peer]);
    if (this.#held.length > MAX_HELD_WHILE_PAUSED) this.#held.shift();
  }

  close(options: CloseOptions = {}): void {
    this.#closed = true;
    this.instances.close();
    clearTimeout(this.#timer);
    this.links.close(options);
  }

  /** Builds the spaces of a registration; the instances of the one before are closed first. */
  #build(reply: RegisterReply): void {
    this.instances?.close();
    ({ space: this.space, instances: this.instances } = workerSpaces(reply, this.#o));
  }

  #receive(payload: Uint8Array, peer: string): void {
    try {
      const batch = decodeBatch(payload);
      if (batch.from !== peer) {
        throw new TypeError(
          `Cannot accept batch: it claims to be from ${batch.from} on ${peer}'s link`,
        );
      }
      if (this.status !== "ok") return;
      if (batch.space) this.instances.receive(batch);
      else this.space.receive(batch);
    } catch (error) {
      this.badBatches++;
      this.#o.metrics.countError("BAD_BATCH");
      this.#o.log.error("batch.rejected", { peer, bytes: payload.length, error });
    }
  }

  #onMap(update: MapUpdate): void {
    this.#update = update;
    if (this.#paused) return; // applied on resume
    const me = update.workers.find((w) => w.id === this.id);
    this.#state = me?.state ?? this.#state;
    if (this.status === "ok" && (this.#state === "down" || this.#state === "fenced")) {
      return void this.#rejoin("the map declares this worker down");
    }
    this.#apply(update);
  }

  #apply(update: MapUpdate): void {
    const space = this.space;
    if (update.epoch >= space.map.epoch) {
      if (update.epoch !== space.map.epoch) {
        this.#o.log.info("map.epoch", {
          epoch: update.epoch,
          cells: update.owners.filter((o) => o === this.id).length,
          backup: update.backups?.[this.id] ?? "",
        });
      }
      space.setMap(partitionMapOf(update));
    }
    this.links.update(update.workers);
    space.games.update(update.workers);
    const gateways = update.gateways.map((g) => g.id);
    space.players.gatewaysAlive(gateways);
    this.#syncInstances(update, gateways);
    if (space.fenced) return void this.#rejoin("the space was fenced");
    this.#checkDrained();
  }

  /**
   * The coordinator's list of live instances: host the new ones and those mirrored here, hand
   * over the moved, promote the failed over, dispose of the destroyed.
   */
  #syncInstances(update: MapUpdate, gateways: string[]): void {
    // A map older than this registration (kept from before a rejoin) says nothing of now.
    if (update.epoch < this.space.map.epoch) return;
    try {
      this.instances.sync(placementsOf(update), Number(update.instanceSeq ?? 0), rolesOf(update));
      for (const space of this.instances.spaces().values()) space.players.gatewaysAlive(gateways);
    } catch (error) {
      this.#o.metrics.countError("BAD_BATCH");
      this.#o.log.error("instances.rejected", { error });
    }
  }

  /** Declared down while alive: drop everything and register again as a spare. */
  async #rejoin(why: string): Promise<void> {
    if (this.status === "fenced" || this.#closed) return;
    this.status = "fenced";
    const { log, coordinator, request } = this.#o;
    log.warn("worker.fenced", { why, owned: this.space.owned.size, epoch: this.space.map.epoch });
    this.links.discardQueued();
    try {
      const reply = await coordinator.register("Register", request);
      if (this.#closed) return;
      this.#reply = reply;
      this.#build(reply);
      this.#stall.clear();
      this.status = "ok";
      log.info("worker.rejoined", { index: reply.workerIndex, epoch: reply.epoch });
      // The map kept from before is older than this registration: it refreshes links and
      // gateways only; the new space takes cells from maps of its registration's epoch on.
      if (this.#update) this.#apply(this.#update);
    } catch (error) {
      log.error("rejoin.failed", { error });
    }
  }

  #checkDrained(): void {
    const d = this.#drained;
    if (d.settled || this.#state !== "drained" || !this.space.empty || !this.instances.empty) {
      return;
    }
    d.settled = true;
    this.#o.coordinator.call("Leave", { workerId: this.id })
      .catch((error) => this.#o.log.warn("leave.failed", { error }))
      .finally(() => {
        this.#o.log.info("worker.drained");
        d.resolve();
      });
  }

  async #heartbeat(): Promise<void> {
    const space = this.space;
    const sentAt = performance.now();
    const seconds = Math.max(0.001, (sentAt - this.#lastReportAt) / 1000);
    this.#lastReportAt = sentAt;
    const interactions = space.takeInteractionCounts();
    const players = space.playersPerCell();
    const cells = [...space.entitiesPerCell()].map(([cell, entities]) => ({
      cell,
      entities,
      players: players.get(cell) ?? 0,
      interactions: Math.round((interactions.get(cell) ?? 0) / seconds),
    }));
    this.#beating = true;
    const outcome = await this.#o.coordinator.beat("Heartbeat", {
      workerId: this.id,
      tick: space.tick,
      epoch: space.map.epoch,
      cells,
      ghosts: space.ghosts.size,
      tickP50Ms: this.#durations.percentile(0.5),
      tickP99Ms: this.#durations.percentile(0.99),
      pendingTransfers: space.pendingTransfers + this.instances.pendingTransfers,
      pendingHandoffs: space.pendingHandoffs,
      mirrored: space.mirrors.size + this.instances.mirrored,
      handoffsOut: space.counters.handoffsOut,
    });
    this.#beating = false;
    if (outcome === "ok" && space === this.space) this.#stall.acknowledged(sentAt);
    // A late answer about a former incarnation (before a rejoin) says nothing about this one.
    if (outcome === "fenced" && space === this.space) {
      await this.#rejoin("the coordinator refused a heartbeat: FENCED");
    }
  }

  #runTick(tick: number): void {
    const started = performance.now();
    const space = this.space, phases = this.#o.metrics.phases;
    phases.start();
    const out = space.step(tick);
    for (const [peer, batch] of out) this.links.send(peer, encodeBatch(batch), mustKeep(batch));
    phases.lap(PHASE.send);
    const instances = this.instances.step(tick);
    phases.lap(PHASE.rooms);
    for (const [peer, batch] of this.instances.takeBatches()) {
      this.links.send(peer, encodeBatch(batch), mustKeep(batch));
    }
    this.#o.gateways.send(mergeReports(space.takeReports(), instances));
    phases.lap(PHASE.send);
    const ms = performance.now() - started;
    this.#durations.add(ms);
    if (this.#state === "drained") this.#checkDrained();
    this.#o.metrics.observeTick(ms / 1000);
    this.#last = tick;
    // Every worker reports at the same global ticks, so the coordinator's sums are exact.
    if (tick >= this.#nextReport) {
      this.#nextReport = (Math.floor(tick / this.#reportTicks) + 1) * this.#reportTicks;
      void this.#heartbeat();
    }
  }

  #loop = (): void => {
    if (this.#closed) return;
    const clock = this.#clock;
    if (this.#paused) {
      // Frozen: the stall watch is not told, so the resumed loop sees how long it was stopped.
      this.#timer = setTimeout(this.#loop, Math.max(1, clock.periodMs));
      return;
    }
    const timeout = this.#reply.workerTimeoutMs || this.#o.config.workerTimeoutMs;
    if (this.status === "ok" && !this.#stall.mayWrite(performance.now(), timeout)) {
      // Maybe declared down while stopped: write nothing until the coordinator answers.
      if (!this.#beating) void this.#heartbeat();
      this.#last = clock.current();
      this.#timer = setTimeout(this.#loop, Math.max(1, clock.periodMs));
      return;
    }
    if (this.status !== "ok") {
      this.#last = clock.current();
      this.#timer = setTimeout(this.#loop, Math.max(1, clock.periodMs));
      return;
    }
    const { from, to } = ticksToRun(this.#last, clock.current(), MAX_CATCH_UP);
    if (from > this.#last + 1) {
      this.#o.log.warn("tick.skipped", { skipped: from - this.#last - 1, at: from });
    }
    // One tick per turn of the event loop: a worker catching up still answers its peers,
    // gateways, heartbeats and HTTP between ticks.
    if (from <= to) this.#runTick(from);
    const behind = clock.current() > this.#last;
    this.#timer = setTimeout(this.#loop, behind ? 0 : Math.max(1, clock.msUntil(this.#last + 1)));
  };
}

/**
 * A batch with handoffs, transfers, acknowledgements, claims or mirror ops is never dropped:
 * only ghost updates and interactions may be, when a link stays down.
 */
function mustKeep(batch: Batch): boolean {
  return batch.handoffs.length > 0 || batch.transfers.length > 0 || batch.acks.length > 0 ||
    batch.handoffAcks.length > 0 || !isEmptyReplica(batch.replica) || batch.claims.length > 0 ||
    batch.replicaAck > 0;
}
