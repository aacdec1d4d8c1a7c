// Cell migrations the coordinator orders: moves of cells between workers in one new map epoch,
// drains (every cell and instance of a worker away, to exit or to return to the pool), their
// progress as the givers report and the migrations that stalled. An instance (room) is a space
// of its own whose cells all move at once: moving it names its new host in a new epoch, and the
// giver hands it over with the same cell transfer (src/sim/cell_transfers.ts).
import { CodedError, ErrorCode } from "../errors.ts";
import type { PartitionMap } from "../world/partition.ts";
import { type Move, planDrain } from "./balance_plan.ts";
import type { RegistryParts } from "./registry_parts.ts";
import type { WorkerRecord } from "./worker_record.ts";

/** The instances (rooms) on workers as moves, drains and failovers see them (the directory). */
export interface InstanceHosts {
  /** Ids of the instances placed on `worker`. */
  on(worker: string): string[];
  /** The worker hosting instance `id`, or undefined when there is no such instance. */
  hostOf(id: string): string | undefined;
  /** Names `worker` as the host of instance `id` (it moves there in the next epoch). */
  relocate(id: string, worker: string, reason: string): void;
  /** The instances of a dead worker that no live backup mirrored: they are gone. */
  lost(worker: string): void;
}

/** A worker that can take cells or instances: active, or a spare (claimed). */
function takerOf(r: RegistryParts, to: string, what: string) {
  const target = r.workers.get(to);
  if (!target) throw new CodedError(ErrorCode.NOT_FOUND, `Cannot move ${what}: no worker ${to}`);
  if (target.state !== "active" && target.state !== "spare") {
    throw new CodedError(ErrorCode.CONFLICT, `Cannot move ${what} to ${to}: it is ${target.state}`);
  }
  return target;
}

/**
 * Moves instance `id` to worker `to` in one new map epoch: its host freezes it at its next
 * tick and sends it whole, as it sends a cell. INSTANCE_NOT_FOUND, NOT_FOUND (no such worker),
 * CONFLICT (it is there already, or the worker cannot take it).
 */
export function moveInstance(
  r: RegistryParts,
  id: string,
  to: string,
  reason: string,
): { from: string; to: string; epoch: number } {
  const hosts = r.options.instances;
  const from = hosts?.hostOf(id);
  if (!hosts || from === undefined) {
    throw new CodedError(ErrorCode.INSTANCE_NOT_FOUND, `No instance ${JSON.stringify(id)}`);
  }
  const target = takerOf(r, to, `instance ${id}`);
  if (to === from) {
    throw new CodedError(ErrorCode.CONFLICT, `Cannot move instance ${id}: ${to} hosts it already`);
  }
  hosts.relocate(id, to, reason);
  if (target.state === "spare") {
    target.state = "active";
    r.event("pool.claimed", { worker: to, reason });
  }
  r.map = r.map.next(r.map.owners);
  const now = r.now();
  target.lastMigrationAt = now;
  const giver = r.workers.get(from);
  if (giver) giver.lastMigrationAt = now;
  r.event("instance.migrating", { instance: id, from, to, epoch: r.map.epoch, reason });
  r.publish();
  return { from, to, epoch: r.map.epoch };
}

/**
 * Moves cells in one new map epoch. Every move must name a cell of `from` and a worker that
 * can take cells (active, or a spare, which becomes active); a cell already moving is a
 * CONFLICT. Returns the new map.
 */
export function moveCells(r: RegistryParts, moves: readonly Move[], reason: string): PartitionMap {
  if (moves.length === 0) {
    throw new CodedError(ErrorCode.BAD_REQUEST, "Cannot move cells: no moves");
  }
  const owners = [...r.map.owners];
  for (const { cell, from, to } of moves) {
    if (!Number.isSafeInteger(cell) || cell < 0 || cell >= owners.length) {
      throw new CodedError(
        ErrorCode.NOT_FOUND,
        `Cannot move cell ${cell}: the map has cells 0..${owners.length - 1}`,
      );
    }
    if (owners[cell] !== from) {
      throw new CodedError(
        ErrorCode.CONFLICT,
        `Cannot move cell ${cell}: it is owned by ${owners[cell] || "nobody"}, not ${from}`,
      );
    }
    if (r.migrations.has(cell)) {
      throw new CodedError(
        ErrorCode.CONFLICT,
        `Cannot move cell ${cell}: it is already moving to ${r.migrations.get(cell)!.to}`,
      );
    }
    takerOf(r, to, `cell ${cell}`);
    if (to === from) {
      throw new CodedError(ErrorCode.CONFLICT, `Cannot move cell ${cell}: ${to} already owns it`);
    }
    owners[cell] = to;
  }
  const now = r.now();
  r.map = r.map.next(owners);
  for (const { cell, from, to } of moves) {
    r.migrations.set(cell, { cell, from, to, epoch: r.map.epoch, reason, startedAt: now });
    const target = r.workers.get(to)!;
    if (target.state === "spare") {
      target.state = "active";
      r.event("pool.claimed", { worker: to, reason });
    }
    r.workers.get(from)!.lastMigrationAt = now;
    target.lastMigrationAt = now;
    r.event("cell.migrating", { cell, from, to, epoch: r.map.epoch, reason });
  }
  r.publish();
  return r.map;
}

