// The game API: what a game module defines (`defineGame`) and the context the worker's tick
// hands it. Game code sees owned entities, ghosts near it, and sends interactions.
import type { Entity, EntityData, EntityState } from "../world/entity.ts";
import type { PlayerInput } from "../session/session_messages.ts";

/** Ids below this are reserved for entities spawned at world start (same on every worker). */
export const WORLD_ID_LIMIT = 2 ** 32;

/** What the tick gives the game: read and mutate owned entities, query, interact, spawn. */
export interface GameContext {
  /** The tick being simulated (global: the same number on every worker at the same time). */
  readonly tick: number;
  /** Seconds per tick. */
  readonly dt: number;
  /** Id of the worker running this tick. */
  readonly worker: string;
  /** The instance (room) this space is, or undefined in the open world. */
  readonly instance?: InstanceInfo;
  /** World extent per axis (origin 0) and dimensionality. */
  readonly size: readonly number[];
  readonly dims: 2 | 3;
  /** Seeded random numbers in [0, 1): deterministic for a given seed and worker. */
  random(): number;
  /** Entities owned by this worker. Do not add or remove while iterating; use spawn/remove. */
  owned(): Iterable<Entity>;
  /**
   * Fills `out` with owned entities and ghosts within `radius` of the point. Ghosts come as
   * read-only views: setting any field of one (or of its data) throws a TypeError.
   */
  near(x: number, y: number, z: number, radius: number, out: Entity[]): Entity[];
  /**
   * `near` about an entity's position (the entity itself included when owned or a ghost here).
   * The cheaper call in a per-entity loop: it passes no coordinates, and a call the optimizer
   * does not inline makes a heap object of each number passed to it.
   */
  around(entity: Entity, radius: number, out: Entity[]): Entity[];
  /** True when the entity is a read-only ghost of another worker's entity. */
  isGhost(entity: Entity): boolean;
  /**
   * Sends an interaction from an owned entity to any entity it can see (owned or ghost). It is
   * applied exactly once by the target's owner, on that owner's next tick, via `onInteract`.
   */
  interact(source: Entity, target: Entity, kind: string, data?: unknown): void;
  /** Creates an entity owned here; `id` only for world-start entities (below WORLD_ID_LIMIT). */
  spawn(
    type: string,
    position: { x: number; y: number; z?: number },
    data?: EntityData,
    id?: number,
  ): Entity;
  /** Removes an owned entity. */
  remove(entity: Entity): void;
}

/** What a game sees of the instance (room) a space is. */
export interface InstanceInfo {
  id: string;
  mode: string;
  /** The instance's options, as the mode's `parseOptions` returned them. */
  options: unknown;
  maxPlayers: number;
}

/** A kind of instance a game offers (its mode), keyed by name in `instanceModes`. */
export interface InstanceMode {
  /** Most players an instance takes; a CREATE may ask for fewer. */
  maxPlayers: number;
  /** Extent per axis of the instance's own space (default: one cell of the world). */
  size?: readonly number[];
  /**
   * Validates a CREATE's `options` (plain data) on the coordinator; throw (a TypeError or
   * RangeError with a message for the player) to refuse it with BAD_OPTIONS. Without this hook
   * the mode takes no options.
   */
  parseOptions?(raw: Record<string, unknown>): unknown;
  /**
   * The instance's space was created on a worker (before its first player joins): once per
   * instance, since one moved or taken over by a backup arrives with its entities.
   */
  onCreate?(ctx: GameContext, instance: InstanceInfo): void;
  /** The instance is being destroyed (by its owner, or empty past its grace period). */
  onDispose?(ctx: GameContext, instance: InstanceInfo): void;
}

/** An interaction as the target's owner receives it. */
export interface InteractionEvent {
  id: string;
  source: number;
  kind: string;
  data: unknown;
}

/** Description of an entity type (extensible; validated names only for now). */
export interface EntityTypeOptions {
  description?: string;
}

/** What a game's `parseOptions` hook gets besides the raw options. */
export interface GameOptionsContext {
  /** Where the options sit in the config ("game.options"), for error messages. */
  readonly field: string;
  readonly world: {
    readonly dims: 2 | 3;
    readonly size: readonly number[];
    readonly cellSize: number;
  };
  readonly aoiRadius: number;
  /** Stops start-up with `CONFIG_INVALID: <field>.<key>: <problem>` (one line). */
  fail(key: string, problem: string): never;
}

