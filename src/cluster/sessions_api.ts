// The coordinator's view of every gateway's sessions: GET /api/sessions gathers each registered
// gateway's GET /api/gateway/sessions (with the operator token, a short timeout, a gateway that
// fails named with its error), and POST /api/sessions/{id}/kick forwards a kick to the gateway
// holding the session. The sessions themselves live on the gateways (src/session/session_admin.ts).
import { CodedError, ErrorCode } from "../errors.ts";
import { httpStatusOf, json, jsonError, methodNotAllowed } from "../net/http.ts";
import { checkParams, intParam } from "../net/query.ts";
import { readJsonObject } from "../protocol/json_body.ts";
import { MAX_QUERY_LENGTH } from "../session/session_admin.ts";
import { MAX_SESSION_ROWS } from "../session/session_list.ts";
import type { GatewayDirectory } from "./gateway_directory.ts";

/** Path of the gathered list. */
export const SESSIONS_PATH = "/api/sessions";
/** Path of a kick; group 1 is the session id. */
export const KICK_PATH = /^\/api\/sessions\/([^/]+)\/kick$/;
/** How long a gateway has to answer. */
export const GATEWAY_TIMEOUT_MS = 2_000;

/** Options of {@linkcode sessionsRoutes}. */
export interface SessionsApiOptions {
  gateways: Pick<GatewayDirectory, "list">;
  operatorToken: string;
  fetch?: typeof fetch;
}

/** The routes: a response for their paths, undefined for any other. */
export function sessionsRoutes(
  options: SessionsApiOptions,
): (request: Request, url: URL) => Promise<Response> | undefined {
  const get = options.fetch ?? fetch;
  const headers = { authorization: `Bearer ${options.operatorToken}` };

  const list = async (url: URL): Promise<Response> => {
    checkParams(url, ["q", "limit", "token"]);
    const limit = intParam(url, "limit", { min: 1, max: MAX_SESSION_ROWS, default: 100 });
    const q = url.searchParams.get("q") ?? "";
    if (q.length > MAX_QUERY_LENGTH) {
      throw new RangeError(`q must be at most ${MAX_QUERY_LENGTH} characters`);
    }
    const query = new URLSearchParams({ q, limit: String(limit) });
    const answers = await Promise.all(
      options.gateways.list().map(async (g) => {
        try {
          const response = await get(`http://${g.httpAddress}/api/gateway/sessions?${query}`, {
            headers,
            signal: AbortSignal.timeout(GATEWAY_TIMEOUT_MS),
          });
          const body = await response.json();
          if (!response.ok) throw new Error(body?.error?.message ?? `HTTP ${response.status}`);
          return { id: g.id, total: Number(body.total), rows: body.sessions as object[] };
        } catch (error) {
          const message = `no answer from ${g.httpAddress}: ${(error as Error).message}`;
          return { id: g.id, total: 0, rows: [], error: { code: ErrorCode.UNAVAILABLE, message } };
        }
      }),
    );
    const sessions = answers.flatMap((a) => a.rows.map((row) => ({ ...row, gateway: a.id })))
      .slice(0, limit);
    return json({
      gateways: answers.map(({ rows: _, ...a }) => a),
      total: answers.reduce((n, a) => n + a.total, 0),
      sessions,
    });
  };

  const kick = async (request: Request, id: string): Promise<Response> => {
    if (request.method !== "POST") {
      return methodNotAllowed(request.method, "/api/sessions/{id}/kick", ["POST"]);
    }
    const body = await readJsonObject(request, ["gateway"]);
    if (typeof body.gateway !== "string" || body.gateway === "") {
      throw new CodedError(
        ErrorCode.BAD_REQUEST,
        `Cannot kick ${id}: "gateway" must be the id of the gateway holding the session`,
      );
    }
    const gateway = options.gateways.list().find((g) => g.id === body.gateway);
    if (!gateway) throw new CodedError(ErrorCode.NOT_FOUND, `No such gateway: ${body.gateway}`);
    const target = `http://${gateway.httpAddress}/api/gateway/sessions/` +
      `${encodeURIComponent(id)}/kick`;
    try {
      return await get(target, {
        method: "POST",
        headers,
        signal: AbortSignal.timeout(GATEWAY_TIMEOUT_MS),
      });
    } catch (error) {
      throw new CodedError(
        ErrorCode.UNAVAILABLE,
        `Cannot reach gateway ${gateway.id} at ${gateway.httpAddress}: ${(error as Error).message}`,
        { cause: error },
      );
    }
  };

  return (request, url) => {
    const match = KICK_PATH.exec(url.pathname);
    if (url.pathname !== SESSIONS_PATH && !match) return undefined;
    if (!match && request.method !== "GET" && request.method !== "HEAD") {
      return Promise.resolve(methodNotAllowed(request.method, SESSIONS_PATH, ["GET", "HEAD"]));
    }
    const answer = match ? kick(request, decodeURIComponent(match[1])) : list(url);
    return answer.catch((error) => {
      if (error instanceof RangeError) return jsonError(400, ErrorCode.BAD_REQUEST, error.message);
      if (error instanceof CodedError) {
        return jsonError(httpStatusOf(error.code), error.code, error.message);
      }
      throw error;
    });
  };
}