/**
 * Moves every cell and instance of a worker to the other active workers (each instance to the
 * one hosting the fewest). `release` returns it to the warm pool afterwards; otherwise it is
 * drained and expected to exit. NO_CAPACITY when no other worker can take them.
 */
export function drainWorker(
  r: RegistryParts,
  id: string,
  mode: "drain" | "release" = "drain",
): Move[] {
  const record = r.workers.get(id);
  if (!record) throw new CodedError(ErrorCode.NOT_FOUND, `Cannot drain ${id}: no such worker`);
  if (record.state === "draining" || record.state === "releasing") return [];
  const targets = [...r.workers.values()]
    .filter((w) => w.id !== id && w.state === "active")
    .map((w) => w.id);
  const moves = r.map.owners.includes(id)
    ? planDrain(r.options.grid, r.map.owners, r.cellLoads(), id, targets)
    : [];
  const instances = r.options.instances?.on(id) ?? [];
  if (!moves || (instances.length > 0 && targets.length === 0)) {
    throw new CodedError(
      ErrorCode.NO_CAPACITY,
      `Cannot drain ${id}: no other active worker can take its ${moves ? "instances" : "cells"}`,
    );
  }
  const busy = moves.find((m) => r.migrations.has(m.cell));
  if (busy) {
    throw new CodedError(
      ErrorCode.CONFLICT,
      `Cannot drain ${id}: cell ${busy.cell} is already moving`,
    );
  }
  record.state = mode === "drain" ? "draining" : "releasing";
  r.event(mode === "drain" ? "worker.draining" : "pool.releasing", {
    worker: id,
    cells: moves.length,
    instances: instances.length,
  });
  const hosts = r.options.instances;
  for (const instance of instances) {
    const to = targets.reduce((a, b) => (hosts!.on(b).length < hosts!.on(a).length ? b : a));
    hosts!.relocate(instance, to, mode);
    r.event("instance.migrating", { instance, from: id, to, epoch: r.map.epoch + 1, reason: mode });
  }
  if (moves.length > 0) moveCells(r, moves, mode);
  else if (instances.length > 0) (r.map = r.map.next(r.map.owners), r.publish());
  else r.publish();
  progressMigrations(r, record);
  return moves;
}

/** Forgets migrations that did not finish in time (reported as stalled). */
export function expireMigrations(r: RegistryParts): void {
  const now = r.now();
  const timeout = r.options.migrationTimeoutMs ?? 30_000;
  for (const m of r.migrations.values()) {
    if (now - m.startedAt > timeout) {
      r.migrations.delete(m.cell);
      r.event("cell.migration_stalled", {
        cell: m.cell,
        from: m.from,
        to: m.to,
        epoch: m.epoch,
      });
    }
  }
}

/** Finishes migrations the giver has completed, and drains that are complete. */
export function progressMigrations(r: RegistryParts, record: WorkerRecord): void {
  const now = r.now();
  for (const m of r.migrations.values()) {
    if (m.from === record.id && record.epoch >= m.epoch && record.pendingTransfers === 0) {
      r.migrations.delete(m.cell);
      record.lastMigrationAt = now;
      const taker = r.workers.get(m.to);
      if (taker) taker.lastMigrationAt = now;
      r.event("cell.migrated", {
        cell: m.cell,
        from: m.from,
        to: m.to,
        epoch: m.epoch,
        ms: now - m.startedAt,
      });
    }
  }
  const emptied = !r.map.owners.includes(record.id) && record.pendingTransfers === 0 &&
    record.epoch >= r.map.epoch && (r.options.instances?.on(record.id).length ?? 0) === 0;
  if (record.state === "draining" && emptied) {
    record.state = "drained";
    r.event("worker.drained", { worker: record.id });
    r.publish();
  } else if (record.state === "releasing" && emptied) {
    record.state = "spare";
    r.event("pool.released", { worker: record.id });
    r.publish();
  }
}
