// Rooms: walk the open world, or play in an instance: "duel" (2 players) or "arena" (up to 4,
// options { rounds: 1..10 }, a flag in the middle). Your score (action "score") travels with you.
// Run it: npm start -- --game examples/rooms.ts   (then CREATE / JOIN, docs/protocol.md, Rooms)
import { defineGame } from "../mod.ts";

const clamp = (v: number, extent: number) => Math.min(Math.max(v, 0), extent - 1e-6);

export default defineGame({
  name: "rooms",
  version: "1",
  entityTypes: { player: {}, flag: {} },
  instanceModes: {
    duel: { maxPlayers: 2, size: [100, 100] },
    arena: {
      maxPlayers: 4,
      size: [200, 200],
      parseOptions({ rounds = 3, ...rest }) {
        for (const key of Object.keys(rest)) throw new TypeError(`unknown option ${key}`);
        if (!Number.isSafeInteger(rounds) || (rounds as number) < 1 || (rounds as number) > 10) {
          throw new RangeError(`rounds must be an integer in 1..10, got ${rounds}`);
        }
        return { rounds };
      },
      onCreate: (ctx, room) =>
        void ctx.spawn("flag", { x: 100, y: 100 }, { ...room.options as object }),
    },
  },
  onJoin: (ctx, p) => void (p.data.score ??= 0, p.data.place = ctx.instance?.mode ?? "world"),
  onInput(_ctx, p, { move: [dx = 0, dy = 0], action }) {
    [p.vx, p.vy] = [dx * 20, dy * 20];
    if (action === "score") p.data.score = (p.data.score as number) + 1;
  },
  onTick(ctx) {
    for (const p of ctx.owned()) {
      if (p.type !== "player") continue;
      p.x = clamp(p.x + p.vx * ctx.dt, ctx.size[0]), p.y = clamp(p.y + p.vy * ctx.dt, ctx.size[1]);
    }
  },
});
