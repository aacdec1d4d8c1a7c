// What the scripted stand-in gateways of the client tests send a bot (tests/client/): the
// /gateways and guest /login answers, and a session's WELCOME with its first (full) DIFF. The
// bots' reactions to a gateway that stalls, refuses or drops them at a chosen moment need a
// gateway scripted to do so; everything it sends is built here, on the real codec's types.
import { Op, type ServerMessage } from "../src/protocol/client_protocol.ts";

/** The entity of every scripted session. */
export const SCRIPTED_ENTITY = 42;

/** A `/gateways` row. */
export interface GatewayRow {
  id: string;
  url: string;
  version: string;
  sessions: number;
}

/** A `/gateways` row for `url`. */
export function gatewayRow(id: string, url: string): GatewayRow {
  return { id, url, version: "0.1.0", sessions: 0 };
}

/** The answer to `GET /gateways` or a guest `POST /login`, or undefined for other paths. */
export function gatewayHttp(url: URL, gateways: GatewayRow[]): Response | undefined {
  if (url.pathname === "/gateways") return Response.json({ gateways });
  if (url.pathname === "/login") {
    return Response.json({ token: "v1.guest.sig", expiresAt: Date.now() + 1e6, gateways });
  }
  return undefined;
}

/**
 * The WELCOME of connection number `connection` (its resume token names it) and the first full
 * DIFF at `tick`, showing the player's own entity at `at`.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * const [welcome, diff] = welcomeWithFirstDiff({ connection: 2, resumed: true, tick: 7, at: [1, 2] });
 * assert.equal(welcome.op === 5 && welcome.resumeToken, "r1.resume.2");
 * assert.deepEqual(diff.op === 6 && diff.enter, [[42, "player", 1, 2, 0]]);
 * ```
 */
export function welcomeWithFirstDiff(
  options: { connection: number; resumed: boolean; tick: number; at: [number, number] },
): [ServerMessage, ServerMessage] {
  return [
    {
      op: Op.WELCOME,
      protocol: 1,
      session: "s1",
      entity: SCRIPTED_ENTITY,
      resumeToken: `r1.resume.${options.connection}`,
      resumeGraceMs: 15000,
      resumed: options.resumed,
      world: { dims: 2, size: [400, 400], cellSize: 100 },
      tickHz: 20,
      snapshotHz: 20,
      aoiRadius: 50,
    },
    {
      op: Op.DIFF,
      tick: options.tick,
      ack: 0,
      full: true,
      enter: [[SCRIPTED_ENTITY, "player", ...options.at, 0]],
      update: [],
      leave: [],
    },
  ];
}
