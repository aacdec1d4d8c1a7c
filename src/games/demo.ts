// The built-in demo game: NPCs wander the whole world (so they keep crossing worker borders)
// and bump into each other; a bump pushes the target away and counts on it.
import { defineGame, type GameContext } from "../sim/game.ts";
import type { Entity } from "../world/entity.ts";
import { mulberry32 } from "../sim/random.ts";
import { parseDemoOptions } from "./demo_options.ts";

/** Options of the demo game (config key `game`). */
export interface DemoOptions {
  npcs: number;
  speed: number;
  bumpRadius: number;
  bumpCooldownTicks: number;
  seed: number;
  /** A crowd (a town, a raid): `fraction` of the NPCs live within `radius` of `at`. */
  hotspot?: { at: number[]; radius: number; fraction: number };
}

/**
 * Deterministic spawn position of NPC `i`: every worker computes the same one, so each spawns
 * exactly the NPCs in its own cells. NPCs of the hotspot's share spawn inside it.
 */
export function npcSpawn(i: number, options: DemoOptions, size: readonly number[]): number[] {
  const r = mulberry32(
    Math.imul(options.seed ^ 0x9e3779b9, 0x85ebca6b) ^ Math.imul(i + 1, 0xc2b2ae35),
  );
  const hotspot = options.hotspot;
  if (hotspot && i < Math.floor(options.npcs * hotspot.fraction)) {
    // Uniform in the disc (ball in 3D) around the hotspot, clipped to the world.
    const radius = hotspot.radius * Math.sqrt(r());
    const angle = r() * Math.PI * 2;
    const offsets = [Math.cos(angle) * radius, Math.sin(angle) * radius, (r() - 0.5) * radius];
    return size.map((extent, axis) =>
      Math.min(Math.max((hotspot.at[axis] ?? extent / 2) + offsets[axis], 0), extent - 1e-6)
    );
  }
  return size.map((extent) => r() * extent);
}

function setHeading(e: Entity, ctx: GameContext, speed: number): void {
  const angle = ctx.random() * Math.PI * 2;
  e.vx = Math.cos(angle) * speed;
  e.vy = Math.sin(angle) * speed;
  e.vz = ctx.dims === 3 ? (ctx.random() - 0.5) * speed : 0;
}

const scratch: Entity[] = [];

/** The demo game definition used when no `--game` module is given. */
export const demoGame = defineGame<DemoOptions>({
  name: "demo",
  version: "1",
  entityTypes: { npc: { description: "wanders and bumps" }, player: { description: "a client" } },
  parseOptions: parseDemoOptions,

  onWorldStart(ctx, owns, options) {
    const crowd = options.hotspot ? Math.floor(options.npcs * options.hotspot.fraction) : 0;
    for (let i = 0; i < options.npcs; i++) {
      const [x, y, z = 0] = npcSpawn(i, options, ctx.size);
      if (!owns(x, y, z)) continue;
      const data: Record<string, unknown> = { bumps: 0, cooldownUntil: 0 };
      if (i < crowd) data.home = 1;
      const e = ctx.spawn("npc", { x, y, z }, data, i + 1);
      setHeading(e, ctx, options.speed);
    }
  },

  onInput(ctx, player, input, options) {
    // Players walk a little faster than NPCs, in the direction of their intent; a 2D world
    // ignores dz (docs/protocol.md, INPUT), so it neither moves nor slows the player.
    const speed = options.speed * 1.5;
    const [dx = 0, dy = 0, moveZ = 0] = input.move;
    const dz = ctx.dims === 3 ? moveZ : 0;
    const length = Math.hypot(dx, dy, dz);
    const scale = length > 1 ? speed / length : speed;
    player.vx = dx * scale;
    player.vy = dy * scale;
    player.vz = dz * scale;
  },

  onTick(ctx, options) {
    const { dt, size, tick } = ctx;
    for (const e of ctx.owned()) {
      if (e.type === "player") {
        e.x = Math.min(Math.max(e.x + e.vx * dt, 0), size[0] - 1e-6);
        e.y = Math.min(Math.max(e.y + e.vy * dt, 0), size[1] - 1e-6);
        if (ctx.dims === 3) e.z = Math.min(Math.max(e.z + e.vz * dt, 0), size[2] - 1e-6);
        continue;
      }
      if (e.type !== "npc") continue;
      if (ctx.random() < 0.01) setHeading(e, ctx, options.speed);
      const hotspot = options.hotspot;
      if (e.data.home === 1 && hotspot) {
        // Leashed to the crowd: once outside it, head back toward its centre.
        const dx = hotspot.at[0] - e.x, dy = hotspot.at[1] - e.y;
        const distance = Math.hypot(dx, dy);
        if (distance > hotspot.radius && distance > 0) {
          e.vx = (dx / distance) * options.speed;
          e.vy = (dy / distance) * options.speed;
        }
      }
      e.x += e.vx * dt;
      e.y += e.vy * dt;
      e.z += e.vz * dt;
      // Reflect off the world's edges.
      if (e.x < 0 || e.x >= size[0]) {
        (e.vx = -e.vx, e.x = Math.min(Math.max(e.x, 0), size[0] - 1e-6));
      }
      if (e.y < 0 || e.y >= size[1]) {
        (e.vy = -e.vy, e.y = Math.min(Math.max(e.y, 0), size[1] - 1e-6));
      }
      if (ctx.dims === 3 && (e.z < 0 || e.z >= size[2])) {
        e.vz = -e.vz;
        e.z = Math.min(Math.max(e.z, 0), size[2] - 1e-6);
      }
      const cooldown = e.data.cooldownUntil as number;
      if (cooldown > tick) continue;
      for (const other of ctx.around(e, options.bumpRadius, scratch)) {
        // The lower id initiates, so a pair seen on two workers bumps once, not twice.
        if (other.id <= e.id) continue;
        ctx.interact(e, other, "bump", { x: e.x, y: e.y, z: e.z });
        e.data.cooldownUntil = tick + options.bumpCooldownTicks;
        e.vx = -e.vx;
        e.vy = -e.vy;
        break;
      }
    }
  },

  onInteract(_ctx, target, event) {
    if (event.kind !== "bump") return;
    const from = event.data as { x?: unknown; y?: unknown };
    target.data.bumps = (target.data.bumps as number ?? 0) + 1;
    if (typeof from?.x !== "number" || typeof from?.y !== "number") return;
    // Push the target directly away from where the bump came from, keeping its speed.
    const dx = target.x - from.x, dy = target.y - from.y;
    const length = Math.hypot(dx, dy);
    const speed = Math.hypot(target.vx, target.vy);
    if (length > 0 && speed > 0) {
      target.vx = (dx / length) * speed;
      target.vy = (dy / length) * speed;
    }
  },
});
