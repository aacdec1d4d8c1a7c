// remoteGame(): a game whose logic runs in another process, in any language, behind the
// GameLogic gRPC service (proto/game_logic.proto, docs/game-api.md "Game logic over gRPC").
// Each worker keeps one Tick stream to the logic server: at every tick it sends what happened
// since the last (joins, leaves, inputs, interactions, entities new here or changed by the
// worker) and applies the replies that have arrived (set, spawn, remove, interact). A reply
// never holds a tick back: one that arrives after the next tick began is applied at the tick
// after and counted late. Events are sent once per stream; TickIns not yet answered when a
// stream breaks are sent again, with their own tick, on the next stream (a server that keeps the
// last tick it answered per worker skips them, as examples/remote_py does).
import client from "prom-client";
import { RpcError } from "../net/grpc_status.ts";
import { type GrpcStream, openGrpcStream } from "../net/grpc_stream.ts";
import { registry } from "../observe/metrics.ts";
import {
  defineGame,
  type EntityTypeOptions,
  type GameContext,
  type GameDefinition,
  WORLD_ID_LIMIT,
} from "../sim/game.ts";
import type { Entity } from "../world/entity.ts";
import {
  emptyOut,
  json,
  type Out,
  parseData,
  signature,
  TICK_PATH,
  TickIn,
  TickOut,
  wire,
  type WireEntity,
} from "./logic_messages.ts";

/** What {@linkcode remoteGame} needs besides the address (which comes from the options). */
export interface RemoteGameOptions {
  name: string;
  version?: string;
  entityTypes: Record<string, EntityTypeOptions>;
}

/** The options a remote game takes: the logic server's address, the rest is passed on. */
export interface RemoteOptions {
  /** host:port of the GameLogic server (HTTP/2 cleartext). */
  address: string;
  /** Every other key of `game.options`, sent to the server as JSON. */
  passed: Record<string, unknown>;
}

/** TickIns kept for resending while the server does not answer; older ones are dropped. */
const MAX_UNANSWERED = 200;
const RECONNECT_MS = [100, 200, 500, 1_000, 2_000];
const ADDRESS = /^[A-Za-z0-9.-]+:\d{1,5}$|^\[[0-9a-fA-F:]+\]:\d{1,5}$/;

const labelNames = ["worker"] as const;
const lateReplies = new client.Counter({
  name: "zs_game_logic_late_replies_total",
  help: "GameLogic replies applied later than the tick after the one they answer.",
  labelNames,
  registers: [registry],
});
const reconnects = new client.Counter({
  name: "zs_game_logic_reconnects_total",
  help: "GameLogic streams opened again after one ended.",
  labelNames,
  registers: [registry],
});
const dropped = new client.Counter({
  name: "zs_game_logic_dropped_ticks_total",
  help: "TickIns dropped unanswered because the logic server stayed away too long.",
  labelNames,
  registers: [registry],
});
const roundTrip = new client.Histogram({
  name: "zs_game_logic_round_trip_seconds",
  help: "Time from sending a TickIn to receiving its TickOut.",
  labelNames,
  buckets: [0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.25, 1],
  registers: [registry],
});

/** One TickIn being built for the current tick. */
interface Pending {
  joined: number[];
  left: number[];
  inputs: unknown[];
  interactions: unknown[];
  worldStart: boolean;
}

const emptyPending = (): Pending => ({
  joined: [],
  left: [],
  inputs: [],
  interactions: [],
  worldStart: false,
});

/** A worker's side of the logic: its stream, what the server knows, replies not yet applied. */
class LogicLink {
  ctx: GameContext;
  #options: RemoteOptions;
  #stream?: GrpcStream;
  #opening = false;
  #failures = 0;
  #retryAt = 0;
  /** What the server was last told (or made) of each owned entity. */
  #known = new Map<number, string>();
  #pending = emptyPending();
  /** TickIns sent on the current stream and not answered, oldest first. */
  #unanswered: Array<{ tick: number; message: Record<string, unknown>; sentAt: number }> = [];
  #replies: Out[] = [];
  #owns?: (x: number, y: number, z: number) => boolean;
  #labels: { worker: string };

  constructor(ctx: GameContext, options: RemoteOptions) {
    this.ctx = ctx;
    this.#options = options;
    this.#labels = { worker: ctx.worker };
  }

  /** The worker's space was replaced (fenced and rejoined): the server starts over. */
  reset(ctx: GameContext): void {
    this.ctx = ctx;
    this.#known.clear();
    this.#pending = emptyPending();
    this.#unanswered = [];
    this.#replies = [];
    this.#stream?.close();
    this.#stream = undefined;
  }

