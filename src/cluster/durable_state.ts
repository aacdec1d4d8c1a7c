// What of the coordinator survives it: the partition map (epoch, owners, backups, down), the
// worker and gateway registries, cell migrations in flight, autoscale settings, the world's tick
// 0, the term, the rooms (every instance with its seats, the users, the creation counter) and the
// deploys (version records and runs), as plain data, and the changes between two captures (what
// the append-only log stores and a standby replays). durable_state_reader.ts reads them back.
import type { AutoscaleConfig } from "../config/config.ts";
import type { Migration, WorkerRecord } from "./worker_record.ts";
import type { DeployRun } from "./deploys.ts";
import type { VersionRecord } from "./version_records.ts";

/** A worker as it is stored: its identity and lifecycle state, not its latest load report. */
export type DurableWorker = Pick<
  WorkerRecord,
  | "id"
  | "index"
  | "grpcAddress"
  | "httpAddress"
  | "version"
  | "gameVersion"
  | "region"
  | "pool"
  | "state"
  | "incarnation"
  | "registeredAt"
  | "promotingEpoch"
>;

/** A gateway as it is stored. */
export interface DurableGateway {
  id: string;
  httpAddress: string;
  version: string;
}

/** An instance as it is stored: its record and its seats (the directory's indexes are derived). */
export interface DurableInstance {
  id: string;
  seq: number;
  mode: string;
  /** The game's parsed options, msgpack in base64 (exactly what the workers are sent). */
  options: string;
  maxPlayers: number;
  private: boolean;
  tags: string[];
  version: string;
  worker: string;
  /** Its worker's region (absent in files written before regions: ""). */
  region?: string;
  /** How often it changed worker (absent in files written before instances could move: 0). */
  moves?: number;
  owner: string;
  createdAt: number;
  /** Users holding a seat. */
  players: string[];
  /** When it became empty (0 while someone holds a seat). */
  emptySince: number;
}

/** A user of the user directory as it is stored (`instance` "" in the open world). */
export interface DurableUser {
  user: string;
  gateway: string;
  instance: string;
  world?: { x: number; y: number; z: number };
  /** When its gateway was declared down. */
  lostAt?: number;
}

/** The instance and user directories as they are stored. */
export interface DurableRooms {
  /** The newest instance creation number minted (ids are never reused). */
  seq: number;
  instances: Record<string, DurableInstance>;
  users: Record<string, DurableUser>;
}

/** The deploys as they are stored: every version's record and the latest runs. */
export interface DurableDeploys {
  versions: Record<string, VersionRecord>;
  runs: DeployRun[];
}

/** The partition map as it is stored. */
export interface DurableMap {
  epoch: number;
  owners: string[];
  backups: [string, string][];
  down: string[];
}

/** Everything a coordinator needs to carry on where another (or its former self) stopped. */
export interface DurableState {
  /** Raised by each takeover: a coordinator that sees a higher term than its own steps down. */
  term: number;
  /** Next worker index to hand out (indexes mint entity ids: never reused). */
  nextIndex: number;
  map: DurableMap;
  workers: Record<string, DurableWorker>;
  gateways: Record<string, DurableGateway>;
  migrations: Migration[];
  autoscale: AutoscaleConfig;
  /** gRPC address of the other coordinator of the pair ("" when it has none). */
  peer: string;
  /** Tick 0 of the world (every node's ticks are counted from it: it never changes). */
  worldStartMs: number;
  rooms: DurableRooms;
  deploys: DurableDeploys;
}

/** One entry of the log: a part of the state replaced, or a record removed. */
export type StateChange =
  | { kind: "map"; map: DurableMap }
  | { kind: "worker"; worker: DurableWorker }
  | { kind: "worker.removed"; id: string }
  | { kind: "gateway"; gateway: DurableGateway }
  | { kind: "gateway.removed"; id: string }
  | { kind: "migrations"; migrations: Migration[] }
  | { kind: "instance.seq"; seq: number }
  | { kind: "instance"; instance: DurableInstance }
  | { kind: "instance.removed"; id: string }
  | { kind: "user"; user: DurableUser }
  | { kind: "user.removed"; id: string }
  | { kind: "deploys"; deploys: DurableDeploys }
  | {
    kind: "settings";
    term: number;
    nextIndex: number;
    autoscale: AutoscaleConfig;
    peer: string;
    worldStartMs: number;
  };

