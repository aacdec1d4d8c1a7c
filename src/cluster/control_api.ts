// The coordinator's control API over HTTP: move a cell or an instance, drain a worker, inject a fault
// (src/cluster/fault_api.ts), tune autoscaling, list migrations in flight. Bodies are small JSON objects, validated strictly. Which requests need
// the operator token is decided here too (coordinatorAccess); src/net/operator_auth.ts checks it.
import type { Balancer } from "./balance_policy.ts";
import { CodedError, ErrorCode } from "../errors.ts";
import { type HttpHandler, httpStatusOf, json, jsonError, methodNotAllowed } from "../net/http.ts";
import type { Logger } from "../observe/log.ts";
import type { Registry } from "./registry.ts";
import { readJsonObject } from "../protocol/json_body.ts";
import type { Access } from "../net/operator_auth.ts";
import { FAULTS_PATH, handleFault } from "./fault_api.ts";
import { KICK_PATH, SESSIONS_PATH } from "./sessions_api.ts";
import type { Deploys } from "./deploys.ts";
import { deployRoute, isDeployPath } from "./deploy_api.ts";

const MOVE = /^\/api\/cells\/([^/]+)\/move$/;
const DRAIN = /^\/api\/workers\/([^/]+)\/drain$/;
const MOVE_INSTANCE = /^\/api\/instances\/([^/]+)\/move$/;
/** Longest instance id a move names (the directory's ids are far shorter). */
const MAX_INSTANCE_ID = 64;

/** An HTTP response for an error: its stable code and a status that fits it. */
export function errorResponse(error: unknown): Response {
  if (error instanceof CodedError) {
    return jsonError(httpStatusOf(error.code), error.code, error.message);
  }
  throw error;
}

/** Routes of the control API; undefined for paths it does not own. */
export function controlRoutes(
  deps: {
    registry: Registry;
    balancer: Balancer;
    deploys: Deploys;
    log: Logger;
    operatorToken?: string;
  },
): (request: Request, url: URL) => Promise<Response> | undefined {
  const { registry, balancer, deploys, log } = deps;
  const handle = async (request: Request, url: URL): Promise<Response> => {
    const fault = FAULTS_PATH.exec(url.pathname);
    if (fault) {
      return await handleFault(request, decodeURIComponent(fault[1]), {
        registry,
        log,
        operatorToken: deps.operatorToken ?? "",
      });
    }
    const move = MOVE.exec(url.pathname);
    const drain = DRAIN.exec(url.pathname);
    const moveInstance = MOVE_INSTANCE.exec(url.pathname);
    if (url.pathname === "/api/migrations") {
      return json({ epoch: registry.map.epoch, migrations: [...registry.migrations.values()] });
    }
    if (request.method !== "POST") {
      return methodNotAllowed(request.method, url.pathname, ["POST"]);
    }
    if (move) {
      const body = await readJsonObject(request, ["to"]);
      const cell = Number(move[1]);
      if (!/^\d+$/.test(move[1]) || !Number.isSafeInteger(cell)) {
        throw new CodedError(
          ErrorCode.BAD_REQUEST,
          `Cannot move cell ${JSON.stringify(move[1])}: not a cell id`,
        );
      }
      if (typeof body.to !== "string" || body.to === "") {
        throw new CodedError(
          ErrorCode.BAD_REQUEST,
          `Cannot move cell ${cell}: "to" must be a worker id`,
        );
      }
      const from = registry.map.ownerOf(cell);
      const map = registry.moveCells([{ cell, from, to: body.to }], "api");
      log.info("api.move", { cell, from, to: body.to, epoch: map.epoch });
      return json({ cell, from, to: body.to, epoch: map.epoch }, 202);
    }
    if (moveInstance) {
      const body = await readJsonObject(request, ["worker"]);
      const id = decodeURIComponent(moveInstance[1]);
      if (id.length > MAX_INSTANCE_ID) {
        throw new CodedError(
          ErrorCode.BAD_REQUEST,
          `Cannot move instance: its id is ${id.length} characters, more than ${MAX_INSTANCE_ID}`,
        );
      }
      if (typeof body.worker !== "string" || body.worker === "") {
        throw new CodedError(
          ErrorCode.BAD_REQUEST,
          `Cannot move instance ${id}: "worker" must be a worker id`,
        );
      }
      const moved = registry.moveInstance(id, body.worker, "api");
      log.info("api.move_instance", { instance: id, ...moved });
      return json({ instance: id, ...moved }, 202);
    }
    if (drain) {
      await readJsonObject(request, []);
      const moves = registry.drain(decodeURIComponent(drain[1]));
      return json({ worker: drain[1], cells: moves.length, epoch: registry.map.epoch }, 202);
    }
    if (url.pathname === "/api/autoscale") {
      const body = await readJsonObject(request, ["highWater", "lowWater"]);
      const next = { ...balancer.autoscale };
      for (const key of ["highWater", "lowWater"] as const) {
        if (body[key] === undefined) continue;
        const value = body[key];
        if (typeof value !== "number" || !Number.isFinite(value) || value < 0) {
          throw new CodedError(
            ErrorCode.BAD_REQUEST,
            `Cannot set ${key}: expected a number >= 0, got ${JSON.stringify(value)}`,
          );
        }
        next[key] = value;
      }
      if (next.highWater > 0 && next.lowWater >= next.highWater) {
        throw new CodedError(
          ErrorCode.BAD_REQUEST,
          `Cannot set autoscale: lowWater (${next.lowWater}) must be < highWater (${next.highWater})`,
        );
      }
      balancer.autoscale = next;
      registry.event("autoscale.changed", { highWater: next.highWater, lowWater: next.lowWater });
      return json(next);
    }
    return jsonError(404, ErrorCode.NOT_FOUND, `No such path: ${url.pathname}`);
  };
  return (request, url) => {
    if (isDeployPath(url.pathname)) {
      return deployRoute(deploys, log, request, url).catch(errorResponse);
    }
    const owned = url.pathname === "/api/autoscale" || url.pathname === "/api/migrations" ||
      MOVE.test(url.pathname) || DRAIN.test(url.pathname) || FAULTS_PATH.test(url.pathname) ||
      MOVE_INSTANCE.test(url.pathname);
    if (!owned) return undefined;
    return handle(request, url).catch(errorResponse);
  };
}

