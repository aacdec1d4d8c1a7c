// The coordinator's room operations for gateways (the Instances RPC): validates each request,
// checks modes and options against the game, places new instances on the least-loaded worker
// of the newest version, and answers from the InstanceDirectory. Refusals travel in the answer
// with a stable code (docs/protocol.md, Rooms), never as a gRPC failure.
import { CodedError, ErrorCode } from "../errors.ts";
import type { InstancesConfig } from "../config/schema.ts";
import type { GameDefinition } from "../sim/game.ts";
import type { Logger } from "../observe/log.ts";
import { decode, encode } from "../protocol/msgpack.ts";
import { decodePeerMap, peerFields, peerString as str } from "../protocol/peer_reader.ts";
import type { InstancePlacementMessage } from "../net/rpc.ts";
import { placeInstance, type PlacementCandidate } from "./instance_placement.ts";
import { instanceSize } from "../sim/instance_spaces.ts";
import type { Registry } from "./registry.ts";
import type { InstanceHosts } from "./cell_migrations.ts";
import {
  InstanceDirectory,
  type InstanceQuery,
  type InstanceRecord,
  type InstanceRow,
  instanceRow,
  MAX_PAGE,
} from "./instance_directory.ts";

const { array, boolean, finite, integer, map, plain } = peerFields;

/** What the gateway gets back: a placement to travel to, a page of rows, or a world position. */
export interface InstanceAnswer {
  instance?: { placement: InstancePlacementMessage; row: InstanceRow; size: number[] };
  instances?: InstanceRow[];
  next?: string;
  world?: { x: number; y: number; z: number };
  error?: { code: string; message: string };
}

/** Options of {@linkcode InstanceService}. */
export interface InstanceServiceOptions {
  directory: InstanceDirectory;
  config: InstancesConfig;
  game: { definition: GameDefinition<unknown>; version: string };
  /** The world's shape: an instance of a mode without a size is one cell of it. */
  world: { dims: number; cellSize: number };
  /** Workers that may host new instances now (quick-join fills only instances on them). */
  workers: () => PlacementCandidate[];
  /** The region of a registered worker ("" when unknown): a moved instance takes its host's. */
  regionOf?: (worker: string) => string;
  /** An instance was destroyed: tell the workers (publish the map). */
  onDestroyed: (records: InstanceRecord[]) => void;
  log: Logger;
}

/** Largest `options` of a CREATE, in bytes of msgpack (also checked by the gateway). */
export const MAX_INSTANCE_OPTIONS_BYTES = 1024;

/** The Instances RPC's logic. */
export class InstanceService {
  #o: InstanceServiceOptions;

  constructor(options: InstanceServiceOptions) {
    this.#o = options;
  }

  /** Answers one msgpack request (any refusal is in the answer's `error`). */
  handle(payload: Uint8Array): Uint8Array {
    let answer: InstanceAnswer;
    try {
      answer = this.#handle(decodePeerMap(payload, 1));
    } catch (error) {
      const coded = error instanceof CodedError;
      if (!coded || error.code === ErrorCode.BAD_BATCH) {
        this.#o.log.warn("instances.refused", { error });
      }
      answer = {
        error: {
          code: coded ? error.code : ErrorCode.INTERNAL,
          message: (error as Error).message,
        },
      };
    }
    return encode(answer);
  }

