// The gateway's operator routes for its sessions: GET /api/gateway/sessions (search, capped) and
// POST /api/gateway/sessions/{id}/kick (ERROR KICKED, close 4009). Both need the operator token
// (reads open on a loopback bind); the coordinator's /api/sessions gathers them from every gateway.
import { ErrorCode } from "../errors.ts";
import { json, jsonError, methodNotAllowed } from "../net/http.ts";
import type { OperatorAuth } from "../net/operator_auth.ts";
import { checkParams, intParam } from "../net/query.ts";
import type { Logger } from "../observe/log.ts";
import { readJsonObject } from "../protocol/json_body.ts";
import type { Grid } from "../world/grid.ts";
import type { SessionHub } from "./hub.ts";
import { MAX_SESSION_ROWS, sessionRows } from "./session_list.ts";

/** Path of the session list. */
export const GATEWAY_SESSIONS_PATH = "/api/gateway/sessions";
const KICK = /^\/api\/gateway\/sessions\/([^/]+)\/kick$/;
/** Longest search text. */
export const MAX_QUERY_LENGTH = 64;

/** What the routes act on; undefined while the gateway is starting or closing. */
export interface SessionAdminOptions {
  hub(): SessionHub | undefined;
  grid(): Grid | undefined;
  auth: OperatorAuth;
  log: Logger;
}

/** The routes: a response for their paths, undefined for any other. */
export function sessionAdminRoutes(
  options: SessionAdminOptions,
): (request: Request, url: URL) => Promise<Response> | undefined {
  const list = (request: Request, url: URL): Response => {
    const denied = options.auth.check(request, url, "read");
    if (denied) return denied;
    try {
      checkParams(url, ["q", "limit", "token"]);
      const limit = intParam(url, "limit", { min: 1, max: MAX_SESSION_ROWS, default: 100 });
      const query = url.searchParams.get("q") ?? "";
      if (query.length > MAX_QUERY_LENGTH) {
        throw new RangeError(`q must be at most ${MAX_QUERY_LENGTH} characters`);
      }
      const hub = options.hub(), grid = options.grid();
      if (!hub || !grid) return jsonError(503, ErrorCode.UNAVAILABLE, "The gateway is not ready");
      return json(sessionRows(hub, grid, { query, limit }));
    } catch (error) {
      if (error instanceof RangeError) return jsonError(400, ErrorCode.BAD_REQUEST, error.message);
      throw error;
    }
  };

  const kick = async (request: Request, url: URL, id: string): Promise<Response> => {
    if (request.method !== "POST") {
      return methodNotAllowed(request.method, "/api/gateway/sessions/{id}/kick", ["POST"]);
    }
    const denied = options.auth.check(request, url, "write");
    if (denied) return denied;
    try {
      await readJsonObject(request, []);
    } catch (error) {
      const { code, message } = error as { code: string; message: string };
      return jsonError(code === ErrorCode.TOO_BIG ? 413 : 400, code, message);
    }
    const hub = options.hub();
    if (!hub) return jsonError(503, ErrorCode.UNAVAILABLE, "The gateway is not ready");
    if (!hub.kick(id)) return jsonError(404, ErrorCode.NOT_FOUND, `No such session: ${id}`);
    options.log.warn("session.kicked", { session: id });
    return json({ session: id, kicked: true }, 202);
  };

  return (request, url) => {
    if (url.pathname === GATEWAY_SESSIONS_PATH) {
      if (request.method !== "GET" && request.method !== "HEAD") {
        return Promise.resolve(
          methodNotAllowed(request.method, GATEWAY_SESSIONS_PATH, ["GET", "HEAD"]),
        );
      }
      return Promise.resolve(list(request, url));
    }
    const match = KICK.exec(url.pathname);
    if (match) return kick(request, url, decodeURIComponent(match[1]));
    return undefined;
  };
}
