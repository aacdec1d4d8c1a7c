// The entity inspector's lookup (`/api/entity?id=N` on the coordinator): asks every live worker
// what it holds of one entity, in parallel with a short timeout, and says who owns it, who holds
// ghosts of it, and the owner's full record (position, velocity, data, player). A worker that
// does not answer is named with its error rather than failing the lookup.
import type { WorkerAddress } from "./worker_positions.ts";

/** How long each worker has to answer. */
export const ENTITY_LOOKUP_TIMEOUT_MS = 500;

/** What one worker holds of the entity (its GET /api/entity answer). */
interface WorkerEntity {
  worker: string;
  tick: number;
  owned: Record<string, unknown> | null;
  ghost: Record<string, unknown> | null;
}

/** The lookup's answer. */
export interface EntityLookup {
  id: number;
  /** The worker that owns it, or null when none reported it. */
  owner: string | null;
  /** The owner's record (the first owner's, should two claim it during a handoff). */
  entity: Record<string, unknown> | null;
  /** Workers holding a ghost of it, with the owner their ghost names. */
  ghosts: Array<{ worker: string; owner: unknown; x: unknown; y: unknown }>;
  /** Workers that did not answer. */
  errors: Array<{ worker: string; message: string }>;
}

/** Asks `workers` about entity `id`. */
export async function lookUpEntity(
  workers: readonly WorkerAddress[],
  id: number,
  fetch: (input: string, init?: RequestInit) => Promise<Response>,
): Promise<EntityLookup> {
  const answers = await Promise.all(workers.map(async (w) => {
    try {
      const response = await fetch(`http://${w.httpAddress}/api/entity?id=${id}`, {
        signal: AbortSignal.timeout(ENTITY_LOOKUP_TIMEOUT_MS),
      });
      const body = await response.json();
      if (!response.ok) throw new Error(body?.error?.message ?? `HTTP ${response.status}`);
      return { worker: w.id, body: body as WorkerEntity };
    } catch (error) {
      return { worker: w.id, error: (error as Error).message };
    }
  }));
  const result: EntityLookup = { id, owner: null, entity: null, ghosts: [], errors: [] };
  for (const a of answers) {
    if ("error" in a) {
      result.errors.push({ worker: a.worker, message: a.error ?? "" });
      continue;
    }
    const { owned, ghost } = a.body;
    if (owned && result.owner === null) [result.owner, result.entity] = [a.worker, owned];
    if (ghost) result.ghosts.push({ worker: a.worker, owner: ghost.owner, x: ghost.x, y: ghost.y });
  }
  return result;
}
