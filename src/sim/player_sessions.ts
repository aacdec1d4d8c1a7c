// Players on a worker: the commands gateways send (join, input, detach, resume), when each owned
// player's area-of-interest diff is taken (the views: player_views.ts), saves of persistent
// fields, and the per-gateway reports. A player's session rides on its entity, so whichever
// worker owns the entity answers for the session.
import type { Entity, EntityData } from "../world/entity.ts";
import type { GameContext, GameDefinition } from "./game.ts";
import {
  emptyReport,
  type GatewayCommand,
  type PlayerInput,
  type WorkerReport,
} from "../session/session_messages.ts";
import type { EntityIndex } from "../world/spatial_index.ts";
import type { DataVersions } from "./data_versions.ts";
import { PlayerViews } from "./player_views.ts";

/** What player handling needs from the space it runs in. */
export interface PlayerHost {
  readonly id: string;
  readonly tick: number;
  readonly owned: ReadonlyMap<number, Entity>;
  readonly index: EntityIndex;
  readonly ctx: GameContext;
  readonly game: GameDefinition<unknown>;
  readonly gameOptions: unknown;
  /** Sends a framework interaction to the owner of an entity not owned here. */
  forward(target: number, kind: string, data: unknown): void;
}

/** Options of {@linkcode PlayerSessions}. */
export interface PlayerSessionsOptions {
  aoiRadius: number;
  /** Players get a DIFF of the ticks divisible by this (default 1: every tick). */
  snapshotEvery?: number;
  /** How long a detached player's entity stays in the world waiting for a resume. */
  resumeGraceMs: number;
  /** Entity type of players (must be one of the game's entity types). */
  playerType?: string;
  /**
   * How often registered players' persistent fields (the game's `persistent`) are saved when
   * they changed (they are also saved when the entity is removed); 0: only then.
   */
  saveEveryMs?: number;
  now?: () => number;
  /** Data versions shared with the space's ghost sync (default: the views' own). */
  dataVersions?: DataVersions;
}

/** Kinds of framework interactions carrying session commands between workers. */
export const SessionKind = { INPUT: "zs.input", DETACH: "zs.detach", DEPART: "zs.depart" } as const;

/** Session handling of one worker's space. */
export class PlayerSessions {
  #options: PlayerSessionsOptions;
  #now: () => number;
  #commands: Array<{ gateway: string; command: GatewayCommand }> = [];
  #views: PlayerViews;
  #reports = new Map<string, WorkerReport>();
  #alive = new Set<string>();
  #seen = new Set<string>();
  /** The tick whose state the reports of this step show. */
  #shown = 0;
  /** The last tick collected (-1: none yet). */
  #collected = -1;
  /** Players adopted since the last collect (see catchUp). */
  #adopted = new Set<number>();
  /** What was last saved of each player here (JSON of its persistent fields). */
  #saved = new Map<number, string>();
  /** What `#players` returns. */
  #playerList: Entity[] = [];
  #nextSave = 0;

  constructor(options: PlayerSessionsOptions) {
    this.#options = options;
    this.#now = options.now ?? Date.now;
    this.#views = new PlayerViews(options.aoiRadius, options.dataVersions);
  }

  /** Queues a gateway's command for the start of the next tick. */
  queue(gateway: string, command: GatewayCommand): void {
    this.#commands.push({ gateway, command });
  }

