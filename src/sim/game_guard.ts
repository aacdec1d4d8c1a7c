// A game's hooks behind a guard: an exception thrown by game code is reported (with the game's
// stack) and counted, and the worker's tick goes on — sync, handoffs and diffs still happen.
import type { GameDefinition } from "./game.ts";

/** The hooks the guard wraps. */
export type GameHook =
  | "onWorldStart"
  | "onJoin"
  | "onInput"
  | "onTick"
  | "onInteract"
  | "onLeave"
  | "migrateState";
const HOOKS: readonly GameHook[] = [
  "onWorldStart",
  "onJoin",
  "onInput",
  "onTick",
  "onInteract",
  "onLeave",
  "migrateState",
];

/**
 * A copy of `game` whose hooks catch what they throw and hand it to `onError`.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { defineGame } from "./game.ts";
 * const errors: string[] = [];
 * const game = guardGame(
 *   defineGame({ name: "oops", entityTypes: { player: {} }, onTick() { throw new Error("bug"); } }),
 *   (hook, error) => errors.push(`${hook}: ${(error as Error).message}`),
 * );
 * game.onTick!({} as never, undefined);
 * assert.deepEqual(errors, ["onTick: bug"]);
 * ```
 */
export function guardGame<Options>(
  game: GameDefinition<Options>,
  onError: (hook: GameHook, error: unknown) => void,
): GameDefinition<Options> {
  const guarded: GameDefinition<Options> = Object.create(game);
  for (const hook of HOOKS) {
    const original = game[hook] as ((...args: unknown[]) => void) | undefined;
    if (!original) continue;
    (guarded as unknown as Record<string, unknown>)[hook] = (...args: unknown[]) => {
      try {
        original.apply(game, args);
      } catch (error) {
        onError(hook, error);
      }
    };
  }
  return guarded;
}

/**
 * The worker's handler of game errors: counts every one (`count`, the `GAME_ERROR` metric) and
 * logs `game.error` with the game's stack for the first 10 of each hook, then every 100th.
 */
export function gameErrorReporter(
  log: { error(event: string, fields: Record<string, unknown>): void },
  count: () => void,
): (hook: GameHook, error: unknown) => void {
  const seen = new Map<GameHook, number>();
  return (hook, error) => {
    count();
    const n = (seen.get(hook) ?? 0) + 1;
    seen.set(hook, n);
    if (n > 10 && n % 100 !== 0) return;
    const stack = error instanceof Error ? error.stack : String(error);
    log.error("game.error", { hook, count: n, error, stack });
  };
}
