// Loading game modules: the demo by default, a module's defineGame export, its options
// validated by its parseOptions hook, and the registration check between games.
import assert from "node:assert/strict";
import { DEFAULTS, parseConfig, parseFlags } from "../../src/config/config.ts";
import { gameMismatch, loadGame } from "../../src/games/game_module.ts";

Deno.test("--game FILE sets game.module and keeps the game's options apart", () => {
  assert.deepEqual(parseFlags(["--game", "examples/coins.ts"]).overrides, {
    game: { module: "examples/coins.ts" },
  });
  const config = parseConfig({ game: { module: "examples/coins.ts", options: { coins: 3 } } });
  assert.deepEqual(config.game, { module: "examples/coins.ts", options: { coins: 3 } });
  assert.equal(parseConfig({}).game.module, "");
});

Deno.test("the demo's options validate in both the legacy and the module form", () => {
  assert.equal(parseConfig({ game: { npcs: 7 } }).game.options.npcs, 7);
  assert.equal(parseConfig({ game: { options: { npcs: 8 } } }).game.options.npcs, 8);
  assert.throws(
    () => parseConfig({ game: { options: { npc: 8 } } }),
    /^ConfigError: CONFIG_INVALID: game\.options\.npc: unknown key$/,
  );
  assert.throws(
    () => parseConfig({ game: { module: "x.ts", npcs: 3 } }),
    /CONFIG_INVALID: game\.npcs: unknown key \(with game\.module, a game's options go in game\.options\)/,
  );
});

Deno.test("a module's options go through its parseOptions hook, naming the bad field", async () => {
  const coins = await loadGame({
    ...DEFAULTS,
    game: { module: "examples/coins.ts", options: { coins: 12 } },
  });
  assert.equal(coins.name, "coins");
  assert.equal(coins.version, "1");
  assert.deepEqual(coins.options, { coins: 12 });
  await assert.rejects(
    loadGame({ ...DEFAULTS, game: { module: "examples/coins.ts", options: { coins: "many" } } }),
    /^ConfigError: CONFIG_INVALID: game\.options\.coins: expected an integer, got many$/,
  );
});

Deno.test("a module without a defineGame default export is refused with one line", async () => {
  await assert.rejects(
    loadGame({
      ...DEFAULTS,
      game: { module: "tests/integration/fixtures/not_a_game.ts", options: {} },
    }),
    /CONFIG_INVALID: game\.module: ".*not_a_game\.ts" has no default export made by defineGame/,
  );
});

Deno.test("workers of another game name or version do not match the cluster's", () => {
  const cluster = { name: "coins", version: "2" };
  assert.equal(gameMismatch({ gameName: "coins", gameVersion: "2" }, cluster), undefined);
  assert.match(gameMismatch({ gameName: "coins", gameVersion: "1" }, cluster)!, /coins@1/);
  assert.match(gameMismatch({}, cluster)!, /runs game \?@\?/);
});