/** Paths of the operator's API on the coordinator (control and diagnostics, not the page). */
export function isOperatorPath(pathname: string): boolean {
  return pathname === "/api/autoscale" || pathname === "/api/migrations" ||
    pathname === "/api/state" || pathname === "/api/instances" || pathname === "/metrics" ||
    pathname.startsWith("/api/logs") || pathname === "/api/events" ||
    pathname === "/api/entities" || pathname === "/api/history" || pathname === "/api/entity" ||
    MOVE.test(pathname) || DRAIN.test(pathname) || FAULTS_PATH.test(pathname) ||
    MOVE_INSTANCE.test(pathname) || pathname === SESSIONS_PATH || KICK_PATH.test(pathname) ||
    isDeployPath(pathname);
}

/**
 * What a request to the coordinator's HTTP server needs: "open" for health, readiness and the
 * page's static files, "write" for the control API's mutations, "read" for the other views.
 * Paths of another role served on the same port (role all: the gateway's) are "open" here;
 * that role guards its own.
 */
export function coordinatorAccess(request: Request, url: URL): Access | "open" {
  const path = url.pathname;
  if (
    MOVE.test(path) || DRAIN.test(path) || FAULTS_PATH.test(path) || KICK_PATH.test(path) ||
    MOVE_INSTANCE.test(path) || path === "/api/autoscale" || isDeployPath(path)
  ) {
    return request.method === "GET" || request.method === "HEAD" ? "read" : "write";
  }
  return isOperatorPath(path) ? "read" : "open";
}

/** The main port's handler when an admin port serves the operator's API: 404 for its paths. */
export function publicOnly(handler: HttpHandler): HttpHandler {
  return (request, url, context) =>
    isOperatorPath(url.pathname)
      ? jsonError(404, ErrorCode.NOT_FOUND, `No such path: ${url.pathname} (see the admin port)`)
      : handler(request, url, context);
}
