// Failover and backups: a dead worker's cells go to live ones (planFailover) and its instances
// to the backup that mirrored them, in one epoch; the backups and down workers each map carries
// follow from the workers' states, and a change of them moves the published map to a new epoch.
import { assignBackups, type FaultToleranceMode, planFailover } from "./failover_plan.ts";
import type { RegistryParts } from "./registry_parts.ts";

/** The registry's failover and the backup roles of its maps. */
export class Failover {
  #registry: RegistryParts;

  constructor(registry: RegistryParts) {
    this.#registry = registry;
  }

  /**
   * The dead workers' cells go to live ones (planFailover) and their instances to their
   * backups (which promote their mirrors of them), in one epoch with new backups.
   */
  failover(dead: string[]): void {
    const r = this.#registry;
    const gone = new Set(dead);
    this.#failInstances(gone);
    for (const m of [...r.migrations.values()]) {
      // A migration from or to a dead worker is settled by the failover itself.
      if (gone.has(m.from) || gone.has(m.to)) r.migrations.delete(m.cell);
    }
    if (r.map.epoch === 0) return r.publish();
    const plan = planFailover({
      owners: r.map.owners,
      dead,
      workers: [...r.workers.values()],
      backups: r.map.backups,
      mode: this.#mode(),
    });
    const now = r.now();
    for (const t of plan.takeovers) {
      const taker = r.workers.get(t.taker)!;
      if (taker.state === "spare") {
        taker.state = "active";
        r.event("pool.claimed", { worker: taker.id, reason: "failover" });
      }
      taker.lastMigrationAt = now;
    }
    r.map = r.map.next(plan.owners, this.roles());
    for (const t of plan.takeovers) {
      r.workers.get(t.taker)!.promotingEpoch = r.map.epoch;
      r.event("cells.reassigned", {
        from: t.dead,
        to: t.taker,
        cells: t.cells.length,
        adoption: t.adoption,
        epoch: r.map.epoch,
      });
    }
    this.announceBackups();
    r.options.onMap?.(r.map);
  }

  /**
   * Each instance of a dead worker goes to the backup that mirrored it, when that one is alive
   * and active; otherwise it is lost (no mirror of it survives).
   */
  #failInstances(dead: ReadonlySet<string>): void {
    const r = this.#registry;
    const hosts = r.options.instances;
    if (!hosts) return;
    for (const id of dead) {
      const instances = hosts.on(id);
      if (instances.length === 0) continue;
      const heir = this.#mode() === "replica" ? r.map.backupOf(id) : "";
      if (!heir || dead.has(heir) || r.workers.get(heir)?.state !== "active") {
        hosts.lost(id);
        continue;
      }
      for (const instance of instances) hosts.relocate(instance, heir, "failover");
      r.event("instances.reassigned", {
        from: id,
        to: heir,
        instances: instances.length,
        epoch: r.map.epoch + 1,
      });
    }
  }

  #mode(): FaultToleranceMode {
    const r = this.#registry;
    return r.options.faultTolerance ?? "replica";
  }

  /** Backups and down workers as they follow from the workers' states now. */
  roles(): { backups: Map<string, string>; down: Set<string> } {
    const r = this.#registry;
    const workers = [...r.workers.values()];
    const backups = this.#mode() === "replica"
      ? assignBackups(workers, r.map.backups)
      : new Map<string, string>();
    const down = new Set(
      workers.filter((w) => w.state === "down" || w.state === "fenced").map((w) => w.id),
    );
    return { backups, down };
  }

  #announced = new Map<string, string>();
  /** Logs a backup.assigned event for each owner whose backup changed since the last call. */
  announceBackups(): void {
    const r = this.#registry;
    for (const [owner, backup] of r.map.backups) {
      if (this.#announced.get(owner) === backup) continue;
      r.event("backup.assigned", { owner, backup, epoch: r.map.epoch });
    }
    this.#announced = new Map(r.map.backups);
  }

  /**
   * Publishes the map; when backups or down workers changed (a worker joined, left, died,
   * rejoined), first moves it to a new epoch carrying them: workers act on roles by epoch.
   */
  publish(): void {
    const r = this.#registry;
    if (r.map.epoch > 0) {
      const roles = this.roles();
      if (!sameRoles(r.map.backups, roles.backups) || !sameSet(r.map.down, roles.down)) {
        r.map = r.map.next(r.map.owners, roles);
        this.announceBackups();
      }
    }
    r.options.onMap?.(r.map);
  }
}

function sameRoles(a: ReadonlyMap<string, string>, b: ReadonlyMap<string, string>): boolean {
  if (a.size !== b.size) return false;
  for (const [k, v] of a) if (b.get(k) !== v) return false;
  return true;
}

function sameSet(a: ReadonlySet<string>, b: ReadonlySet<string>): boolean {
  return a.size === b.size && [...a].every((x) => b.has(x));
}