/** The state of a coordinator that never ran: epoch 0, nobody registered. */
export function emptyState(
  cellCount: number,
  autoscale: AutoscaleConfig,
  worldStartMs = 0,
): DurableState {
  return {
    term: 1,
    nextIndex: 1,
    map: { epoch: 0, owners: new Array<string>(cellCount).fill(""), backups: [], down: [] },
    workers: {},
    gateways: {},
    migrations: [],
    autoscale: { ...autoscale },
    peer: "",
    worldStartMs,
    rooms: emptyRooms(),
    deploys: emptyDeploys(),
  };
}

/** Deploys of a coordinator that never saw a version. */
export function emptyDeploys(): DurableDeploys {
  return { versions: {}, runs: [] };
}

/** Rooms of a coordinator that never ran one. */
export function emptyRooms(): DurableRooms {
  return { seq: 0, instances: {}, users: {} };
}

/**
 * The changes that turn `before` into `after`, in an order that replays cleanly (settings and
 * registrations before the map that names them). The rooms are not compared here: they can be
 * large, so CoordinatorState logs their changes from the ids the directory marked.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { applyChange, diffState, emptyState } from "./durable_state.ts";
 * const before = emptyState(2, { highWater: 0, lowWater: 0, sustainMs: 0 });
 * const after = structuredClone(before);
 * after.map = { epoch: 1, owners: ["w1", "w1"], backups: [], down: [] };
 * const changes = diffState(before, after);
 * assert.deepEqual(changes.map((c) => c.kind), ["map"]);
 * const replayed = structuredClone(before);
 * for (const change of changes) applyChange(replayed, change);
 * assert.deepEqual(replayed, after);
 * ```
 */
export function diffState(before: DurableState, after: DurableState): StateChange[] {
  const changes: StateChange[] = [];
  if (
    before.term !== after.term || before.nextIndex !== after.nextIndex ||
    before.peer !== after.peer || before.worldStartMs !== after.worldStartMs ||
    !same(before.autoscale, after.autoscale)
  ) {
    changes.push({
      kind: "settings",
      term: after.term,
      nextIndex: after.nextIndex,
      autoscale: { ...after.autoscale },
      peer: after.peer,
      worldStartMs: after.worldStartMs,
    });
  }
  for (const [id, worker] of Object.entries(after.workers)) {
    if (!same(before.workers[id], worker)) changes.push({ kind: "worker", worker: { ...worker } });
  }
  for (const id of Object.keys(before.workers)) {
    if (!Object.hasOwn(after.workers, id)) changes.push({ kind: "worker.removed", id });
  }
  for (const [id, gateway] of Object.entries(after.gateways)) {
    if (!same(before.gateways[id], gateway)) {
      changes.push({ kind: "gateway", gateway: { ...gateway } });
    }
  }
  for (const id of Object.keys(before.gateways)) {
    if (!Object.hasOwn(after.gateways, id)) changes.push({ kind: "gateway.removed", id });
  }
  if (
    before.map !== after.map &&
    (before.map.epoch !== after.map.epoch || !same(before.map, after.map))
  ) {
    changes.push({ kind: "map", map: structuredClone(after.map) });
  }
  if (!same(before.migrations, after.migrations)) {
    changes.push({ kind: "migrations", migrations: structuredClone(after.migrations) });
  }
  if (!same(before.deploys, after.deploys)) {
    changes.push({ kind: "deploys", deploys: structuredClone(after.deploys) });
  }
  return changes;
}

/** Applies one logged change to `state` in place. */
export function applyChange(state: DurableState, change: StateChange): void {
  switch (change.kind) {
    case "map":
      state.map = structuredClone(change.map);
      return;
    case "worker":
      state.workers[change.worker.id] = { ...change.worker };
      return;
    case "worker.removed":
      delete state.workers[change.id];
      return;
    case "gateway":
      state.gateways[change.gateway.id] = { ...change.gateway };
      return;
    case "gateway.removed":
      delete state.gateways[change.id];
      return;
    case "migrations":
      state.migrations = structuredClone(change.migrations);
      return;
    case "instance.seq":
      state.rooms.seq = change.seq;
      return;
    case "instance":
      state.rooms.instances[change.instance.id] = structuredClone(change.instance);
      return;
    case "instance.removed":
      delete state.rooms.instances[change.id];
      return;
    case "user":
      state.rooms.users[change.user.user] = structuredClone(change.user);
      return;
    case "user.removed":
      delete state.rooms.users[change.id];
      return;
    case "deploys":
      state.deploys = structuredClone(change.deploys);
      return;
    case "settings":
      state.term = change.term;
      state.nextIndex = change.nextIndex;
      state.autoscale = { ...change.autoscale };
      state.peer = change.peer;
      state.worldStartMs = change.worldStartMs;
      return;
  }
}

function same(a: unknown, b: unknown): boolean {
  return JSON.stringify(a) === JSON.stringify(b);
}