  /**
   * The directory as the registry's moves, drains and failovers see it: an instance moved or
   * failed over is relocated; those of a worker that died with no live backup are destroyed
   * (their seats freed).
   */
  readonly hosts: InstanceHosts = {
    on: (worker) =>
      [...this.#o.directory.all()].filter((r) => r.worker === worker).map((r) => r.id),
    hostOf: (id) => this.#o.directory.get(id)?.worker,
    relocate: (id, worker, reason) => {
      const from = this.#o.directory.get(id)?.worker;
      this.#o.directory.relocate(id, worker, this.#o.regionOf?.(worker) ?? "");
      this.#o.log.info("instance.relocated", { instance: id, from, to: worker, reason });
    },
    lost: (worker) => void this.workerGone(worker),
  };

  /**
   * A worker died with no live backup: its instances died with it, so they leave the directory
   * and their seats are freed. Returns how many.
   */
  workerGone(worker: string): number {
    const gone = [...this.#o.directory.all()].filter((r) => r.worker === worker);
    for (const record of gone) this.#o.directory.destroy(record.id);
    if (gone.length > 0) this.#destroyed(gone, "worker-gone");
    return gone.length;
  }

  /** Destroys instances empty past their grace; returns how many. */
  sweep(): number {
    const gone = this.#o.directory.sweep();
    if (gone.length > 0) this.#destroyed(gone, "empty");
    return gone.length;
  }

  #handle(raw: Record<string, unknown>): InstanceAnswer {
    const d = this.#o.directory;
    const op = str(raw.op, "op", 16);
    const user = () => str(raw.user, "user", 128);
    const gateway = () => str(raw.gateway, "gateway");
    const version = raw.version === undefined ? undefined : str(raw.version, "version", 64);
    const region = raw.region === undefined ? undefined : str(raw.region, "region", 64);
    const world = raw.world === undefined ? undefined : position(raw.world);
    switch (op) {
      case "create": {
        const record = this.#create(raw, user(), version, region);
        return this.#seat(record.id, user(), gateway(), version, world);
      }
      case "join":
        return this.#seat(str(raw.instance, "instance", 64), user(), gateway(), version, world);
      case "quick": {
        const mode = this.#mode(str(raw.mode, "mode", 64));
        // Only rooms on workers that take new ones: during a deploy the old version's rooms
        // fill no further, so they end and their workers can leave.
        const hosts = new Set(this.#o.workers().map((w) => w.id));
        const open = d.findOpen(
          mode,
          version ?? this.#o.game.version,
          (r) => hosts.has(r.worker),
          region,
        );
        const id = open?.id ?? this.#create({ mode }, user(), version, region).id;
        return this.#seat(id, user(), gateway(), version, world);
      }
      case "leave": {
        const left = d.release(user());
        if (!left?.instance) throw new CodedError(ErrorCode.NOT_ALLOWED, "Not in an instance");
        return left.world ? { world: left.world } : {};
      }
      case "destroy": {
        const record = d.destroy(str(raw.instance, "instance", 64), user());
        this.#destroyed([record], "owner");
        return { instances: [instanceRow(record)] };
      }
      case "search": {
        const query = searchQuery(raw);
        const page = d.search(query);
        return {
          instances: page.instances.map(instanceRow),
          ...(page.next ? { next: page.next } : {}),
        };
      }
      case "online": {
        // A resumed session may be in an instance: its gateway learns which.
        d.online(user(), gateway(), world ? { world } : {});
        const inside = d.get(d.user(user())?.instance ?? "");
        return inside ? { instances: [instanceRow(inside)] } : {};
      }
      case "offline":
        d.offline(user());
        return {};
      default:
        throw new CodedError(ErrorCode.BAD_REQUEST, `Unknown instance op ${JSON.stringify(op)}`);
    }
  }

  #mode(mode: string): string {
    if (!Object.hasOwn(this.#o.game.definition.instanceModes ?? {}, mode)) {
      throw new CodedError(
        ErrorCode.UNKNOWN_MODE,
        `This game has no instance mode ${JSON.stringify(mode)}`,
      );
    }
    return mode;
  }

  #create(
    raw: Record<string, unknown>,
    owner: string,
    version?: string,
    region?: string,
  ): InstanceRecord {
    const o = this.#o;
    const mode = this.#mode(str(raw.mode, "mode", 64));
    if (version !== undefined && version !== o.game.version) {
      throw new CodedError(
        ErrorCode.WRONG_VERSION,
        `The servers run game version ${o.game.version}, not ${version}`,
      );
    }
    const spec = o.game.definition.instanceModes![mode];
    const cap = Math.min(spec.maxPlayers, o.config.maxPlayers);
    const maxPlayers = raw.maxPlayers === undefined
      ? cap
      : integer(raw.maxPlayers, "maxPlayers", 1);
    if (maxPlayers > cap) {
      throw new CodedError(
        ErrorCode.BAD_OPTIONS,
        `maxPlayers ${maxPlayers} is more than mode ${mode} allows (${cap})`,
      );
    }
    const options = this.#options(mode, raw.options);
    const tags = raw.tags === undefined
      ? []
      : array(raw.tags, "tags", 0, 8).map((t, n) => str(t, `tags[${n}]`, 32));
    const candidates = o.workers();
    const worker = placeInstance(
      candidates,
      (w) => o.directory.seatsOn(w),
      (w) => o.directory.countOn(w),
      region,
    );
    if (!worker) {
      throw new CodedError(
        ErrorCode.UNAVAILABLE,
        region === undefined
          ? "No worker can host an instance right now"
          : `No worker in region ${JSON.stringify(region)} can host an instance right now`,
      );
    }
    const record = o.directory.create({
      mode,
      options,
      maxPlayers,
      private: raw.private === undefined ? false : boolean(raw.private, "private"),
      tags,
      version: o.game.version,
      worker,
      region: candidates.find((w) => w.id === worker)?.region ?? "",
      owner,
    });
    o.log.info("instance.placed", { instance: record.id, mode, worker, owner });
    return record;
  }

  #options(mode: string, raw: unknown): unknown {
    const parse = this.#o.game.definition.instanceModes![mode].parseOptions;
    const given = raw === undefined || raw === null ? {} : plain(raw, "options");
    if (typeof given !== "object" || given === null || Array.isArray(given)) {
      throw new CodedError(ErrorCode.BAD_OPTIONS, "options must be a map");
    }
    const bytes = encode(given).length;
    if (bytes > MAX_INSTANCE_OPTIONS_BYTES) {
      throw new CodedError(
        ErrorCode.BAD_OPTIONS,
        `options are ${bytes} bytes, more than the maximum of ${MAX_INSTANCE_OPTIONS_BYTES}`,
      );
    }
    if (!parse) {
      const keys = Object.keys(given);
      if (keys.length > 0) {
        throw new CodedError(
          ErrorCode.BAD_OPTIONS,
          `mode ${mode} takes no options, got ${keys[0]}`,
        );
      }
      return {};
    }
    try {
      // Through msgpack and back: what the worker gets is exactly what was validated.
      return decode(encode(parse(structuredClone(given) as Record<string, unknown>) ?? null));
    } catch (error) {
      throw new CodedError(ErrorCode.BAD_OPTIONS, (error as Error).message, { cause: error });
    }
  }