  /** True when `collect` diffs the players after tick `tick` (a snapshot tick). */
  snapshots(tick: number): boolean {
    return tick % (this.#options.snapshotEvery ?? 1) === 0;
  }

  /**
   * Applies queued commands (start of a tick, before game logic). A joined or resumed player's
   * first view goes with the answer, unless `viewsLater`: this tick's own collect, later in the
   * same tick, sends it, so the client's first DIFF shows this tick rather than the one before.
   */
  applyCommands(host: PlayerHost, viewsLater = false): void {
    const commands = this.#commands;
    this.#commands = [];
    for (const { gateway, command } of commands) {
      switch (command.op) {
        case "join": {
          // A traveller brings its data along (the game's persistent fields are in it).
          const data = command.carried ? structuredClone(command.carried.data) : {};
          const player = host.ctx.spawn(this.#options.playerType ?? "player", command, {
            ...data,
            name: command.name,
          });
          player.session = {
            id: command.session,
            gateway,
            name: command.name,
            lastSeq: command.carried?.lastSeq ?? 0,
            resumeJti: command.resumeJti,
            detachedAt: 0,
            account: command.account ?? "",
          };
          this.#views.reset(player.id);
          host.game.onJoin?.(host.ctx, player, host.gameOptions);
          this.#report(gateway, host).joined.push({ session: command.session, entity: player.id });
          if (!viewsLater) this.#diff(host, player); // the first view travels with the answer
          break;
        }
        case "input": {
          const player = host.owned.get(command.entity);
          if (player?.session) this.#input(host, player, command.conn, command.input);
          else if (!player) {
            host.forward(command.entity, SessionKind.INPUT, [
              command.input.seq,
              command.input.move,
              command.input.action ?? null,
              command.conn,
              command.input.data ?? null,
            ]);
          }
          break;
        }
        case "depart": {
          const player = host.owned.get(command.entity);
          if (player?.session) this.#depart(host, player, command.session, command.conn);
          else if (!player) {
            host.forward(command.entity, SessionKind.DEPART, [command.session, command.conn]);
          }
          break;
        }
        case "detach": {
          const player = host.owned.get(command.entity);
          if (player?.session) this.#detach(player, command.session, command.conn);
          else if (!player) {
            host.forward(command.entity, SessionKind.DETACH, [command.session, command.conn]);
          }
          break;
        }
        case "resume": {
          // Sent to every worker; only the owner answers. The token works once: its id must be
          // the one recorded on the entity, which is replaced at once.
          const player = host.owned.get(command.entity);
          const session = player?.session;
          if (!session || session.id !== command.session) break;
          // A repeated round of the resume that already won is answered yes again.
          const again = session.resumeJti === command.nextJti && session.gateway === gateway;
          const ok = again || session.resumeJti === command.jti;
          if (ok && !again) {
            // The connection holding the redeemed token (if still open) is superseded: its
            // gateway closes it, and its inputs and detach no longer match `resumeJti`.
            this.#report(session.gateway, host).superseded.push({
              session: session.id,
              conn: session.resumeJti,
            });
            session.resumeJti = command.nextJti;
            session.gateway = gateway;
            session.detachedAt = 0;
            this.#views.reset(player.id);
          }
          this.#report(gateway, host).resumed.push({
            session: command.session,
            entity: command.entity,
            ok,
            conn: command.nextJti,
          });
          if (ok && !again) {
            // This tick's diff for the connection it replaces (computed before the commands)
            // must not reach the new one ahead of its full view: a gateway takes one per tick.
            const report = this.#reports.get(gateway);
            if (report) report.diffs = report.diffs.filter((d) => d.entity !== player.id);
            if (!viewsLater) this.#diff(host, player); // the first view travels with the answer
          }
          break;
        }
      }
    }
  }

  /** A session command forwarded by another worker for a player owned here. */
  applyForwarded(host: PlayerHost, player: Entity, kind: string, data: unknown): void {
    if (!player.session) return;
    if (kind === SessionKind.INPUT && Array.isArray(data)) {
      const [seq, move, action, conn, payload] = data;
      if (typeof seq !== "number" || !Array.isArray(move) || typeof conn !== "string") return;
      const input: PlayerInput = {
        seq,
        move: move.filter((v): v is number => typeof v === "number"),
      };
      if (typeof action === "string") input.action = action;
      if (payload !== undefined && payload !== null) input.data = payload;
      this.#input(host, player, conn, input);
    } else if (kind === SessionKind.DEPART && Array.isArray(data)) {
      const [session, conn] = data;
      if (typeof session === "string" && typeof conn === "string") {
        this.#depart(host, player, session, conn);
      }
    } else if (kind === SessionKind.DETACH && Array.isArray(data)) {
      const [session, conn] = data;
      if (typeof session === "string" && typeof conn === "string") {
        this.#detach(player, session, conn);
      }
    }
  }

  /** Takes the player out of this space for its gateway to join it elsewhere (travel). */
  #depart(host: PlayerHost, player: Entity, sessionId: string, conn: string): void {
    const session = player.session!;
    if (session.id !== sessionId || session.resumeJti !== conn) return;
    this.#takeOut(host, player, "depart");
  }

  /** Every player leaves (the instance is being destroyed): their gateways take them back. */
  departAll(host: PlayerHost): void {
    for (const player of this.#players(host)) this.#takeOut(host, player, "destroyed");
  }

  #takeOut(host: PlayerHost, player: Entity, reason: "depart" | "destroyed"): void {
    const session = player.session!;
    host.game.onLeave?.(host.ctx, player, host.gameOptions);
    this.#report(session.gateway, host).departed.push({
      session: session.id,
      entity: player.id,
      x: player.x,
      y: player.y,
      z: player.z,
      data: structuredClone(player.data),
      lastSeq: session.lastSeq,
      reason,
      account: session.account,
    });
    this.#saved.delete(player.id);
    this.#views.delete(player.id);
    player.session = undefined;
    host.ctx.remove(player);
  }

  /** Only the session's current connection may end it: a superseded one's detach is stale. */
  #detach(player: Entity, sessionId: string, conn: string): void {
    const session = player.session!;
    if (session.id !== sessionId || session.resumeJti !== conn) return;
    if (session.detachedAt === 0) session.detachedAt = this.#now();
  }

  #input(host: PlayerHost, player: Entity, conn: string, input: PlayerInput): void {
    const session = player.session!;
    if (session.resumeJti !== conn) return; // from a superseded connection
    if (input.seq <= session.lastSeq) return; // old or repeated: applied already
    session.lastSeq = input.seq;
    host.game.onInput?.(host.ctx, player, input, host.gameOptions);
  }

  /**
   * The players owned here: every one has a view (set at join, adoption and resume, dropped
   * when it leaves), so ticks never scan the NPCs to find them. One array, refilled by each
   * call (a generator made two objects per player per pass, twice a tick): a caller is done
   * with it before the next call, and may change the views while it goes through it.
   */
  #players(host: PlayerHost): readonly Entity[] {
    const players = this.#playerList;
    let n = 0;
    for (const id of this.#views.ids()) {
      const player = host.owned.get(id);
      if (player?.session) players[n++] = player;
      else this.#views.delete(id); // left without telling us: stop looking
    }
    if (players.length !== n) players.length = n;
    return players;
  }

  /**
   * The players of `gateway` get a full DIFF next: its stream to this worker was (re)attached,
   * so reports written while it was down, or lost with a failed stream, are made good. Returns
   * how many players that is.
   */
  resync(host: PlayerHost, gateway: string): number {
    let players = 0;
    for (const player of this.#players(host)) {
      if (player.session?.gateway !== gateway) continue;
      this.#views.reset(player.id);
      players++;
    }
    return players;
  }

  /** A player arrived by handoff: its new view starts from scratch. */
  adopted(player: Entity): void {
    this.#views.reset(player.id);
    this.#adopted.add(player.id);
  }

  /**
   * At a tick's start: collects tick `shown` unless a collect at its end did already. Then
   * only the players adopted since are diffed: their old owner's last diff was of the tick
   * before, so they are owed this one.
   */
  catchUp(host: PlayerHost, shown: number): void {
    if (shown > this.#collected) {
      this.collect(host, shown);
      return;
    }
    if (this.#adopted.size === 0) return;
    if (this.snapshots(shown)) {
      for (const id of this.#adopted) {
        const player = host.owned.get(id);
        if (player?.session) this.#diff(host, player);
      }
    }
    this.#adopted.clear();
  }

  /** A player left this worker (handoff or removal). */
  forget(id: number): void {
    this.#views.delete(id);
  }

  /**
   * The gateways alive now (from the map). A player whose gateway was seen before and is gone
   * now counts as disconnected: its client will resume elsewhere, or the grace period ends.
   */
  gatewaysAlive(ids: readonly string[]): void {
    this.#alive = new Set(ids);
    for (const id of ids) this.#seen.add(id);
  }

  /** Removes players detached for longer than the grace period; reports them gone. */
  expire(host: PlayerHost, remove: (player: Entity) => void): void {
    const now = this.#now();
    for (const player of this.#players(host)) {
      const session = player.session;
      if (
        session && session.detachedAt === 0 && this.#seen.has(session.gateway) &&
        !this.#alive.has(session.gateway)
      ) {
        session.detachedAt = now;
      }
      if (!session || session.detachedAt === 0) continue;
      if (now - session.detachedAt <= this.#options.resumeGraceMs) continue;
      host.game.onLeave?.(host.ctx, player, host.gameOptions);
      this.#save(host, player, true);
      this.#saved.delete(player.id);
      this.#report(session.gateway, host).gone.push({ session: session.id, entity: player.id });
      this.#views.delete(player.id);
      remove(player);
    }
  }

  /**
   * Computes each connected player's AOI diff of the state after tick `shown` into its
   * gateway's report. Called at the start of the next tick, once the peers' ghost batches of
   * tick `shown` are applied and before anything owned moves, so every entity in a DIFF —
   * owned or ghost — is as of the DIFF's tick.
   */
  collect(host: PlayerHost, shown: number): void {
    this.#shown = shown;
    this.#collected = shown;
    this.#adopted.clear();
    // Between snapshots the views stay as they are: the next DIFF carries every change since.
    if (this.snapshots(shown)) {
      this.#views.prepare(host.owned, host.tick);
      for (const player of this.#players(host)) this.#diff(host, player);
    }
    const every = this.#options.saveEveryMs ?? 0;
    if (every > 0 && host.game.persistent?.length && this.#now() >= this.#nextSave) {
      this.#nextSave = this.#now() + every;
      for (const player of this.#players(host)) this.#save(host, player, false);
    }
  }

  /** Reports a registered player's persistent fields to its gateway: when they changed, or always. */
  #save(host: PlayerHost, player: Entity, always: boolean): void {
    const fields = host.game.persistent;
    const account = player.session?.account;
    if (!fields?.length || !account) return;
    const data: EntityData = {};
    for (const field of fields) {
      if (player.data[field] !== undefined) data[field] = player.data[field];
    }
    const json = JSON.stringify(data);
    if (!always && this.#saved.get(player.id) === json) return;
    this.#saved.set(player.id, json);
    this.#report(player.session!.gateway, host).saves.push({
      account,
      data: structuredClone(data),
    });
  }

  /**
   * A player is being handed off: its view of this tick comes from the new owner (which
   * adopts it with this tick's state), so this worker only forgets it.
   */
  leaving(player: Entity): void {
    this.#views.delete(player.id);
  }

  #diff(host: PlayerHost, player: Entity): void {
    const diff = this.#views.diff(host.index, host.tick, player, this.#shown);
    if (diff) this.#report(player.session!.gateway, host).diffs.push(diff);
  }

  /** The reports built this tick, by gateway; cleared for the next tick. */
  takeReports(): Map<string, WorkerReport> {
    const reports = this.#reports;
    this.#reports = new Map();
    return reports;
  }

  #report(gateway: string, host: PlayerHost): WorkerReport {
    let report = this.#reports.get(gateway);
    if (!report) {
      report = emptyReport(host.id, Math.max(0, this.#shown));
      this.#reports.set(gateway, report);
    }
    return report;
  }
}
