// A worker's HTTP API: /healthz, /metrics, and its own view for audits and the diagnostics page
// (/api/state: owned entities, ghosts, mirrors, counters, instances; /api/ownership and /api/interactions:
// its logs after a cursor; /api/entity: one entity, owned or ghost), and POST /api/faults (fault injection, operator token required).
import { CodedError } from "../errors.ts";
import { httpStatusOf, json, jsonError, methodNotAllowed, readiness } from "../net/http.ts";
import { applyFault, type FaultTarget, readFault } from "./worker_faults.ts";
import { checkParams, intParam } from "../net/query.ts";
import { type Entity, stateOf } from "../world/entity.ts";
import type { OperatorAuth } from "../net/operator_auth.ts";
import { metricsResponse } from "../observe/metrics.ts";
import type { PeerLinks } from "../sync/peer_links.ts";
import type { Space } from "./space.ts";
import { AuditOffError } from "./space_records.ts";

/** What the API reads, at the moment of each request. */
export interface WorkerView {
  space(): Space | undefined;
  links(): PeerLinks | undefined;
  /** Batches refused as malformed. */
  badBatches(): number;
  /** "starting" | "ok" | "fenced" (dropping its state to rejoin as a spare). */
  status(): string;
  /** What fault injection acts on, once registered. */
  faults(): FaultTarget | undefined;
  /** The instances (rooms) hosted or mirrored here, by id. */
  instances?(): ReadonlyMap<string, Space>;
}

/**
 * The worker's HTTP handler. /healthz and /readyz are always open; everything else is a
 * read-only view that `auth` opens on a loopback bind and guards with the operator token on any
 * other.
 */
export function workerRoutes(
  view: WorkerView,
  auth: OperatorAuth,
): (request: Request, url: URL) => Promise<Response> {
  return async (request, url) => {
    const space = view.space();
    if (url.pathname === "/healthz") {
      return json({ status: view.status(), role: "worker", id: space?.id ?? "" });
    }
    if (url.pathname === "/readyz") {
      return readiness("worker", space !== undefined && view.status() === "ok");
    }
    if (url.pathname === "/api/faults") return await faults(request, view, auth);
    const denied = auth.check(request, url, "read");
    if (denied) return denied;
    if (url.pathname === "/metrics") return await metricsResponse();
    if (!space) return jsonError(503, "UNAVAILABLE", "worker not registered yet");
    if (url.pathname === "/api/entity") return entity(url, space);
    const since = Number(url.searchParams.get("since") ?? 0);
    if (!Number.isSafeInteger(since) || since < 0) {
      return jsonError(
        400,
        "BAD_REQUEST",
        `since must be a non-negative integer, got ${url.searchParams.get("since")}`,
      );
    }
    const links = view.links();
    switch (url.pathname) {
      case "/api/state":
        return json({
          id: space.id,
          epoch: space.map.epoch,
          tick: space.tick,
          status: view.status(),
          backup: space.map.backupOf(space.id),
          owned: [...space.owned.values()].map((e) => [e.id, e.x, e.y, e.z, e.cell]),
          // Handed off and not yet confirmed: owned by the receiver, or by nobody in between.
          inFlight: space.inFlight(),
          // Owned entities that are players (they carry a session): drawn apart on the map.
          players: [...space.owned.values()].filter((e) => e.session).map((e) => e.id),
          ghosts: [...space.ghosts.ghosts.values()].map((e) => [e.id, e.x, e.y, e.z, e.owner]),
          mirrors: Object.fromEntries(
            [...space.mirrors.mirrors].map(([owner, m]) => [owner, {
              entities: m.entities.size,
              held: m.held.size,
              tick: m.tick,
            }]),
          ),
          pendingHandoffs: space.pendingHandoffs,
          pendingTransfers: space.pendingTransfers,
          counters: {
            ...space.counters,
            badBatches: view.badBatches(),
            linkDrops: links?.dropped ?? 0,
          },
          links: links?.connected() ?? [],
          // Instances hosted here (host: this worker), handed over, or mirrored for their host.
          instances: Object.fromEntries(
            [...view.instances?.() ?? []].map(([id, s]) => [id, {
              host: s.map.ownerOf(0),
              owned: [...s.owned.keys()],
              players: [...s.owned.values()].filter((e) => e.session).map((e) => e.id),
              mirrored: s.mirrors.size,
              pendingTransfers: s.pendingTransfers,
              migrations: s.migrations(),
            }]),
          ),
        });
      case "/api/ownership":
      case "/api/interactions":
        if (!space.audited) return jsonError(409, "CONFLICT", new AuditOffError().message);
        return json({
          tick: space.tick,
          events: url.pathname === "/api/ownership"
            ? space.ownershipSince(since)
            : space.interactionsSince(since),
        });
      default:
        return jsonError(404, "NOT_FOUND", `No such path: ${url.pathname}`);
    }
  };
}

async function faults(request: Request, view: WorkerView, auth: OperatorAuth): Promise<Response> {
  if (request.method !== "POST") {
    return methodNotAllowed(request.method, "/api/faults", ["POST"]);
  }
  const denied = auth.check(request, new URL(request.url), "write");
  if (denied) return denied;
  const target = view.faults();
  if (!target) return jsonError(503, "UNAVAILABLE", "worker not registered yet");
  try {
    return applyFault(await readFault(request), target);
  } catch (error) {
    if (error instanceof CodedError) {
      return jsonError(httpStatusOf(error.code), error.code, error.message);
    }
    throw error;
  }
}

/** GET /api/entity?id=N: what this worker holds of entity N, owned or as a ghost. */
function entity(url: URL, space: Space): Response {
  let id: number;
  try {
    checkParams(url, ["id", "token"]);
    id = intParam(url, "id", { min: 0, max: Number.MAX_SAFE_INTEGER, default: -1 });
    if (id < 0) throw new RangeError("id is required: the entity id");
  } catch (error) {
    return jsonError(400, "BAD_REQUEST", (error as Error).message);
  }
  const view = (e: Entity) => ({
    ...stateOf(e),
    cell: e.cell,
    owner: e.owner,
    player: e.session
      ? { name: e.session.name, gateway: e.session.gateway, detached: e.session.detachedAt > 0 }
      : undefined,
  });
  const owned = space.owned.get(id);
  const ghost = space.ghosts.ghosts.get(id);
  return json({
    worker: space.id,
    tick: space.tick,
    owned: owned ? view(owned) : null,
    ghost: ghost ? view(ghost) : null,
  });
}
