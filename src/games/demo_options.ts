// The demo game's options: their defaults and the validation behind its `parseOptions` hook
// (also the legacy config form, where the demo's keys sit directly under `game`).
import { configFields as read, pick, show } from "../config/config_fields.ts";
import type { GameOptionsContext } from "../sim/game.ts";
import type { DemoOptions } from "./demo.ts";

/** Defaults of every demo option. */
export const DEMO_DEFAULTS: Readonly<Required<DemoOptions>> = Object.freeze({
  npcs: 400,
  speed: 40,
  bumpRadius: 4,
  bumpCooldownTicks: 20,
  seed: 1,
  hotspot: Object.freeze({ at: Object.freeze([0, 0]) as number[], radius: 0, fraction: 0 }),
});

/**
 * Validates raw demo options, every absent key taken from {@linkcode DEMO_DEFAULTS}.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { ConfigError } from "../errors.ts";
 * const context = {
 *   field: "game.options",
 *   world: { dims: 2 as const, size: [100, 100], cellSize: 50 },
 *   aoiRadius: 20,
 *   fail(key: string, problem: string): never {
 *     throw new ConfigError(`game.options.${key}`, problem);
 *   },
 * };
 * assert.equal(parseDemoOptions({ npcs: 3 }, context).npcs, 3);
 * assert.throws(() => parseDemoOptions({ npc: 3 }, context), /game\.options\.npc: unknown key/);
 * ```
 */
export function parseDemoOptions(
  raw: Record<string, unknown>,
  context: GameOptionsContext,
): Required<DemoOptions> {
  const field = (key: string) => `${context.field}.${key}`;
  for (const key of Object.keys(raw)) {
    if (!Object.hasOwn(DEMO_DEFAULTS, key)) context.fail(key, "unknown key");
  }
  const value = (key: keyof DemoOptions) => pick(raw, key, DEMO_DEFAULTS[key]);
  const npcs = read.integer(value("npcs"), field("npcs"), 0, 1_000_000);
  const speed = read.finite(value("speed"), field("speed"), 0);
  const bumpRadius = read.positive(value("bumpRadius"), field("bumpRadius"));
  if (bumpRadius > context.aoiRadius) {
    context.fail("bumpRadius", `must be <= aoiRadius (${context.aoiRadius}), got ${bumpRadius}`);
  }
  const bumpCooldownTicks = read.integer(value("bumpCooldownTicks"), field("bumpCooldownTicks"));
  const seed = read.integer(value("seed"), field("seed"), -Number.MAX_SAFE_INTEGER);
  const hotspot = parseHotspot(value("hotspot"), context);
  return { npcs, speed, bumpRadius, bumpCooldownTicks, seed, hotspot };
}

function parseHotspot(
  raw: unknown,
  context: GameOptionsContext,
): Required<DemoOptions>["hotspot"] {
  const name = `${context.field}.hotspot`;
  const h = read.map(raw, name);
  for (const key of Object.keys(h)) {
    if (!Object.hasOwn(DEMO_DEFAULTS.hotspot, key)) context.fail(`hotspot.${key}`, "unknown key");
  }
  const at = pick(h, "at", DEMO_DEFAULTS.hotspot.at);
  if (!Array.isArray(at) || at.length < 2 || at.length > 3) {
    context.fail("hotspot.at", `expected [x, y] or [x, y, z], got ${show(at)}`);
  }
  at.forEach((v, axis) => read.finite(v, `${name}.at[${axis}]`, 0));
  const fraction = read.finite(pick(h, "fraction", 0), `${name}.fraction`, 0);
  if (fraction > 1) context.fail("hotspot.fraction", `expected a number in 0..1, got ${fraction}`);
  const radius = read.finite(pick(h, "radius", 0), `${name}.radius`, 0);
  if (fraction > 0 && radius <= 0) context.fail("hotspot.radius", "must be > 0 when fraction > 0");
  const size = context.world.size;
  for (let axis = 0; axis < at.length && fraction > 0; axis++) {
    if (at[axis] >= (size[axis] ?? Infinity)) {
      context.fail(
        `hotspot.at[${axis}]`,
        `must lie inside the world (< ${size[axis]}), got ${at[axis]}`,
      );
    }
  }
  return { at: [...at] as number[], radius, fraction };
}
