// The gateway's rooms: a session's CREATE, SEARCH, JOIN, LEAVE and DESTROY go to the
// coordinator's directory (room_directory.ts); a travel takes the player's entity out of its
// space (depart), joins it into the next one with its data (the world at its last position, or
// an instance), and once that space answers sends TRAVEL and a full DIFF — on the same
// connection and session.
import { type ClientSession } from "./client_session.ts";
import { ClientView } from "./client_view.ts";
import { CodedError, ErrorCode } from "../errors.ts";
import type { HubTransport } from "./hub_transport.ts";
import type { Logger } from "../observe/log.ts";
import { peerFields, peerString as str } from "../protocol/peer_reader.ts";
import { encode } from "../protocol/msgpack.ts";
import {
  Op,
  type RoomRequest,
  type RoomRow,
  type ServerMessage,
} from "../protocol/client_protocol.ts";
import {
  askDirectory,
  instanceTarget,
  type Position,
  positionOf,
  rowOf,
  type Target,
} from "./room_directory.ts";
import type { ResumeTokens } from "./resume_tokens.ts";
import { RESUME_TOKEN_TTL_MS } from "./handshake.ts";
import type { Departed, WorkerReport } from "./session_messages.ts";
import type { TimerId, Timers } from "./timers.ts";
import type { WorldSpec } from "../world/world_spec.ts";

const { array } = peerFields;

/** How long a travel may take (depart, then join) before it is given up. */
export const TRAVEL_TIMEOUT_MS = 5_000;
/** Largest `options` of a CREATE, in bytes of msgpack. */
export const MAX_ROOM_OPTIONS_BYTES = 1024;

/** A session's travel in progress. */
export interface Travel {
  ref?: number;
  reason: "create" | "join" | "leave" | "destroyed";
  target: Target;
  stage: "departing" | "joining" | "arriving";
  timer?: TimerId;
}

/** The instance a session is in (undefined: the open world). */
export interface RoomPlace {
  row: RoomRow;
}

/** Options of {@linkcode RoomTravel}. */
export interface RoomTravelOptions {
  world: WorldSpec;
  timers: Timers;
  tokens: ResumeTokens;
  transport: HubTransport;
  sessions: Map<string, ClientSession>;
  /** One request to the coordinator's Instances RPC (msgpack in, msgpack out). */
  directory(payload: Uint8Array): Promise<Uint8Array>;
  send(session: ClientSession, message: ServerMessage): void;
  /** Sends the session's view as one full DIFF (after TRAVEL). */
  snapshot(session: ClientSession): void;
  random: () => number;
  log: Logger;
}

/** Room requests and travels of one gateway's sessions. */
export class RoomTravel {
  #o: RoomTravelOptions;
  #arrived: ClientSession[] = [];
  /** Sessions between spaces, by id (also once their connection closed). */
  #travelling = new Map<string, ClientSession>();
  /** Sessions whose CREATE, JOIN or LEAVE waits for the coordinator's answer (how many). */
  #asking = new Map<ClientSession, number>();

  constructor(options: RoomTravelOptions) {
    this.#o = options;
  }

