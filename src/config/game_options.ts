// The context a game's `parseOptions` hook validates in: where its options sit in the config,
// the world they must fit, and one way to fail start-up naming the field.
import { ConfigError } from "../errors.ts";
import type { GameOptionsContext } from "../sim/game.ts";
import type { WorldConfig } from "./schema.ts";

/**
 * Builds the context of a `parseOptions` call for options at `field` ("game.options").
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * const context = optionsContext("game.options", 50, { dims: 2, size: [10, 10], cellSize: 5 });
 * assert.throws(() => context.fail("speed", "unknown key"), /CONFIG_INVALID: game\.options\.speed: unknown key/);
 * ```
 */
export function optionsContext(
  field: string,
  aoiRadius: number,
  world: WorldConfig,
): GameOptionsContext {
  return {
    field,
    world: { dims: world.dims, size: [...world.size], cellSize: world.cellSize },
    aoiRadius,
    fail(key, problem) {
      throw new ConfigError(`${field}.${key}`, problem);
    },
  };
}
