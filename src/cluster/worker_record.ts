// What the coordinator knows of each worker: its lifecycle state, its registration and the
// latest load report it sent, and cell migrations in flight.
import type { CellLoad, RegisterRequest } from "../net/rpc.ts";

/**
 * Lifecycle of a registered worker: active (owns cells), spare (warm pool), draining (moving
 * its cells away before it exits), releasing (moving them away to return to the pool),
 * drained (owns nothing, about to exit), down (missed its heartbeats or lost its map stream:
 * its cells were given away), fenced (came back after being declared down and was refused: it
 * must register again as a spare).
 */
export type WorkerState =
  | "active"
  | "spare"
  | "draining"
  | "releasing"
  | "drained"
  | "down"
  | "fenced";

/** What {@linkcode Registry.heartbeat} made of a heartbeat. */
export type HeartbeatOutcome = "ok" | "unknown" | "fenced";

/** A cell on its way from one worker to another. */
export interface Migration {
  cell: number;
  from: string;
  to: string;
  epoch: number;
  reason: string;
  startedAt: number;
}

/** What the coordinator knows of one worker. */
export interface WorkerRecord {
  id: string;
  index: number;
  grpcAddress: string;
  httpAddress: string;
  version: string;
  /** The game module version it runs ("" when it sent none). */
  gameVersion: string;
  /** The region it runs in ("" = none). */
  region: string;
  pool: boolean;
  state: WorkerState;
  registeredAt: number;
  lastHeartbeat: number;
  tick: number;
  cells: CellLoad[];
  ghosts: number;
  tickP50Ms: number;
  tickP99Ms: number;
  /** Map epoch the worker last reported running under. */
  epoch: number;
  /** Cell transfers it sent and that were not acknowledged yet. */
  pendingTransfers: number;
  /** Last time it gave or took a cell. */
  lastMigrationAt: number;
  /** Handoffs it sent and that were not acknowledged yet. */
  pendingHandoffs: number;
  /** Entities it mirrors for the owners it backs up. */
  mirrored: number;
  /** Entities it handed off since it started (its counter, as reported). */
  handoffsOut: number;
  /** The process's random incarnation from its registration ("" when it sent none). */
  incarnation: string;
  /** When its map stream broke (undefined while attached or never attached). */
  streamLostAt?: number;
  /** It took a dead worker's cells at this epoch and has not reported running it yet. */
  promotingEpoch?: number;
}

/** What a record knows of a worker's load before its first heartbeat (registered, restored). */
export function beforeFirstReport(now: number): Pick<
  WorkerRecord,
  | "lastHeartbeat"
  | "tick"
  | "cells"
  | "ghosts"
  | "tickP50Ms"
  | "tickP99Ms"
  | "epoch"
  | "pendingTransfers"
  | "lastMigrationAt"
  | "pendingHandoffs"
  | "mirrored"
  | "handoffsOut"
> {
  return {
    lastHeartbeat: now,
    tick: 0,
    cells: [],
    ghosts: 0,
    tickP50Ms: 0,
    tickP99Ms: 0,
    epoch: 0,
    pendingTransfers: 0,
    lastMigrationAt: -Infinity,
    pendingHandoffs: 0,
    mirrored: 0,
    handoffsOut: 0,
  };
}

/** What a worker sends every heartbeat. */
export interface LoadReport {
  tick: number;
  epoch?: number;
  cells: CellLoad[];
  ghosts: number;
  tickP50Ms: number;
  tickP99Ms: number;
  pendingTransfers?: number;
  pendingHandoffs?: number;
  mirrored?: number;
  handoffsOut?: number;
}

/** Registration data sent by a worker: its RegisterRequest less the game check's fields. */
export type Registration =
  & Pick<
    RegisterRequest,
    "nodeId" | "grpcAddress" | "httpAddress" | "version" | "pool" | "incarnation"
  >
  & Partial<Pick<RegisterRequest, "gameVersion" | "region">>;

/** Down and fenced workers' reports are stale: their cells belong to others now. */
export function isCounted(record: WorkerRecord): boolean {
  return record.state !== "down" && record.state !== "fenced";
}
