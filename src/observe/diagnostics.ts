// The coordinator's diagnostics API behind the page in static/: Prometheus `/metrics`, recent
// log records (`/api/logs`), the live cluster event stream (`/api/events`, server-sent events),
// entity positions gathered from the workers (`/api/entities`), one entity as the workers hold
// it (`/api/entity`) and the recent history of the cluster's numbers (`/api/history`).
import { ErrorCode } from "../errors.ts";
import { type HttpContext, jsonError, jsonText, methodNotAllowed } from "../net/http.ts";
import { formatRecord, type Level, type Logger } from "./log.ts";
import { metricsResponse } from "./metrics.ts";
import { checkParams, choiceParam, intParam } from "../net/query.ts";
import { type History, HISTORY_SAMPLES } from "./history.ts";
import { lookUpEntity } from "./entity_lookup.ts";
import { type EventStreams, parseEventId, type SseEvent } from "./sse.ts";
import {
  MAX_POSITIONS_PER_WORKER,
  type WorkerAddress,
  WorkerPositionsReader,
} from "./worker_positions.ts";

/** A cluster event as the registry keeps it. */
export interface ClusterEventLike {
  seq: number;
  [field: string]: unknown;
}

/** What the diagnostics read from the coordinator's registry (a `Registry` fits). */
export interface RegistryView {
  workers: ReadonlyMap<string, WorkerAddress & { state: string }>;
  eventsSince(since: number): ClusterEventLike[];
}

/** Options of {@linkcode diagnosticsRoutes}. */
export interface DiagnosticsOptions {
  registry: RegistryView;
  /** The logger whose ring `/api/logs` serves. */
  log: Logger;
  /** The hub the registry's events are published to (see {@linkcode clusterEvent}). */
  events: EventStreams;
  /** Reads worker positions; by default from the registry's live workers. */
  positions?: WorkerPositionsReader;
  /** Sent to the workers, whose views need it when they are bound off loopback. */
  operatorToken?: string;
  /** The samples `/api/history` serves (404 without). */
  history?: History;
}

/** Routes handled here; anything else is left to the caller. */
export const DIAGNOSTICS_PATHS = [
  "/metrics",
  "/api/logs",
  "/api/events",
  "/api/entities",
  "/api/history",
  "/api/entity",
] as const;

const LEVELS: readonly Level[] = ["debug", "info", "warn", "error"];
const RANK: Record<Level, number> = { debug: 0, info: 1, warn: 2, error: 3 };
/** Log records one `/api/logs` answer holds at most. */
export const MAX_LOG_RECORDS = 1_000;
/** Seconds of history one `/api/history` answer covers unless `seconds` says otherwise. */
export const DEFAULT_HISTORY_SECONDS = 300;
/** Entity positions per worker of `/api/entities` unless `max` says otherwise. */
export const DEFAULT_POSITIONS_PER_WORKER = 2_000;

/** A cluster event as a server-sent event; its `seq` is the event id. */
export function clusterEvent(event: ClusterEventLike): SseEvent {
  return { id: event.seq, data: event };
}

/** The route handler: a Response for the paths above, undefined for the others. */
export type DiagnosticsRoute = (
  request: Request,
  url: URL,
  context: HttpContext,
) => Promise<Response> | undefined;

