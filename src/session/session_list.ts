// The gateway's sessions as operators see them (GET /api/gateway/sessions, gathered by the
// coordinator's /api/sessions): player, entity, worker, cell, time connected, the round trip the
// client reports in its PINGs, bytes sent in the last second. Filtered and capped here so a
// gateway with thousands of sessions answers a search with a small document.
import type { Grid } from "../world/grid.ts";
import type { SessionHub } from "./hub.ts";

/** One live session. */
export interface SessionRow {
  id: string;
  name: string;
  entity: number;
  worker: string;
  cell: number;
  connectedMs: number;
  /** The client's reported round trip, ms; null when it reports none. */
  rttMs: number | null;
  bytesPerS: number;
}

/** Most sessions one answer lists. */
export const MAX_SESSION_ROWS = 500;

/** What {@linkcode sessionRows} answers: the rows, and how many sessions matched in all. */
export interface SessionList {
  total: number;
  sessions: SessionRow[];
}

/**
 * Live sessions whose name, session id, worker or entity id contains `query` (case-insensitive;
 * "" matches all), the longest connected first, at most `limit`.
 */
export function sessionRows(
  hub: Pick<SessionHub, "sessions" | "now">,
  grid: Grid,
  options: { query: string; limit: number },
): SessionList {
  const now = hub.now();
  const q = options.query.toLowerCase();
  const rows: SessionRow[] = [];
  for (const s of hub.sessions.values()) {
    if (s.state !== "live") continue;
    if (
      q && !s.name.toLowerCase().includes(q) && !s.id.toLowerCase().includes(q) &&
      !s.worker.toLowerCase().includes(q) && String(s.entity) !== q
    ) continue;
    rows.push({
      id: s.id,
      name: s.name,
      entity: s.entity,
      worker: s.worker,
      cell: grid.contains(s.position.x, s.position.y, s.position.z)
        ? grid.cellOf(s.position.x, s.position.y, s.position.z)
        : -1,
      connectedMs: now - s.connectedAt,
      rttMs: s.rttMs ?? null,
      bytesPerS: s.bytesPerSecond(now),
    });
  }
  rows.sort((a, b) => b.connectedMs - a.connectedMs || (a.id < b.id ? -1 : 1));
  return { total: rows.length, sessions: rows.slice(0, options.limit) };
}
