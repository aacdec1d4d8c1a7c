// The session handshake after HELLO: a login token joins a new player on the worker owning a
// random point, a resume token takes an existing session back from whichever worker owns its
// entity; both end in WELCOME with a fresh single-use resume token.
import { newTokenId, verifyToken } from "./login_tokens.ts";
import { Op, PROTOCOL_VERSION, type ServerMessage } from "../protocol/client_protocol.ts";
import type { GatewayConfig } from "../config/config.ts";
import { CodedError, ErrorCode } from "../errors.ts";
import { boundsOf, type WorldSpec } from "../world/world_spec.ts";
import type { ClientSession } from "./client_session.ts";
import type { HubTransport } from "./hub_transport.ts";
import { PendingAnswers } from "./pending_answers.ts";
import type { ResumeTokens } from "./resume_tokens.ts";
import type { Timers } from "./timers.ts";

/** How long a worker has to answer a join. */
export const JOIN_TIMEOUT_MS = 5_000;
/** How long the workers have to answer one round of a resume... */
export const RESUME_TIMEOUT_MS = 1_500;
/** ...and how many rounds (an entity in the middle of a handoff has no owner for a moment). */
export const RESUME_ROUNDS = 3;

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
  /** A newer connection resumed `previous`: tell it and close it without detaching. */
  takeOver(previous: ClientSession): void;
  /** WELCOME was sent: the session is live. */
  welcomed(session: ClientSession): void;
}

/** Joins and resumes of one hub, with the answers they wait for. */
export class Handshake {
  readonly joins: PendingAnswers;
  readonly resumes: PendingAnswers;
  #o: HandshakeOptions;

  constructor(options: HandshakeOptions) {
    this.#o = options;
    this.joins = new PendingAnswers(options.timers);
    this.resumes = new PendingAnswers(options.timers);
  }

  /** A worker answered a join or resume: the session now follows that entity. */
  claim(sessionId: string, entity: number, worker: string): void {
    const session = this.#o.sessions.get(sessionId);
    if (!session || session.state !== "joining") return;
    session.entity = entity;
    session.worker = worker;
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
    session.id = crypto.randomUUID();
    session.name = claims.name;
    o.sessions.set(session.id, session);
    const jti = newTokenId();
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
    const previous = o.sessions.get(ticket.sessionId);
    // The same session on another connection here: the newest connection wins.
    if (previous && previous !== session) o.takeOver(previous);
    session.id = ticket.sessionId;
    session.name = `player-${ticket.entityId}`;
    o.sessions.set(session.id, session);
    const nextJti = newTokenId();
    // Only the worker owning the entity answers; it accepts the token id once.
    for (let round = 0; round < RESUME_ROUNDS; round++) {
      const answer = await this.resumes.wait(session.id, RESUME_TIMEOUT_MS, () => {
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
      if (worker) o.transport.send(worker, { op: "detach", entity, session: session.id });
      return;
    }
    session.entity = entity;
    session.worker = worker;
    session.state = "live";
    const resumeToken = await o.tokens.issue(session.id, entity, o.config.tokenTtlMs, jti);
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
      aoiRadius: o.world.aoiRadius,
    });
    o.welcomed(session);
  }
}