/** A game module: lifecycle hooks called by the worker's tick. */
export interface GameDefinition<Options = unknown> {
  name: string;
  /**
   * Every worker of a cluster runs the same name and version (default "0"); a new version goes
   * out with a deploy (docs/game-api.md, Game versions and deploys).
   */
  version?: string;
  entityTypes: Record<string, EntityTypeOptions>;
  /**
   * Fields of a player's `data` that last: saved to the player's account (registered accounts,
   * not guests) when its entity is removed and, when they changed, every `playerSaveMs`; put
   * back into `data` at its next login, before `onJoin` (so keep them there: `score ??= 0`).
   */
  persistent?: readonly string[];
  /**
   * Validates the config's `game.options` (raw JSON) into the options the hooks get. Without
   * this hook the game takes no options: any key fails start-up.
   */
  parseOptions?(raw: Record<string, unknown>, context: GameOptionsContext): Options;
  /** Called once when the world is first split; spawn what lives in cells this worker owns. */
  onWorldStart?(
    ctx: GameContext,
    owns: (x: number, y: number, z: number) => boolean,
    options: Options,
  ): void;
  onJoin?(ctx: GameContext, player: Entity, options: Options): void;
  /** A player's input: `{ seq, move: [dx, dy] or [dx, dy, dz] each in -1..1, action? }`. */
  onInput?(ctx: GameContext, player: Entity, input: PlayerInput, options: Options): void;
  onTick?(ctx: GameContext, options: Options): void;
  /**
   * An interaction sent to `target` (owned here). `source` is the sender when this worker can
   * see it (owned, or a read-only ghost), else undefined. `ctx.remove(target)` is allowed here.
   */
  onInteract?(
    ctx: GameContext,
    target: Entity,
    event: InteractionEvent,
    source: Entity | undefined,
  ): void;
  onLeave?(ctx: GameContext, player: Entity, options: Options): void;
  /**
   * Converts an entity written by another version of this game: a deploy moves cells (and
   * entities walk across borders) between workers of the two versions. Called on the receiving
   * worker with the sender's game version before the entity is adopted; change `entity.data`
   * in place or assign it a new object. Without it, data crosses versions as it is.
   */
  migrateState?(entity: EntityState, fromVersion: string, options: Options): void;
  /**
   * The instance modes players may create and join (rooms). The hooks above run in instances
   * too, with `ctx.instance` set; a player travelling in keeps its entity's `data`.
   */
  instanceModes?: Record<string, InstanceMode>;
}

const NAME = /^[A-Za-z][A-Za-z0-9_.-]{0,63}$/;
const VERSION = /^[A-Za-z0-9_.+-]{1,64}$/;

/** Marks values made by {@linkcode defineGame}, across copies of this module too. */
export const GAME_BRAND: unique symbol = Symbol.for("zonescaler.game") as never;

/** True when `value` was returned by {@linkcode defineGame}. */
export function isGameDefinition(value: unknown): value is GameDefinition<unknown> {
  return typeof value === "object" && value !== null &&
    (value as Record<symbol, unknown>)[GAME_BRAND] === true;
}

/**
 * Validates and returns a game definition.
 *
 * @example
 * ```ts
 * import { defineGame } from "./game.ts";
 * const game = defineGame({ name: "empty", entityTypes: { player: {} } });
 * if (game.name !== "empty") throw new Error("bad");
 * ```
 */
export function defineGame<Options = unknown>(
  definition: GameDefinition<Options>,
): GameDefinition<Options> {
  if (!NAME.test(definition.name)) {
    throw new TypeError(
      `Cannot define game: name ${JSON.stringify(definition.name)} is not a valid name`,
    );
  }
  const types = Object.keys(definition.entityTypes ?? {});
  if (types.length === 0) {
    throw new TypeError(`Cannot define game ${definition.name}: no entityTypes`);
  }
  for (const type of types) {
    if (!NAME.test(type)) {
      throw new TypeError(
        `Cannot define game ${definition.name}: entity type ${
          JSON.stringify(type)
        } is not a valid name`,
      );
    }
  }
  for (const [mode, spec] of Object.entries(definition.instanceModes ?? {})) {
    if (!NAME.test(mode)) {
      throw new TypeError(
        `Cannot define game ${definition.name}: instance mode ${
          JSON.stringify(mode)
        } is not a valid name`,
      );
    }
    if (!Number.isSafeInteger(spec.maxPlayers) || spec.maxPlayers < 1) {
      throw new RangeError(
        `Cannot define game ${definition.name}: instance mode ${mode} needs maxPlayers >= 1`,
      );
    }
  }
  for (const field of definition.persistent ?? []) {
    if (typeof field !== "string" || !NAME.test(field)) {
      throw new TypeError(
        `Cannot define game ${definition.name}: persistent field ${
          JSON.stringify(field)
        } is not a valid name`,
      );
    }
  }
  if (definition.version !== undefined && !VERSION.test(definition.version)) {
    throw new TypeError(
      `Cannot define game ${definition.name}: version ${
        JSON.stringify(definition.version)
      } is not 1-64 characters of A-Z a-z 0-9 _ . + -`,
    );
  }
  Object.defineProperty(definition, GAME_BRAND, { value: true });
  return definition;
}
