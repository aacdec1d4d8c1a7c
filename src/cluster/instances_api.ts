// The coordinator's /api/instances: one page of the live instances (private ones too) for
// operators and the diagnostics page, with their mode, seats, worker, region, owner and age, filtered by
// the directory's indexed fields. Parameters are checked strictly: a bad one is 400 BAD_REQUEST.
import { CodedError, ErrorCode } from "../errors.ts";
import { json, jsonError } from "../net/http.ts";
import { checkParams, choiceParam, intParam } from "../net/query.ts";
import { type InstanceDirectory, type InstanceQuery, MAX_PAGE } from "./instance_directory.ts";

/** Instances of one `/api/instances` page unless `limit` says otherwise. */
export const DEFAULT_INSTANCES_PAGE = 50;

const PARAMS = [
  "mode",
  "worker",
  "version",
  "region",
  "tags",
  "open",
  "private",
  "after",
  "limit",
];
const BOOLEANS = ["true", "false"] as const;
/** Longest value of a text parameter (the longest mode, version, worker or cursor). */
const MAX_TEXT = 64;

/** The `/api/instances` answer for `url` (GET). */
export function instancesResponse(
  directory: InstanceDirectory,
  url: URL,
  now: number = Date.now(),
): Response {
  let query: InstanceQuery;
  try {
    query = instancesQuery(url);
  } catch (error) {
    if (error instanceof RangeError) return jsonError(400, ErrorCode.BAD_REQUEST, error.message);
    throw error;
  }
  let page;
  try {
    page = directory.search(query, "all");
  } catch (error) {
    // A cursor that is no instance id.
    if (error instanceof CodedError) return jsonError(400, error.code, error.message);
    throw error;
  }
  return json({
    total: directory.size,
    users: directory.users,
    instances: page.instances.map((r) => ({
      id: r.id,
      mode: r.mode,
      players: r.players.size,
      maxPlayers: r.maxPlayers,
      users: [...r.players],
      worker: r.worker,
      region: r.region,
      moves: r.moves,
      owner: r.owner,
      private: r.private,
      tags: r.tags,
      version: r.version,
      createdAt: r.createdAt,
      ageMs: Math.max(0, now - r.createdAt),
      emptyMs: r.players.size === 0 ? Math.max(0, now - r.emptySince) : 0,
    })),
    ...(page.next ? { next: page.next } : {}),
  });
}

/** The query of an `/api/instances` URL; RangeError naming the parameter when one is bad. */
export function instancesQuery(url: URL): InstanceQuery {
  checkParams(url, PARAMS);
  const q: InstanceQuery = {
    limit: intParam(url, "limit", { min: 1, max: MAX_PAGE, default: DEFAULT_INSTANCES_PAGE }),
  };
  for (const name of ["mode", "worker", "version", "region", "after"] as const) {
    const value = url.searchParams.get(name);
    if (value === null) continue;
    if (value === "" || value.length > MAX_TEXT) {
      throw new RangeError(`${name} must be 1 to ${MAX_TEXT} characters, got ${value.length}`);
    }
    q[name] = value;
  }
  const tags = url.searchParams.get("tags");
  if (tags !== null) {
    const list = tags.split(",");
    if (list.length > 8 || list.some((t) => t === "" || t.length > 32)) {
      throw new RangeError("tags must be 1 to 8 comma-separated tags of 1 to 32 characters");
    }
    q.tags = list;
  }
  for (const name of ["open", "private"] as const) {
    if (url.searchParams.has(name)) {
      q[name] = choiceParam(url, name, { choices: BOOLEANS, default: "true" }) === "true";
    }
  }
  return q;
}