/** Builds the coordinator's diagnostics routes. */
export function diagnosticsRoutes(options: DiagnosticsOptions): DiagnosticsRoute {
  const { registry, log, events } = options;
  const token = options.operatorToken ?? "";
  const liveWorkers = () =>
    [...registry.workers.values()].filter((w) => w.state !== "down" && w.httpAddress !== "");
  const authorized = (input: string | URL | Request, init?: RequestInit) =>
    fetch(input, token ? { ...init, headers: { authorization: `Bearer ${token}` } } : init);
  const positions = options.positions ??
    new WorkerPositionsReader({ workers: liveWorkers, fetch: authorized });

  const logs = (url: URL): Response => {
    checkParams(url, ["since", "limit", "level"]);
    const since = intParam(url, "since", { min: 0, max: Number.MAX_SAFE_INTEGER, default: 0 });
    const limit = intParam(url, "limit", { min: 1, max: MAX_LOG_RECORDS, default: 200 });
    const level = choiceParam(url, "level", { choices: LEVELS, default: "debug" });
    const records = log.since(since).filter((r) => RANK[r.record.level] >= RANK[level]);
    // The records are serialized the way they were logged (errors as name/message/code).
    const body = records.slice(-limit)
      .map((r) => `{"seq":${r.seq},"record":${formatRecord(r.record)}}`)
      .join(",");
    return jsonText(`{"latest":${log.lastSeq},"records":[${body}]}`);
  };

  const stream = (request: Request, url: URL, context: HttpContext): Response => {
    checkParams(url, ["since"]);
    const header = request.headers.get("last-event-id");
    const since = header !== null
      ? parseEventId(header.trim(), "Last-Event-ID")
      : parseEventId(url.searchParams.get("since"), "since");
    if (!events.hasRoom) {
      return jsonError(503, ErrorCode.UNAVAILABLE, "Too many open event streams; retry later");
    }
    let backlog = registry.eventsSince(since);
    const latest = registry.eventsSince(0).at(-1)?.seq ?? 0;
    // An id beyond the last event comes from before a coordinator restart: send everything.
    if (since > latest) backlog = registry.eventsSince(0);
    const sse = backlog.map(clusterEvent);
    const first = backlog[0]?.seq;
    if (since > 0 && since <= latest && first !== undefined && first > since + 1) {
      // The ring no longer holds some events the client missed; say which.
      sse.unshift({ id: first - 1, event: "gap", data: { from: since + 1, to: first - 1 } });
    }
    const body = events.open({ backlog: sse, signal: context.closing });
    return new Response(body, {
      headers: {
        "content-type": "text/event-stream; charset=utf-8",
        "cache-control": "no-store",
        "x-accel-buffering": "no",
      },
    });
  };

  const entities = async (url: URL): Promise<Response> => {
    checkParams(url, ["max"]);
    const max = intParam(url, "max", {
      min: 1,
      max: MAX_POSITIONS_PER_WORKER,
      default: DEFAULT_POSITIONS_PER_WORKER,
    });
    const workers = await positions.read(max);
    return jsonText(JSON.stringify({ time: Date.now(), max, workers }));
  };

  const entity = async (url: URL): Promise<Response> => {
    checkParams(url, ["id", "token"]);
    const id = intParam(url, "id", { min: 0, max: Number.MAX_SAFE_INTEGER, default: -1 });
    if (id < 0) throw new RangeError("id is required: the entity id");
    const found = await lookUpEntity(liveWorkers(), id, authorized);
    if (found.owner === null && found.ghosts.length === 0 && found.errors.length === 0) {
      return jsonError(404, ErrorCode.NOT_FOUND, `No worker holds entity ${id}`);
    }
    return jsonText(JSON.stringify(found));
  };

  const history = (url: URL): Response => {
    checkParams(url, ["seconds"]);
    const seconds = intParam(url, "seconds", {
      min: 1,
      max: HISTORY_SAMPLES,
      default: DEFAULT_HISTORY_SECONDS,
    });
    if (!options.history) {
      return jsonError(404, ErrorCode.NOT_FOUND, "No history is kept on this node");
    }
    return jsonText(JSON.stringify(options.history.window(seconds)));
  };

  return (request, url, context) => {
    if (!(DIAGNOSTICS_PATHS as readonly string[]).includes(url.pathname)) return undefined;
    if (request.method !== "GET" && request.method !== "HEAD") {
      return Promise.resolve(methodNotAllowed(request.method, url.pathname, ["GET", "HEAD"]));
    }
    try {
      switch (url.pathname) {
        case "/metrics":
          return metricsResponse();
        case "/api/logs":
          return Promise.resolve(logs(url));
        case "/api/events":
          return Promise.resolve(stream(request, url, context));
        case "/api/history":
          return Promise.resolve(history(url));
        case "/api/entity":
          return entity(url).catch(badRequest);
        default:
          return entities(url).catch(badRequest);
      }
    } catch (error) {
      return badRequest(error);
    }
  };
}

function badRequest(error: unknown): Promise<Response> {
  if (error instanceof RangeError) {
    return Promise.resolve(jsonError(400, ErrorCode.BAD_REQUEST, error.message));
  }
  return Promise.reject(error);
}
