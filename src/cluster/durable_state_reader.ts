// The strict reader of a coordinator's stored state and logged changes (durable_state.ts), read
// back from its state file or a standby's stream: every field checked, a damaged one named in a
// STATE_INVALID error, so start-up stops rather than carry on with a state it misread.
import { Buffer } from "node:buffer";
import { CodedError, ErrorCode } from "../errors.ts";
import { decode } from "../protocol/msgpack.ts";
import { isPlainObject } from "../protocol/input_reader.ts";
import type { AutoscaleConfig } from "../config/config.ts";
import type { Migration, WorkerState } from "./worker_record.ts";
import type { DeployRun, RunState } from "./deploys.ts";
import type { VersionState } from "./version_records.ts";
import {
  type DurableDeploys,
  type DurableGateway,
  type DurableInstance,
  type DurableMap,
  type DurableRooms,
  type DurableState,
  type DurableUser,
  type DurableWorker,
  emptyDeploys,
  emptyRooms,
  type StateChange,
} from "./durable_state.ts";

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
    // Nor one written before deploys were.
    deploys: o.deploys === undefined
      ? emptyDeploys()
      : parseDeploys(o.deploys, `${where}: deploys`),
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
    case "deploys":
      return { kind: "deploys", deploys: parseDeploys(o.deploys, `${where}: deploys`) };
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
    region: o.region === undefined ? "" : text(o.region, `${where}.region`),
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
    region: o.region === undefined ? "" : text(o.region, `${where}.region`),
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

const VERSION_STATES: readonly VersionState[] = [
  "staged",
  "rolling_out",
  "live",
  "draining",
  "retired",
];
const RUN_STATES: readonly RunState[] = [
  "running",
  "paused",
  "rolling_back",
  "done",
  "aborted",
  "rolled_back",
];

function parseDeploys(raw: unknown, where: string): DurableDeploys {
  const o = record(raw, where);
  const deploys: DurableDeploys = { versions: {}, runs: [] };
  for (const [id, v] of Object.entries(record(o.versions, `${where}.versions`))) {
    const at = `${where}.versions.${id}`;
    const r = record(v, at);
    const state = r.state as VersionState;
    if (!VERSION_STATES.includes(state)) {
      throw new StateFileError(`${at}.state: unknown state ${JSON.stringify(r.state)}`);
    }
    const version = text(r.version, `${at}.version`);
    if (version !== id) throw new StateFileError(`${at}: the record is of ${version}`);
    deploys.versions[id] = {
      version,
      state,
      gameVersion: text(r.gameVersion, `${at}.gameVersion`),
      firstSeenAt: finite(r.firstSeenAt, `${at}.firstSeenAt`),
      changedAt: finite(r.changedAt, `${at}.changedAt`),
    };
  }
  deploys.runs = list(o.runs, `${where}.runs`).map((x, i) => {
    const at = `${where}.runs[${i}]`;
    const r = record(x, at);
    const state = r.state as RunState;
    if (!RUN_STATES.includes(state)) {
      throw new StateFileError(`${at}.state: unknown state ${JSON.stringify(r.state)}`);
    }
    const run: DeployRun = {
      id: count(r.id, `${at}.id`, 1),
      version: text(r.version, `${at}.version`),
      from: text(r.from, `${at}.from`),
      state,
      startedAt: finite(r.startedAt, `${at}.startedAt`),
      moves: count(r.moves, `${at}.moves`, 0),
    };
    if (r.endedAt !== undefined) run.endedAt = finite(r.endedAt, `${at}.endedAt`);
    return run;
  });
  return deploys;
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