  worldStart(owns: (x: number, y: number, z: number) => boolean): void {
    this.#owns = owns;
    this.#pending.worldStart = true;
  }

  joined(player: Entity): void {
    this.#pending.joined.push(player.id);
  }

  left(player: Entity): void {
    this.#pending.left.push(player.id);
  }

  input(player: Entity, input: { seq: number; move: number[]; action?: string; data?: unknown }) {
    this.#pending.inputs.push({
      entity: player.id,
      seq: input.seq,
      move: input.move,
      action: input.action ?? "",
      dataJson: json(input.data),
    });
  }

  interaction(target: Entity, source: number, kind: string, data: unknown): void {
    this.#pending.interactions.push({ target: target.id, source, kind, dataJson: json(data) });
  }

  /** The tick's turn: apply the replies that came, then tell the server what happened. */
  tick(): void {
    const problems: string[] = [];
    const replies = this.#replies;
    this.#replies = [];
    for (const reply of replies) this.#apply(reply, problems);
    const message = this.#collect();
    this.#send(message);
    if (problems.length > 0) {
      throw new Error(
        `remote logic at ${this.#options.address}: ${problems.length} refused: ` +
          problems.slice(0, 5).join("; "),
      );
    }
  }

  #collect(): Record<string, unknown> {
    const ctx = this.ctx;
    const changed: WireEntity[] = [];
    const here = new Set<number>();
    for (const e of ctx.owned()) {
      here.add(e.id);
      const sig = signature(e);
      if (this.#known.get(e.id) === sig) continue;
      this.#known.set(e.id, sig);
      changed.push(wire(e));
    }
    const gone: number[] = [];
    for (const id of this.#known.keys()) {
      if (!here.has(id)) {
        gone.push(id);
        this.#known.delete(id);
      }
    }
    const p = this.#pending;
    this.#pending = emptyPending();
    return {
      tick: ctx.tick,
      worker: ctx.worker,
      dt: ctx.dt,
      size: [...ctx.size],
      worldStart: p.worldStart,
      joined: p.joined,
      left: p.left,
      inputs: p.inputs,
      interactions: p.interactions,
      changed,
      gone,
    };
  }

  #send(message: Record<string, unknown>): void {
    this.#unanswered.push({ tick: message.tick as number, message, sentAt: performance.now() });
    if (this.#unanswered.length > MAX_UNANSWERED) {
      this.#unanswered.shift();
      dropped.inc(this.#labels);
    }
    if (this.#stream && !this.#stream.ended) {
      this.#stream.write(TickIn.encode(message));
      return;
    }
    this.#open();
  }

  /** A new stream: a reset with every owned entity, then the TickIns not answered yet. */
  #open(): void {
    if (this.#opening || performance.now() < this.#retryAt) return;
    this.#opening = true;
    const everything = [...this.ctx.owned()];
    this.#known = new Map(everything.map((e) => [e.id, signature(e)]));
    const reset = TickIn.encode({
      tick: 0,
      worker: this.ctx.worker,
      dt: this.ctx.dt,
      size: [...this.ctx.size],
      reset: true,
      optionsJson: JSON.stringify(this.#options.passed),
      changed: everything.map(wire),
    });
    const stream = openGrpcStream(this.#options.address, TICK_PATH, reset, {
      onMessage: (bytes) => this.#received(bytes),
      onEnd: (error) => {
        if (this.#stream !== stream) return;
        this.#stream = undefined;
        if (error) {
          this.#failures++;
          const wait = RECONNECT_MS[Math.min(this.#failures, RECONNECT_MS.length) - 1];
          this.#retryAt = performance.now() + wait;
          reconnects.inc(this.#labels);
        }
      },
    });
    this.#stream = stream;
    this.#opening = false;
    // Their events again; not their entity states, which the reset just replaced.
    for (const u of this.#unanswered) {
      stream.write(TickIn.encode({ ...u.message, changed: [], gone: [] }));
    }
  }

  #received(bytes: Uint8Array): void {
    let out: Out;
    try {
      out = TickOut.decode(bytes) as Out;
    } catch (error) {
      this.#replies.push({ ...emptyOut(), error: (error as RpcError).message });
      return;
    }
    this.#failures = 0;
    if (out.tick === 0) return; // the answer to a reset carries no tick
    const at = this.#unanswered.findIndex((u) => u.tick === out.tick);
    if (at >= 0) {
      roundTrip.observe(this.#labels, (performance.now() - this.#unanswered[at].sentAt) / 1000);
      this.#unanswered.splice(0, at + 1);
    }
    this.#replies.push(out);
  }

  #apply(out: Out, problems: string[]): void {
    const ctx = this.ctx;
    if (ctx.tick > out.tick + 1) lateReplies.inc(this.#labels);
    if (out.error) problems.push(`the server says: ${out.error}`);
    const owned = new Map<number, Entity>();
    for (const e of ctx.owned()) owned.set(e.id, e);
    for (const s of out.set) {
      const e = owned.get(s.id);
      if (!e) continue; // handed off or removed since: its new owner's server decides now
      if (s.position.length > 0) [e.x, e.y, e.z = e.z] = s.position;
      if (s.velocity.length > 0) [e.vx, e.vy, e.vz = e.vz] = s.velocity;
      if (s.dataJson !== "") {
        const data = parseData(s.dataJson);
        if (typeof data === "string") problems.push(`set ${s.id}: ${data}`);
        else e.data = data;
      }
      this.#known.set(e.id, signature(e));
    }
    for (const s of out.spawns) {
      const world = s.id > 0;
      if (world && (s.id >= WORLD_ID_LIMIT || !this.#owns?.(s.x, s.y, s.z))) {
        if (s.id >= WORLD_ID_LIMIT) problems.push(`spawn id ${s.id} is not below 2^32`);
        continue; // another worker's part of the world
      }
      const data = parseData(s.dataJson || "{}");
      if (typeof data === "string") {
        problems.push(`spawn ${s.type}: ${data}`);
        continue;
      }
      try {
        // Not marked known: the next TickIn's `changed` tells the server it exists, and its id.
        ctx.spawn(s.type, { x: s.x, y: s.y, z: s.z }, data, world ? s.id : undefined);
      } catch (error) {
        problems.push(`spawn ${s.type}: ${(error as Error).message}`);
      }
    }
    for (const id of out.remove) {
      const e = owned.get(id);
      if (e) ctx.remove(e);
    }
    for (const i of out.interact) {
      const source = owned.get(i.source);
      if (!source) continue;
      const near = ctx.near(source.x, source.y, source.z, i.reach > 0 ? i.reach : 10, []);
      const target = near.find((e) => e.id === i.target);
      if (!target) continue; // out of reach now
      const data = i.dataJson === "" ? undefined : parseData(i.dataJson, false);
      ctx.interact(source, target, i.kind, data);
    }
  }
}

/**
 * A game whose logic runs in a GameLogic server (proto/game_logic.proto) at
 * `game.options.address`; the other options go to the server as JSON.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { remoteGame } from "./remote_game.ts";
 * const game = remoteGame({ name: "tag", entityTypes: { player: {} } });
 * const context = { field: "game.options", fail(key: string, problem: string): never {
 *   throw new Error(`${key}: ${problem}`);
 * } } as never;
 * assert.deepEqual(game.parseOptions!({ address: "127.0.0.1:50051", speed: 3 }, context), {
 *   address: "127.0.0.1:50051",
 *   passed: { speed: 3 },
 * });
 * assert.throws(() => game.parseOptions!({}, context), /address: required/);
 * ```
 */
export function remoteGame(definition: RemoteGameOptions): GameDefinition<RemoteOptions> {
  const links = new Map<string, LogicLink>();
  const linkOf = (ctx: GameContext, options: RemoteOptions) => {
    let link = links.get(ctx.worker);
    if (!link) links.set(ctx.worker, link = new LogicLink(ctx, options));
    else if (link.ctx !== ctx) link.reset(ctx);
    return link;
  };
  return defineGame<RemoteOptions>({
    ...definition,
    parseOptions({ address, ...passed }, { fail }) {
      if (address === undefined) fail("address", "required: host:port of the GameLogic server");
      if (typeof address !== "string" || !ADDRESS.test(address)) {
        fail("address", `expected host:port, got ${JSON.stringify(address)}`);
      }
      return { address: address as string, passed };
    },
    onWorldStart: (ctx, owns, options) => linkOf(ctx, options).worldStart(owns),
    onJoin: (ctx, player, options) => linkOf(ctx, options).joined(player),
    onLeave: (ctx, player, options) => linkOf(ctx, options).left(player),
    onInput: (ctx, player, input, options) => linkOf(ctx, options).input(player, input),
    onInteract(ctx, target, event) {
      links.get(ctx.worker)?.interaction(target, event.source, event.kind, event.data);
    },
    onTick: (ctx, options) => linkOf(ctx, options).tick(),
  });
}