  #seat(
    id: string,
    user: string,
    gateway: string,
    version: string | undefined,
    world?: { x: number; y: number; z: number },
  ): InstanceAnswer {
    const o = this.#o;
    const record = o.directory.reserve(id, user, gateway, { version, world });
    const mode = o.game.definition.instanceModes?.[record.mode] ?? {};
    return {
      instance: {
        placement: placementMessage(record),
        row: instanceRow(record),
        size: instanceSize(mode, o.world),
      },
    };
  }

  #destroyed(records: InstanceRecord[], why: string): void {
    for (const r of records) this.#o.log.info("instance.destroyed", { instance: r.id, why });
    this.#o.onDestroyed(records);
  }
}

/**
 * The coordinator's rooms: its instance and user directory and the service placing instances
 * on the registry's active workers of a version that takes new rooms (by their world entities).
 */
export function coordinatorRooms(
  options: Pick<InstanceServiceOptions, "config" | "game" | "world" | "onDestroyed" | "log"> & {
    registry: () => Registry;
    /** Workers of this version may get new rooms (a deploy: the live version only). */
    hostsNewRooms: (version: string) => boolean;
    /** Users of a downed gateway keep their seats this long (the gateways' resume grace). */
    lostGraceMs: number;
  },
): { directory: InstanceDirectory; service: InstanceService } {
  const directory = new InstanceDirectory({
    emptyGraceMs: options.config.emptyGraceMs,
    lostGraceMs: options.lostGraceMs,
  });
  const service = new InstanceService({
    ...options,
    directory,
    workers: () =>
      [...options.registry().workers.values()].filter((w) =>
        w.state === "active" && options.hostsNewRooms(w.version)
      ).map((w) => ({
        id: w.id,
        version: w.version,
        region: w.region,
        entities: w.cells.reduce((n, c) => n + c.entities, 0),
      })),
    regionOf: (worker) => options.registry().workers.get(worker)?.region ?? "",
  });
  return { directory, service };
}

/** An instance as MapUpdate lists it. */
export function placementMessage(record: InstanceRecord): InstancePlacementMessage {
  return {
    id: record.id,
    seq: record.seq,
    worker: record.worker,
    mode: record.mode,
    options: encode(record.options ?? null),
    maxPlayers: record.maxPlayers,
    moves: record.moves,
  };
}

function position(value: unknown): { x: number; y: number; z: number } {
  const p = map(value, "world");
  return { x: finite(p.x, "world.x"), y: finite(p.y, "world.y"), z: finite(p.z, "world.z") };
}

function searchQuery(raw: Record<string, unknown>): InstanceQuery {
  const q: InstanceQuery = {};
  if (raw.mode !== undefined) q.mode = str(raw.mode, "mode", 64);
  if (raw.version !== undefined) q.version = str(raw.version, "version", 64);
  if (raw.region !== undefined) q.region = str(raw.region, "region", 64);
  if (raw.tags !== undefined) {
    q.tags = array(raw.tags, "tags", 0, 8).map((t, n) => str(t, `tags[${n}]`, 32));
  }
  if (raw.open !== undefined) q.open = boolean(raw.open, "open");
  if (raw.after !== undefined) q.after = str(raw.after, "after", 64);
  if (raw.limit !== undefined) q.limit = integer(raw.limit, "limit", 1, MAX_PAGE);
  return q;
}
