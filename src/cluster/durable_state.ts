// What of the coordinator survives it: the partition map (epoch, owners, backups, down), the
// worker and gateway registries, cell migrations in flight, autoscale settings, the world's tick
// 0 and the term, as
// plain data; the changes between two captures (what the append-only log stores and a standby
// replays) and the strict parser of a state read back from a file or a stream.
import { CodedError, ErrorCode } from "../errors.ts";
import { isPlainObject } from "../protocol/input_reader.ts";
import type { AutoscaleConfig } from "../config/config.ts";
import type { Migration, WorkerState } from "./worker_record.ts";

/** A worker as it is stored: its identity and lifecycle state, not its latest load report. */
export interface DurableWorker {
  id: string;
  index: number;
  grpcAddress: string;
  httpAddress: string;
  version: string;
  pool: boolean;
  state: WorkerState;
  incarnation: string;
  registeredAt: number;
  promotingEpoch?: number;
}

/** A gateway as it is stored. */
export interface DurableGateway {
  id: string;
  httpAddress: string;
  version: string;
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
}

/** One entry of the log: a part of the state replaced, or a record removed. */
export type StateChange =
  | { kind: "map"; map: DurableMap }
  | { kind: "worker"; worker: DurableWorker }
  | { kind: "worker.removed"; id: string }
  | { kind: "gateway"; gateway: DurableGateway }
  | { kind: "gateway.removed"; id: string }
  | { kind: "migrations"; migrations: Migration[] }
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
  };
}

/**
 * The changes that turn `before` into `after`, in an order that replays cleanly (settings and
 * registrations before the map that names them).
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

/** A state file or log stream that cannot be read back: start-up stops rather than forget. */
export class StateFileError extends CodedError {
  constructor(message: string, options?: ErrorOptions) {
    super(ErrorCode.STATE_INVALID, `${ErrorCode.STATE_INVALID}: ${message}`, options);
    this.name = "StateFileError";
  }
}

const WORKER_STATES: readonly WorkerState[] = [
  "active",
  "spare",
  "draining",
  "releasing",
  "drained",
  "down",
  "fenced",
];

/** Reads a stored state back; `where` names it in the error ("snapshot 120"). */
export function parseState(raw: unknown, cellCount: number, where: string): DurableState {
  const o = record(raw, where);
  const state: DurableState = {
    term: count(o.term, `${where}: term`, 1),
    nextIndex: count(o.nextIndex, `${where}: nextIndex`, 1),
    map: parseMap(o.map, cellCount, `${where}: map`),
    workers: {},
    gateways: {},
    migrations: list(o.migrations, `${where}: migrations`).map((m, i) =>
      parseMigration(m, `${where}: migrations[${i}]`)
    ),
    autoscale: parseAutoscale(o.autoscale, `${where}: autoscale`),
    peer: text(o.peer, `${where}: peer`),
    worldStartMs: finite(o.worldStartMs, `${where}: worldStartMs`),
  };
  for (const [id, w] of Object.entries(record(o.workers, `${where}: workers`))) {
    state.workers[id] = parseWorker(w, `${where}: workers.${id}`);
  }
  for (const [id, g] of Object.entries(record(o.gateways, `${where}: gateways`))) {
    state.gateways[id] = parseGateway(g, `${where}: gateways.${id}`);
  }
  return state;
}

/** Reads one logged change back. */
export function parseChange(raw: unknown, cellCount: number, where: string): StateChange {
  const o = record(raw, where);
  switch (o.kind) {
    case "map":
      return { kind: "map", map: parseMap(o.map, cellCount, `${where}: map`) };
    case "worker":
      return { kind: "worker", worker: parseWorker(o.worker, `${where}: worker`) };
    case "worker.removed":
    case "gateway.removed":
      return { kind: o.kind, id: text(o.id, `${where}: id`) };
    case "gateway":
      return { kind: "gateway", gateway: parseGateway(o.gateway, `${where}: gateway`) };
    case "migrations":
      return {
        kind: "migrations",
        migrations: list(o.migrations, `${where}: migrations`).map((m, i) =>
          parseMigration(m, `${where}: migrations[${i}]`)
        ),
      };
    case "settings":
      return {
        kind: "settings",
        term: count(o.term, `${where}: term`, 1),
        nextIndex: count(o.nextIndex, `${where}: nextIndex`, 1),
        autoscale: parseAutoscale(o.autoscale, `${where}: autoscale`),
        peer: text(o.peer, `${where}: peer`),
        worldStartMs: finite(o.worldStartMs, `${where}: worldStartMs`),
      };
    default:
      throw new StateFileError(`${where}: unknown change kind ${JSON.stringify(o.kind)}`);
  }
}

