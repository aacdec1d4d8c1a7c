// The session handshake after HELLO: a login token joins a new player on the worker owning a
// random point, a resume token takes an existing session back from whichever worker owns its
// entity; both end in WELCOME with a fresh single-use resume token.
import { newTokenId, verifyToken } from "./login_tokens.ts";
import type { PlayerSaves } from "./player_saves.ts";
import { Op, PROTOCOL_VERSION, type ServerMessage } from "../protocol/client_protocol.ts";
import type { GatewayConfig } from "../config/config.ts";
import { CodedError, ErrorCode } from "../errors.ts";
import { boundsOf, snapshotEvery, type WorldSpec } from "../world/world_spec.ts";
import type { ClientSession } from "./client_session.ts";
import type { HubTransport } from "./hub_transport.ts";
import { PendingAnswers } from "./pending_answers.ts";
import type { ResumeTokens } from "./resume_tokens.ts";
import type { Timers } from "./timers.ts";
import type { WorkerReport } from "./session_messages.ts";

/** How long a worker has to answer a join. */
export const JOIN_TIMEOUT_MS = 5_000;
/** How long the workers have to answer one round of a resume... */
export const RESUME_TIMEOUT_MS = 1_500;
/** ...and how many rounds (an entity in the middle of a handoff has no owner for a moment). */
export const RESUME_ROUNDS = 3;
/**
 * Signed lifetime of a resume token. Not the login token's: the worker owning the entity is
 * the authority (single use, grace period), so a session outlives its login token.
 */
export const RESUME_TOKEN_TTL_MS = 30 * 86_400_000;

/** What the handshake needs of the hub. */
export interface HandshakeOptions {
  config: GatewayConfig;
  world: WorldSpec;
  secret: string;
  tokens: ResumeTokens;
  timers: Timers;
  random: () => number;
  transport: HubTransport;
  sessions: Map<string, ClientSession>;
  send(session: ClientSession, message: ServerMessage): void;
  /** The owning worker let a newer connection resume `previous`: close it without detaching. */
  takeOver(previous: ClientSession): void;
  /** WELCOME was sent: the session is live. */
  welcomed(session: ClientSession): void;
  /** Registered players' saved fields (persistent player data); none without it. */
  saves?: PlayerSaves;
}

/** Joins and resumes of one hub, with the answers they wait for. */
export class Handshake {
  readonly joins: PendingAnswers;
  /** Keyed by the connection's `conn` (its `nextJti`), not the session: resumes may race. */
  readonly resumes: PendingAnswers;
  #o: HandshakeOptions;
  #resuming = new Map<string, ClientSession>();

  constructor(options: HandshakeOptions) {
    this.#o = options;
    this.joins = new PendingAnswers(options.timers);
    this.resumes = new PendingAnswers(options.timers);
  }

  /**
   * The answers in a worker's report (joins, superseded connections, resumes), settled
   * synchronously: the same report carries the player's first (full) diff, which must reach
   * the session's view even though WELCOME is sent a moment later.
   */
  answer(report: WorkerReport): void {
    for (const j of report.joined) {
      this.claim(j.session, j.entity, report.worker);
      this.joins.settle(j.session, { entity: j.entity, worker: report.worker });
    }
    for (const s of report.superseded) this.supersede(s.session, s.conn);
    for (const r of report.resumed) {
      if (r.ok) this.claimResume(r.conn, r.session, r.entity, report.worker);
      this.resumes.settle(r.conn, { entity: r.ok ? r.entity : -1, worker: report.worker });
    }
  }

  /** A worker answered a join or resume: the session now follows that entity. */
  claim(sessionId: string, entity: number, worker: string): void {
    const session = this.#o.sessions.get(sessionId);
    if (!session || session.state !== "joining") return;
    session.entity = entity;
    session.worker = worker;
  }

  /**
   * The owning worker accepted the resume asked by connection `conn`: that connection is now
   * the session's, and any other connection of the session here is taken over.
   */
  claimResume(conn: string, sessionId: string, entity: number, worker: string): void {
    const session = this.#resuming.get(conn);
    if (!session || session.state !== "joining" || session.id !== sessionId) return;
    session.entity = entity;
    session.worker = worker;
    this.supersede(sessionId, undefined, session);
    this.#o.sessions.set(sessionId, session);
  }

  /**
   * Closes this gateway's connection of `sessionId` (the one holding `conn`, or any other
   * than `keep`): the owning worker gave the session to a newer connection.
   */
  supersede(sessionId: string, conn: string | undefined, keep?: ClientSession): void {
    const previous = this.#o.sessions.get(sessionId);
    if (!previous || previous === keep || (conn !== undefined && previous.conn !== conn)) return;
    this.#o.takeOver(previous);
  }

