// Sky: a 3D world of drifting drones. A player flies with 3D moves and sends an INPUT payload
// `{ "tag": true }` to tag every drone within 30 units — its own worker's or, across a worker
// border, a ghost of another's. The drone's owner counts the tag and answers the player, whose
// `hits` count every client near it sees.
// Run it: npm start -- --game examples/sky.ts --config examples/sky.json
import { defineGame, type Entity, type GameContext } from "../mod.ts";

const found: Entity[] = [];

function fly(ctx: GameContext, e: Entity): void {
  const axes = ["x", "y", "z"] as const, speeds = ["vx", "vy", "vz"] as const;
  for (let axis = 0; axis < 3; axis++) {
    const next = e[axes[axis]] + e[speeds[axis]] * ctx.dt, extent = ctx.size[axis];
    if (next < 0 || next >= extent) e[speeds[axis]] = -e[speeds[axis]]; // bounce off the walls
    e[axes[axis]] = Math.min(Math.max(next, 0), extent - 1e-6);
  }
}

export default defineGame({
  name: "sky",
  version: "1",
  entityTypes: { drone: { description: "drifts in 3D" }, player: { description: "flies" } },
  parseOptions({ drones = 2000, ...rest }, { fail, world }) {
    for (const key of Object.keys(rest)) fail(key, "unknown key");
    if (!Number.isSafeInteger(drones)) fail("drones", `expected an integer, got ${drones}`);
    if (world.dims !== 3) fail("drones", "the sky game needs world.dims 3 (examples/sky.json)");
    return { drones: drones as number };
  },
  onWorldStart(ctx, owns, { drones }) {
    for (let i = 1; i <= drones; i++) {
      // The same spots on every worker (a 3D low-discrepancy sequence); each spawns its own.
      const [x, y, z] = [0.8191725134, 0.6710436067, 0.5497004779].map((a, axis) =>
        (i * a % 1) * ctx.size[axis]
      );
      if (!owns(x, y, z)) continue;
      const drone = ctx.spawn("drone", { x, y, z }, { tags: 0 }, i);
      [drone.vx, drone.vy, drone.vz] = [ctx.random() - 0.5, ctx.random() - 0.5, ctx.random() - 0.5]
        .map((v) => v * 20);
    }
  },
  onJoin: (_ctx, player) => void (player.data.hits = 0),
  onInput(ctx, player, { move: [dx = 0, dy = 0, dz = 0], data }) {
    [player.vx, player.vy, player.vz] = [dx * 40, dy * 40, dz * 40];
    if ((data as { tag?: unknown } | undefined)?.tag !== true) return;
    for (const drone of ctx.near(player.x, player.y, player.z, 30, found)) {
      if (drone.type === "drone") ctx.interact(player, drone, "tag");
    }
  },
  onTick(ctx) {
    for (const e of ctx.owned()) fly(ctx, e);
  },
  onInteract(ctx, target, event, source) {
    if (event.kind === "tag" && target.type === "drone") {
      target.data.tags = (target.data.tags as number) + 1;
      if (source) ctx.interact(target, source, "tagged"); // back across the border if need be
    } else if (event.kind === "tagged" && target.type === "player") {
      target.data.hits = (target.data.hits as number) + 1;
    }
  },
});
