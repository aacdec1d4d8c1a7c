// Loading the game a node runs: the built-in demo or the module named by `--game` /
// `game.module` (its default export a `defineGame` value), its options validated by the game,
// and the registration check that every worker runs the coordinator's game.
import { isAbsolute, resolve } from "node:path";
import { pathToFileURL } from "node:url";
import type { Config } from "../config/schema.ts";
import { optionsContext } from "../config/game_options.ts";
import { ConfigError } from "../errors.ts";
import { type GameDefinition, isGameDefinition } from "../sim/game.ts";
import { demoGame } from "./demo.ts";

/** A game ready to run: its definition and validated options. */
export interface LoadedGame {
  definition: GameDefinition<unknown>;
  options: unknown;
  /** Name and version every worker of the cluster must share. */
  name: string;
  version: string;
  /** Seed of the space's random numbers: the options' integer `seed`, else 1. */
  seed: number;
}

/**
 * Loads `config.game`: imports the module (a path relative to the working directory, or a
 * URL), checks its default export is a `defineGame` value and validates the options with its
 * `parseOptions` hook. Every problem is a one-line {@linkcode ConfigError}.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { DEFAULTS } from "../config/schema.ts";
 * const game = await loadGame(DEFAULTS);
 * assert.equal(game.name, "demo");
 * await assert.rejects(
 *   loadGame({ ...DEFAULTS, game: { module: "./no/such/game.ts", options: {} } }),
 *   /CONFIG_INVALID: game\.module: cannot import "\.\/no\/such\/game\.ts"/,
 * );
 * ```
 */
export async function loadGame(
  config: Pick<Config, "game" | "world" | "aoiRadius">,
): Promise<LoadedGame> {
  const { module, options: raw } = config.game;
  const context = optionsContext("game.options", config.aoiRadius, config.world);
  let definition: GameDefinition<unknown>;
  if (module === "") {
    definition = demoGame as GameDefinition<unknown>;
  } else {
    let exports: Record<string, unknown>;
    try {
      exports = await import(moduleUrl(module));
    } catch (error) {
      const reason = (error instanceof Error ? error.message : String(error)).split("\n")[0];
      throw new ConfigError("game.module", `cannot import ${JSON.stringify(module)}: ${reason}`, {
        cause: error,
      });
    }
    if (!isGameDefinition(exports.default)) {
      throw new ConfigError(
        "game.module",
        `${JSON.stringify(module)} has no default export made by defineGame(...)`,
      );
    }
    definition = exports.default;
  }
  let options: unknown;
  try {
    options = definition.parseOptions
      ? definition.parseOptions(raw, context)
      : noOptions(raw, context);
  } catch (error) {
    if (error instanceof ConfigError) throw error;
    throw new ConfigError("game.options", (error as Error)?.message ?? String(error), {
      cause: error,
    });
  }
  const seed = (options as { seed?: unknown } | null)?.seed;
  return {
    definition,
    options,
    name: definition.name,
    version: definition.version ?? "0",
    seed: typeof seed === "number" && Number.isSafeInteger(seed) ? seed : 1,
  };
}

function moduleUrl(module: string): string {
  if (/^(file|https?|data):/.test(module)) return module;
  return pathToFileURL(isAbsolute(module) ? module : resolve(Deno.cwd(), module)).href;
}

function noOptions(raw: Record<string, unknown>, context: ReturnType<typeof optionsContext>) {
  for (const key of Object.keys(raw)) {
    context.fail(key, "unknown key (this game defines no parseOptions, so it takes no options)");
  }
  return {};
}

/**
 * Why a worker cannot join: its game differs from the coordinator's (undefined when it may).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * const cluster = { name: "coins", version: "1" };
 * assert.equal(gameMismatch({ gameName: "coins", gameVersion: "1" }, cluster), undefined);
 * assert.match(gameMismatch({ gameName: "demo", gameVersion: "1" }, cluster)!, /runs game demo@1/);
 * ```
 */
export function gameMismatch(
  worker: { gameName?: string; gameVersion?: string },
  cluster: { name: string; version: string },
): string | undefined {
  const name = worker.gameName || "?", version = worker.gameVersion || "?";
  if (name === cluster.name && version === cluster.version) return undefined;
  return `GAME_MISMATCH: the worker runs game ${name}@${version} but the cluster runs ` +
    `${cluster.name}@${cluster.version}; start every node with the same --game`;
}