function parseMap(raw: unknown, cellCount: number, where: string): DurableMap {
  const o = record(raw, where);
  const owners = list(o.owners, `${where}.owners`).map((x, i) => text(x, `${where}.owners[${i}]`));
  if (owners.length !== cellCount) {
    throw new StateFileError(
      `${where} has ${owners.length} cells but the configured world has ${cellCount}`,
    );
  }
  return {
    epoch: count(o.epoch, `${where}.epoch`, 0),
    owners,
    backups: list(o.backups, `${where}.backups`).map((pair, i) => {
      const p = list(pair, `${where}.backups[${i}]`);
      if (p.length !== 2) throw new StateFileError(`${where}.backups[${i}]: expected a pair`);
      return [text(p[0], `${where}.backups[${i}]`), text(p[1], `${where}.backups[${i}]`)];
    }),
    down: list(o.down, `${where}.down`).map((x, i) => text(x, `${where}.down[${i}]`)),
  };
}

function parseWorker(raw: unknown, where: string): DurableWorker {
  const o = record(raw, where);
  const state = o.state as WorkerState;
  if (!WORKER_STATES.includes(state)) {
    throw new StateFileError(`${where}.state: unknown state ${JSON.stringify(o.state)}`);
  }
  const worker: DurableWorker = {
    id: text(o.id, `${where}.id`),
    index: count(o.index, `${where}.index`, 1),
    grpcAddress: text(o.grpcAddress, `${where}.grpcAddress`),
    httpAddress: text(o.httpAddress, `${where}.httpAddress`),
    version: text(o.version, `${where}.version`),
    pool: flag(o.pool, `${where}.pool`),
    state,
    incarnation: text(o.incarnation, `${where}.incarnation`),
    registeredAt: finite(o.registeredAt, `${where}.registeredAt`),
  };
  if (o.promotingEpoch !== undefined) {
    worker.promotingEpoch = count(o.promotingEpoch, `${where}.promotingEpoch`, 0);
  }
  return worker;
}

function parseGateway(raw: unknown, where: string): DurableGateway {
  const o = record(raw, where);
  return {
    id: text(o.id, `${where}.id`),
    httpAddress: text(o.httpAddress, `${where}.httpAddress`),
    version: text(o.version, `${where}.version`),
  };
}

function parseMigration(raw: unknown, where: string): Migration {
  const o = record(raw, where);
  return {
    cell: count(o.cell, `${where}.cell`, 0),
    from: text(o.from, `${where}.from`),
    to: text(o.to, `${where}.to`),
    epoch: count(o.epoch, `${where}.epoch`, 0),
    reason: text(o.reason, `${where}.reason`),
    startedAt: finite(o.startedAt, `${where}.startedAt`),
  };
}

function parseAutoscale(raw: unknown, where: string): AutoscaleConfig {
  const o = record(raw, where);
  return {
    highWater: finite(o.highWater, `${where}.highWater`),
    lowWater: finite(o.lowWater, `${where}.lowWater`),
    sustainMs: finite(o.sustainMs, `${where}.sustainMs`),
  };
}

function record(raw: unknown, where: string): Record<string, unknown> {
  if (!isPlainObject(raw)) throw new StateFileError(`${where}: expected an object`);
  return raw;
}

function list(raw: unknown, where: string): unknown[] {
  if (!Array.isArray(raw)) throw new StateFileError(`${where}: expected an array`);
  return raw;
}

function text(raw: unknown, where: string): string {
  if (typeof raw !== "string") throw new StateFileError(`${where}: expected a string`);
  return raw;
}

function flag(raw: unknown, where: string): boolean {
  if (typeof raw !== "boolean") throw new StateFileError(`${where}: expected a boolean`);
  return raw;
}

function finite(raw: unknown, where: string): number {
  if (typeof raw !== "number" || !Number.isFinite(raw)) {
    throw new StateFileError(`${where}: expected a number`);
  }
  return raw;
}

function count(raw: unknown, where: string, min: number): number {
  if (!Number.isSafeInteger(raw) || (raw as number) < min) {
    throw new StateFileError(`${where}: expected an integer >= ${min}`);
  }
  return raw as number;
}
