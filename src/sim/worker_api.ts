// A worker's HTTP API: /healthz, /metrics, and its own view for audits and the diagnostics page
// (/api/state: owned entities, ghosts, mirrors, counters; /api/ownership and /api/interactions:
// its logs after a cursor).
import { json, jsonError } from "../net/http.ts";
import { metricsResponse } from "../observe/metrics.ts";
import type { PeerLinks } from "../sync/peer_links.ts";
import type { Space } from "./space.ts";

/** What the API reads, at the moment of each request. */
export interface WorkerView {
  space(): Space | undefined;
  links(): PeerLinks | undefined;
  /** Batches refused as malformed. */
  badBatches(): number;
  /** "starting" | "ok" | "fenced" (dropping its state to rejoin as a spare). */
  status(): string;
}

/** The worker's HTTP handler. */
export function workerRoutes(view: WorkerView): (request: Request, url: URL) => Promise<Response> {
  return async (_request, url) => {
    if (url.pathname === "/metrics") return await metricsResponse();
    const space = view.space();
    if (url.pathname === "/healthz") {
      return json({ status: view.status(), role: "worker", id: space?.id ?? "" });
    }
    if (!space) return jsonError(503, "UNAVAILABLE", "worker not registered yet");
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
        });
      case "/api/ownership":
        return json({ tick: space.tick, events: space.ownershipSince(since) });
      case "/api/interactions":
        return json({ tick: space.tick, events: space.interactionsSince(since) });
      default:
        return jsonError(404, "NOT_FOUND", `No such path: ${url.pathname}`);
    }
  };
}
