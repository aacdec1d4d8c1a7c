// Who mirrors whom and who takes a dead worker's cells: the pure decisions of fault tolerance,
// made by the coordinator's registry and tested without sockets.

/** How the cluster survives a worker's death (config `faultTolerance.mode`). */
export type FaultToleranceMode = "replica" | "pool" | "none";

/** The little the plans need to know of a worker. */
export interface WorkerStanding {
  id: string;
  /** Registry state: active, spare, draining, releasing, drained, down, fenced. */
  state: string;
}

/** How the taker of a dead worker's cells gets their entities back. */
export type Adoption =
  /** The taker is the dead worker's backup: it promotes its mirror at its next tick. */
  | "mirror"
  /** The backup sends its mirror to the taker (a spare) as cell transfers. */
  | "transfer"
  /** No replica survives: the taker respawns the world-start entities (the rest is lost). */
  | "respawn";

/** The result of {@linkcode planFailover}. */
export interface FailoverPlan {
  owners: string[];
  /** One entry per dead worker that owned cells. */
  takeovers: Array<{ dead: string; taker: string; cells: number[]; adoption: Adoption }>;
}

const LIVE = new Set(["active", "spare", "draining", "releasing"]);

/** True for a worker that is alive and may own or mirror cells. */
export function isLive(worker: WorkerStanding): boolean {
  return LIVE.has(worker.state);
}

/**
 * Backup of every active worker in replica mode: another live worker, active ones (spares
 * too when fewer than two workers are active). A still valid previous backup is kept, so a
 * change elsewhere does not restart every mirror; otherwise the least burdened candidate wins,
 * ties broken by ring order after the owner, so no worker mirrors more than one owner above an
 * even share.
 *
 * @example
 * ```ts
 * import { assignBackups } from "./failover_plan.ts";
 * const backups = assignBackups(
 *   [{ id: "a", state: "active" }, { id: "b", state: "active" }],
 *   new Map(),
 * );
 * if (backups.get("a") !== "b" || backups.get("b") !== "a") throw new Error("ring expected");
 * ```
 */
export function assignBackups(
  workers: readonly WorkerStanding[],
  previous: ReadonlyMap<string, string>,
): Map<string, string> {
  const ordered = [...workers].sort((a, b) => a.id < b.id ? -1 : a.id > b.id ? 1 : 0);
  const owners = ordered.filter((w) =>
    w.state === "active" || w.state === "draining" ||
    w.state === "releasing"
  );
  const active = ordered.filter((w) => w.state === "active").map((w) => w.id);
  const spares = ordered.filter((w) => w.state === "spare").map((w) => w.id);
  const backups = new Map<string, string>();
  if (owners.length === 0) return backups;
  const burden = new Map<string, number>();
  // Active workers mirror each other; spares help only when fewer than two are active.
  const backers = active.length >= 2 ? active : [...active, ...spares].sort();
  const candidatesFor = (owner: string) => backers.filter((id) => id !== owner);
  const fair = Math.ceil(owners.length / Math.max(1, backers.length));
  // Keep what still holds first, so kept pairs count toward the burden of the others.
  for (const owner of owners) {
    const kept = previous.get(owner.id);
    if (!kept || !candidatesFor(owner.id).includes(kept)) continue;
    if ((burden.get(kept) ?? 0) >= fair) continue;
    backups.set(owner.id, kept);
    burden.set(kept, (burden.get(kept) ?? 0) + 1);
  }
  for (const owner of owners) {
    if (backups.has(owner.id)) continue;
    const candidates = candidatesFor(owner.id);
    if (candidates.length === 0) continue;
    // Ring order after the owner, then the least burdened of them.
    const at = candidates.findIndex((id) => id > owner.id);
    const ring = at < 0 ? candidates : [...candidates.slice(at), ...candidates.slice(0, at)];
    let best = ring[0];
    for (const id of ring) if ((burden.get(id) ?? 0) < (burden.get(best) ?? 0)) best = id;
    backups.set(owner.id, best);
    burden.set(best, (burden.get(best) ?? 0) + 1);
  }
  return backups;
}

/**
 * Gives every cell of the dead workers to one live worker each, in one map change:
 * - `replica`: a warm spare when one exists (the backup transfers its mirror to it), else the
 *   dead worker's backup (it promotes its mirror);
 * - `pool`: a warm spare;
 * - otherwise, and when the preferred taker is gone too: the live active worker owning the
 *   fewest cells, which respawns the world-start entities of those cells.
 * Cells nobody can take stay unassigned ("").
 */
export function planFailover(
  input: {
    owners: readonly string[];
    dead: readonly string[];
    workers: readonly WorkerStanding[];
    backups: ReadonlyMap<string, string>;
    mode: FaultToleranceMode;
  },
): FailoverPlan {
  const owners = [...input.owners];
  const dead = new Set(input.dead);
  const standing = new Map(input.workers.map((w) => [w.id, w.state]));
  const alive = (id: string | undefined): id is string =>
    id !== undefined && !dead.has(id) && LIVE.has(standing.get(id) ?? "");
  const spares = input.workers
    .filter((w) => w.state === "spare" && !dead.has(w.id))
    .map((w) => w.id)
    .sort();
  const takeovers: FailoverPlan["takeovers"] = [];
  for (const id of [...dead].sort()) {
    const cells: number[] = [];
    for (let c = 0; c < owners.length; c++) if (owners[c] === id) cells.push(c);
    if (cells.length === 0) continue;
    const backup = input.mode === "replica" ? input.backups.get(id) : undefined;
    const backupAlive = alive(backup);
    let taker: string | undefined;
    let adoption: Adoption = "respawn";
    if (input.mode !== "none" && spares.length > 0) {
      taker = spares.shift()!;
      standing.set(taker, "active");
      adoption = backupAlive ? "transfer" : "respawn";
    } else if (backupAlive && standing.get(backup) === "active") {
      taker = backup;
      adoption = "mirror";
    } else {
      taker = fewestCells(
        owners,
        input.workers.filter((w) =>
          alive(w.id) &&
          standing.get(w.id) === "active"
        ).map((w) => w.id),
      );
      adoption = backupAlive && taker === backup ? "mirror" : backupAlive ? "transfer" : "respawn";
    }
    for (const c of cells) owners[c] = taker ?? "";
    if (taker) takeovers.push({ dead: id, taker, cells, adoption });
  }
  return { owners, takeovers };
}

function fewestCells(owners: readonly string[], candidates: readonly string[]): string | undefined {
  let best: string | undefined;
  let bestCount = Infinity;
  for (const id of [...candidates].sort()) {
    const count = owners.reduce((n, o) => n + (o === id ? 1 : 0), 0);
    if (count < bestCount) (best = id, bestCount = count);
  }
  return best;
}
