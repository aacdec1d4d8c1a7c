// Coins: walk over a coin to pick it up (it reappears elsewhere); your score is in your data.
// Run it: npm start -- --game examples/coins.ts   (options: { "coins": N }, default 5000)
import { defineGame, type Entity } from "../mod.ts";

const found: Entity[] = [];
const clamp = (v: number, extent: number) => Math.min(Math.max(v, 0), extent - 1e-6);

export default defineGame({
  name: "coins",
  version: "1",
  entityTypes: { coin: {}, player: {} },
  persistent: ["score"], // saved to a registered player's account; back at its next login
  parseOptions({ coins = 5000, ...rest }, { fail }) {
    for (const key of Object.keys(rest)) fail(key, "unknown key");
    if (!Number.isSafeInteger(coins)) fail("coins", `expected an integer, got ${coins}`);
    return { coins: coins as number };
  },
  onWorldStart(ctx, owns, { coins }) {
    // Every worker computes the same spots (a low-discrepancy sequence) and spawns its own.
    for (let i = 1; i <= coins; i++) {
      const x = (i * 0.7548776662 % 1) * ctx.size[0], y = (i * 0.5698402910 % 1) * ctx.size[1];
      if (owns(x, y, 0)) ctx.spawn("coin", { x, y }, {}, i);
    }
  },
  onJoin: (_ctx, player) => void (player.data.score ??= 0),
  onInput: (_ctx, p, { move: [dx = 0, dy = 0] }) => void ([p.vx, p.vy] = [dx * 20, dy * 20]),
  onTick(ctx) {
    for (const p of ctx.owned()) {
      if (p.type !== "player") continue;
      p.x = clamp(p.x + p.vx * ctx.dt, ctx.size[0]), p.y = clamp(p.y + p.vy * ctx.dt, ctx.size[1]);
      for (const coin of ctx.near(p.x, p.y, 0, 3, found)) {
        if (coin.type !== "coin" || ctx.isGhost(coin)) continue; // a ghost is another's to move
        p.data.score = (p.data.score as number) + 1;
        coin.x = clamp(coin.x + (ctx.random() - 0.5) * 60, ctx.size[0]); // it hops away
        coin.y = clamp(coin.y + (ctx.random() - 0.5) * 60, ctx.size[1]);
      }
    }
  },
});