  /** Gives up every join and resume still waiting (shutdown). */
  cancelAll(): void {
    this.joins.cancelAll();
    this.resumes.cancelAll();
  }

  /** Joins a new player with a login token; throws CodedError for the client. */
  async join(session: ClientSession, token: string): Promise<void> {
    const o = this.#o;
    const claims = verifyToken(token, o.secret, o.timers.now());
    const { size, dims } = o.world;
    const at = {
      x: o.random() * size[0],
      y: o.random() * size[1],
      z: dims === 3 ? o.random() * size[2] : 0,
    };
    const worker = o.transport.ownerAt(at.x, at.y, at.z);
    if (!worker) {
      throw new CodedError(ErrorCode.UNAVAILABLE, "The world is not ready yet; try again shortly");
    }
    const account = claims.kind === "account" ? claims.sub : "";
    // The fields this player saved last time go to the worker with the join (before onJoin).
    const saved = account ? await o.saves?.load(account) : undefined;
    session.id = crypto.randomUUID();
    session.name = claims.name;
    o.sessions.set(session.id, session);
    const jti = newTokenId();
    session.conn = jti;
    const answer = await this.joins.wait(
      session.id,
      JOIN_TIMEOUT_MS,
      () =>
        o.transport.send(worker, {
          op: "join",
          session: session.id,
          name: claims.name,
          resumeJti: jti,
          ...at,
          ...(account ? { account } : {}),
          ...(saved ? { carried: { data: saved, lastSeq: 0 } } : {}),
        }),
    );
    if (!answer) {
      throw new CodedError(ErrorCode.UNAVAILABLE, "The world did not answer the join in time");
    }
    await this.#welcome(session, answer.entity, answer.worker, jti, false);
  }

  /** Takes a session back with a resume token; throws CodedError (RESUME_FAILED). */
  async resume(session: ClientSession, token: string): Promise<void> {
    const o = this.#o;
    let ticket;
    try {
      ticket = o.tokens.read(token);
    } catch (error) {
      throw new CodedError(ErrorCode.RESUME_FAILED, (error as Error).message, { cause: error });
    }
    // Nothing changes here until the owning worker decides: a refused token must not disturb
    // the session's live connection.
    session.id = ticket.sessionId;
    session.name = `player-${ticket.entityId}`;
    const nextJti = newTokenId();
    session.conn = nextJti;
    this.#resuming.set(nextJti, session);
    try {
      // Only the worker owning the entity answers; it accepts the token id once.
      for (let round = 0; round < RESUME_ROUNDS; round++) {
        const answer = await this.resumes.wait(nextJti, RESUME_TIMEOUT_MS, () => {
          for (const worker of o.transport.workers()) {
            o.transport.send(worker, {
              op: "resume",
              entity: ticket.entityId,
              session: session.id,
              jti: ticket.id,
              nextJti,
            });
          }
        });
        if (answer && answer.entity === ticket.entityId) {
          return await this.#welcome(session, answer.entity, answer.worker, nextJti, true);
        }
        if (answer) break; // refused: the token was used already
      }
    } finally {
      this.#resuming.delete(nextJti);
    }
    throw new CodedError(
      ErrorCode.RESUME_FAILED,
      "Cannot resume: the token was already used or the session has ended",
    );
  }

  async #welcome(
    session: ClientSession,
    entity: number,
    worker: string,
    jti: string,
    resumed: boolean,
  ): Promise<void> {
    const o = this.#o;
    if (session.state === "closed") {
      // The client left while we were joining: let the entity time out like any drop.
      if (worker) {
        o.transport.send(worker, { op: "detach", entity, session: session.id, conn: jti });
      }
      return;
    }
    session.entity = entity;
    session.worker = worker;
    session.state = "live";
    const resumeToken = await o.tokens.issue(session.id, entity, RESUME_TOKEN_TTL_MS, jti);
    o.send(session, {
      op: Op.WELCOME,
      protocol: PROTOCOL_VERSION,
      session: session.id,
      entity,
      resumeToken,
      resumeGraceMs: o.config.resumeGraceMs,
      resumed,
      world: boundsOf(o.world),
      tickHz: o.world.tickHz,
      snapshotHz: o.world.tickHz / snapshotEvery(o.world),
      aoiRadius: o.world.aoiRadius,
    });
    o.welcomed(session);
  }
}
