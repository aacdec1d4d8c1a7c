// What of the coordinator survives it: the partition map (epoch, owners, backups, down), the
// worker and gateway registries, cell migrations in flight, autoscale settings, the world's tick
// 0, the term, and the rooms (every instance with its seats, the users, the creation counter),
// as plain data; the changes between two captures (what the append-only log stores and a
// standby replays) and the strict parser of a state read back from a file or a stream.
import { Buffer } from "node:buffer";
import { CodedError, ErrorCode } from "../errors.ts";
import { decode } from "../protocol/msgpack.ts";
import { isPlainObject } from "../protocol/input_reader.ts";
import type { AutoscaleConfig } from "../config/config.ts";
import type { Migration, WorkerRecord, WorkerState } from "./worker_record.ts";

/** A worker as it is stored: its identity and lifecycle state, not its latest load report. */
export type DurableWorker = Pick<
  WorkerRecord,
  | "id"
  | "index"
  | "grpcAddress"
  | "httpAddress"
  | "version"
  | "gameVersion"
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
  };
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
    // A state written before rooms were durable has none (not a damaged one: the key is absent).
    rooms: o.rooms === undefined ? emptyRooms() : parseRooms(o.rooms, `${where}: rooms`),
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
    case "instance.seq":
      return { kind: "instance.seq", seq: count(o.seq, `${where}: seq`, 0) };
    case "instance":
      return { kind: "instance", instance: parseInstance(o.instance, `${where}: instance`) };
    case "instance.removed":
    case "user.removed":
      return { kind: o.kind, id: text(o.id, `${where}: id`) };
    case "user":
      return { kind: "user", user: parseUser(o.user, `${where}: user`) };
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
    // Files written before deploys recorded it have none.
    gameVersion: o.gameVersion === undefined ? "" : text(o.gameVersion, `${where}.gameVersion`),
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

function parseRooms(raw: unknown, where: string): DurableRooms {
  const o = record(raw, where);
  const rooms: DurableRooms = { seq: count(o.seq, `${where}.seq`, 0), instances: {}, users: {} };
  for (const [id, i] of Object.entries(record(o.instances, `${where}.instances`))) {
    const instance = parseInstance(i, `${where}.instances.${id}`);
    if (instance.id !== id) {
      throw new StateFileError(`${where}.instances.${id}: the record is of ${instance.id}`);
    }
    if (instance.seq > rooms.seq) {
      // The next instance would be given an id already in use.
      throw new StateFileError(
        `${where}.instances.${id}: creation number ${instance.seq} is above the counter ${rooms.seq}`,
      );
    }
    rooms.instances[id] = instance;
  }
  for (const [id, u] of Object.entries(record(o.users, `${where}.users`))) {
    const user = parseUser(u, `${where}.users.${id}`);
    if (user.user !== id) {
      throw new StateFileError(`${where}.users.${id}: the record is of ${user.user}`);
    }
    rooms.users[id] = user;
  }
  return rooms;
}

function parseInstance(raw: unknown, where: string): DurableInstance {
  const o = record(raw, where);
  const options = text(o.options, `${where}.options`);
  try {
    if (!/^[A-Za-z0-9+/]*={0,2}$/.test(options)) throw new SyntaxError("not base64");
    decode(Buffer.from(options, "base64"));
  } catch (error) {
    throw new StateFileError(`${where}.options: expected msgpack in base64`, { cause: error });
  }
  return {
    id: text(o.id, `${where}.id`),
    seq: count(o.seq, `${where}.seq`, 1),
    mode: text(o.mode, `${where}.mode`),
    options,
    maxPlayers: count(o.maxPlayers, `${where}.maxPlayers`, 1),
    private: flag(o.private, `${where}.private`),
    tags: list(o.tags, `${where}.tags`).map((t, i) => text(t, `${where}.tags[${i}]`)),
    version: text(o.version, `${where}.version`),
    worker: text(o.worker, `${where}.worker`),
    moves: o.moves === undefined ? 0 : count(o.moves, `${where}.moves`, 0),
    owner: text(o.owner, `${where}.owner`),
    createdAt: finite(o.createdAt, `${where}.createdAt`),
    players: list(o.players, `${where}.players`).map((p, i) => text(p, `${where}.players[${i}]`)),
    emptySince: finite(o.emptySince, `${where}.emptySince`),
  };
}

function parseUser(raw: unknown, where: string): DurableUser {
  const o = record(raw, where);
  const user: DurableUser = {
    user: text(o.user, `${where}.user`),
    gateway: text(o.gateway, `${where}.gateway`),
    instance: text(o.instance, `${where}.instance`),
  };
  if (o.world !== undefined) {
    const w = record(o.world, `${where}.world`);
    user.world = {
      x: finite(w.x, `${where}.world.x`),
      y: finite(w.y, `${where}.world.y`),
      z: finite(w.z, `${where}.world.z`),
    };
  }
  if (o.lostAt !== undefined) user.lostAt = finite(o.lostAt, `${where}.lostAt`);
  return user;
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