  /** A rooms frame from a live session. */
  onRequest(session: ClientSession, message: RoomRequest): void {
    const ref = message.ref;
    if (!session.roomOps.take()) {
      return this.#refuse(session, ref, ErrorCode.RATE_LIMITED, "Too many room requests; wait");
    }
    const moving = message.op === Op.CREATE || message.op === Op.JOIN ||
      message.op === Op.LEAVE;
    if (moving) this.#asking.set(session, (this.#asking.get(session) ?? 0) + 1);
    this.#request(session, message).catch((error) => {
      const code = error instanceof CodedError ? error.code : ErrorCode.INTERNAL;
      if (!(error instanceof CodedError)) this.#o.log.error("rooms.failed", { error });
      this.#refuse(session, ref, code, (error as Error).message);
    }).finally(() => {
      if (!moving) return;
      const left = this.#asking.get(session)! - 1;
      if (left === 0) this.#asking.delete(session);
      else this.#asking.set(session, left);
    });
  }

  /** A session went live (WELCOME): the users directory learns where it is. */
  online(session: ClientSession): void {
    this.#ask({ op: "online", user: session.id, gateway: this.#o.transport.gatewayId })
      .then((answer) => {
        // A session resumed here while in an instance: LEAVE and instance chat work on.
        const [row] = array(answer.instances ?? [], "instances").map((r) => rowOf(r));
        if (row && !session.travel) session.room = { row };
      })
      .catch((error) => this.#o.log.debug("rooms.presence_failed", { error }));
  }

  /**
   * Reads a worker report before the hub applies its diffs: departures continue travels (or
   * bring players of a destroyed instance home), joins of travellers switch their view, and
   * sessions whose grace ended go offline.
   */
  onReport(report: WorkerReport): void {
    for (const d of report.departed) this.#departed(d);
    for (const j of report.joined) {
      const session = this.#travelling.get(j.session);
      if (session?.travel?.stage !== "joining") continue;
      if (session.state !== "live") {
        // It closed on the way: the new entity waits for a resume like after any drop.
        this.#o.transport.send(report.worker, {
          op: "detach",
          entity: j.entity,
          session: session.id,
          conn: session.conn,
        });
        this.#end(session);
        continue;
      }
      session.travel.stage = "arriving";
      session.entity = j.entity;
      session.worker = report.worker;
      session.view = new ClientView();
      this.#arrived.push(session);
    }
    for (const g of report.gone) {
      if (this.#o.sessions.has(g.session)) continue;
      void this.#ask({ op: "offline", user: g.session }).catch(() => {});
    }
  }

  /** After the report's diffs are in the travellers' new views: TRAVEL, then a full DIFF. */
  settle(): void {
    const arrived = this.#arrived;
    this.#arrived = [];
    for (const session of arrived) void this.#arrive(session);
  }

  /**
   * True from a CREATE, JOIN or LEAVE until its TRAVEL (or refusal): a hand-over waits, since a
   * connection closed on the way would end the session.
   */
  busy(session: ClientSession): boolean {
    return this.#asking.has(session) || session.travel !== undefined;
  }

  /** True while the session's entity is between spaces (inputs wait, DIFFs go to the view). */
  static arriving(session: ClientSession): boolean {
    return session.travel?.stage === "arriving";
  }

  async #request(session: ClientSession, m: RoomRequest): Promise<void> {
    const gateway = this.#o.transport.gatewayId;
    const user = session.id;
    const moving = m.op === Op.CREATE || m.op === Op.JOIN || m.op === Op.LEAVE;
    if (moving && session.travel) {
      throw new CodedError(ErrorCode.NOT_ALLOWED, "A travel is in progress; wait for TRAVEL");
    }
    const world = session.room ? undefined : { world: session.position };
    switch (m.op) {
      case Op.CREATE: {
        const options = m.options ?? {};
        const bytes = encode(options).length;
        if (bytes > MAX_ROOM_OPTIONS_BYTES) {
          throw new CodedError(
            ErrorCode.BAD_OPTIONS,
            `CREATE.options is ${bytes} bytes, more than the maximum of ${MAX_ROOM_OPTIONS_BYTES}`,
          );
        }
        const answer = await this.#ask({
          op: "create",
          user,
          gateway,
          mode: m.mode,
          options,
          ...pick(m, ["maxPlayers", "private", "tags", "version", "region"]),
          ...world,
        });
        return this.#travel(session, m.ref, "create", instanceTarget(answer));
      }
      case Op.JOIN: {
        const answer = await this.#ask({
          op: m.instance !== undefined ? "join" : "quick",
          user,
          gateway,
          ...pick(m, ["instance", "mode", "version", "region"]),
          ...world,
        });
        return this.#travel(session, m.ref, "join", instanceTarget(answer));
      }
      case Op.LEAVE: {
        // The directory knows where the user is (also after a resume on another gateway).
        const answer = await this.#ask({ op: "leave", user });
        return this.#travel(session, m.ref, "leave", { kind: "world", at: positionOf(answer) });
      }
      case Op.SEARCH: {
        const answer = await this.#ask({
          op: "search",
          ...pick(m, ["mode", "tags", "version", "region", "open", "after", "limit"]),
        });
        return this.#rooms(session, m.ref, answer);
      }
      case Op.DESTROY: {
        const answer = await this.#ask({ op: "destroy", user, instance: m.instance });
        return this.#rooms(session, m.ref, answer);
      }
    }
  }

  #rooms(session: ClientSession, ref: number, answer: Record<string, unknown>): void {
    const rows = array(answer.instances ?? [], "instances").map((r) => rowOf(r));
    this.#o.send(session, {
      op: Op.ROOMS,
      ref,
      instances: rows,
      ...(answer.next !== undefined ? { next: str(answer.next, "next", 64) } : {}),
    });
  }

  /** Starts a travel: the entity leaves its space first. */
  #travel(
    session: ClientSession,
    ref: number | undefined,
    reason: Travel["reason"],
    target: Target,
  ) {
    if (session.state !== "live") return;
    this.#begin(session, { ref, reason, target, stage: "departing" });
    this.#o.transport.send(session.worker, {
      op: "depart",
      entity: session.entity,
      session: session.id,
      conn: session.conn,
    });
  }

  #departed(d: Departed): void {
    const session = this.#o.sessions.get(d.session);
    if (!session || session.entity !== d.entity || session.state !== "live") {
      // Nobody here to take it on (the connection closed): the session ends.
      void this.#ask({ op: "offline", user: d.session }).catch(() => {});
      return;
    }
    if (!session.room) session.lastWorld = { x: d.x, y: d.y, z: d.z };
    if (!session.travel) {
      // Its instance was destroyed under it: home to the world.
      if (d.reason !== "destroyed") return;
      this.#begin(session, {
        reason: "destroyed",
        target: { kind: "world", at: session.lastWorld },
        stage: "departing",
      });
    }
    const travel = session.travel!;
    travel.stage = "joining";
    session.worker = ""; // no inputs until the new space has the entity
    const carried = { data: d.data, lastSeq: d.lastSeq };
    const base = {
      session: session.id,
      name: session.name,
      resumeJti: session.conn,
      carried,
      account: d.account,
    };
    if (travel.target.kind === "instance") {
      const placement = travel.target.placement;
      // The worker puts the player at the instance's centre; the game may move it in onJoin.
      this.#o.transport.send(placement.worker, {
        op: "join",
        ...base,
        x: 0,
        y: 0,
        z: 0,
        instance: placement,
      });
      return;
    }
    const at = travel.target.at ?? session.lastWorld ?? this.#randomPoint();
    const worker = this.#o.transport.ownerAt(at.x, at.y, at.z);
    this.#o.transport.send(worker, { op: "join", ...base, ...at });
  }

  async #arrive(session: ClientSession): Promise<void> {
    const travel = session.travel;
    if (!travel || session.state !== "live") return;
    const resumeToken = await this.#o.tokens.issue(
      session.id,
      session.entity,
      RESUME_TOKEN_TTL_MS,
      session.conn,
    );
    if (session.travel !== travel || session.state !== "live") return;
    this.#end(session);
    const target = travel.target;
    session.room = target.kind === "instance" ? { row: target.row } : undefined;
    this.#o.send(session, {
      op: Op.TRAVEL,
      ...(travel.ref !== undefined ? { ref: travel.ref } : {}),
      place: target.kind,
      ...(target.kind === "instance" ? { instance: target.row } : {}),
      entity: session.entity,
      resumeToken,
      size: target.kind === "instance" ? target.size : [...this.#o.world.size],
      reason: travel.reason,
    });
    this.#o.snapshot(session);
  }

  #begin(session: ClientSession, travel: Travel): void {
    session.travel = travel;
    this.#travelling.set(session.id, session);
    travel.timer = this.#o.timers.setTimeout(() => {
      if (session.travel !== travel) return;
      this.#end(session);
      this.#refuse(
        session,
        travel.ref,
        ErrorCode.UNAVAILABLE,
        "The travel did not complete in time",
      );
    }, TRAVEL_TIMEOUT_MS);
  }

  #end(session: ClientSession): void {
    this.#o.timers.clearTimeout(session.travel?.timer);
    session.travel = undefined;
    if (this.#travelling.get(session.id) === session) this.#travelling.delete(session.id);
  }

  #randomPoint(): Position {
    const { size, dims } = this.#o.world;
    const r = this.#o.random;
    return { x: r() * size[0], y: r() * size[1], z: dims === 3 ? r() * size[2] : 0 };
  }

  #refuse(session: ClientSession, ref: number | undefined, code: string, message: string): void {
    this.#o.send(session, { op: Op.ERROR, code, message, ...(ref !== undefined ? { ref } : {}) });
  }

  #ask(request: Record<string, unknown>): Promise<Record<string, unknown>> {
    return askDirectory(this.#o.directory, request);
  }
}

function pick<T extends object>(from: T, keys: readonly string[]): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const key of keys) {
    const value = (from as Record<string, unknown>)[key];
    if (value !== undefined) out[key] = value;
  }
  return out;
}
