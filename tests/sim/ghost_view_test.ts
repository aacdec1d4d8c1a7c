// Game code and ghosts in a two-space cluster on the real codec: a ghost from ctx.near is
// read-only (a write throws, naming its owner), and onInteract gets the source when visible.
import assert from "node:assert/strict";
import { defineGame, type GameDefinition } from "../../src/sim/game.ts";
import type { Entity } from "../../src/world/entity.ts";
import { Grid } from "../../src/world/grid.ts";
import { PartitionMap } from "../../src/world/partition.ts";
import { LocalCluster } from "../../testing/local_cluster.ts";
import { GhostViews } from "../../src/sim/ghost_view.ts";
import { makeEntity } from "../../src/world/entity.ts";

Deno.test("a ghost seen by game code is read-only and an interaction's visible source is given", () => {
  const writes: string[] = [];
  const sources: Array<{ type: string; ghost: boolean } | undefined> = [];
  const found: Entity[] = [];
  const game = defineGame({
    name: "border",
    entityTypes: { post: {} },
    onWorldStart(ctx, owns) {
      // Two posts 10 apart across the border at x = 100.
      if (owns(95, 50, 0)) ctx.spawn("post", { x: 95, y: 50 }, { hits: 0 }, 1);
      if (owns(105, 50, 0)) ctx.spawn("post", { x: 105, y: 50 }, { hits: 0 }, 2);
    },
    onTick(ctx) {
      for (const post of ctx.owned()) {
        if (post.id !== 1) continue;
        for (const other of ctx.near(post.x, post.y, 0, 20, found)) {
          if (!ctx.isGhost(other)) continue;
          try {
            other.data.hits = 99;
          } catch (error) {
            writes.push((error as Error).message);
          }
          if (ctx.tick % 10 === 0) ctx.interact(post, other, "poke");
        }
      }
    },
    onInteract(ctx, target, _event, source) {
      target.data.hits = (target.data.hits as number) + 1;
      sources.push(source && { type: source.type, ghost: ctx.isGhost(source) });
    },
  });
  const cluster = runAcrossBorder(game, 40);
  assert.ok(writes.length > 0, "the ghost was seen");
  assert.match(
    writes[0],
    /^Cannot set hits of entity 2: it is a ghost of an entity owned by worker b; send it an interaction/,
  );
  const target = cluster.get("b").owned.get(2)!;
  assert.ok((target.data.hits as number) >= 1, "pokes arrived, and the write did not");
  assert.notEqual(target.data.hits, 99);
  assert.ok(sources.length >= 1);
  assert.deepEqual(sources[0], { type: "post", ghost: true });
});

Deno.test("around(entity) finds what near finds at the entity's position, its ghosts read-only too", () => {
  const seen: Array<{ around: number[]; near: number[]; ghostWrite: string }> = [];
  const game = defineGame({
    name: "around",
    entityTypes: { post: {} },
    onWorldStart(ctx, owns) {
      // Posts 1 and 2 across the border at x = 100, post 3 out of reach of post 1.
      for (const [id, x, y] of [[1, 95, 50], [2, 105, 50], [3, 150, 90]]) {
        if (owns(x, y, 0)) ctx.spawn("post", { x, y }, { hits: 0 }, id);
      }
    },
    onTick(ctx) {
      const post = [...ctx.owned()].find((e) => e.id === 1);
      if (!post) return;
      const around = ctx.around(post, 20, []);
      const near = ctx.near(post.x, post.y, post.z, 20, []);
      let ghostWrite = "";
      for (const other of around) {
        if (!ctx.isGhost(other)) continue;
        try {
          other.x = 0;
        } catch (error) {
          ghostWrite = (error as Error).message;
        }
      }
      seen.push({
        around: around.map((e) => e.id).sort(),
        near: near.map((e) => e.id).sort(),
        ghostWrite,
      });
    },
  });
  const cluster = runAcrossBorder(game, 5);
  const last = seen.at(-1)!;
  assert.deepEqual(last.around, [1, 2], "itself and the ghost across the border, not post 3");
  assert.deepEqual(last.around, last.near);
  assert.match(last.ghostWrite, /^Cannot set x of entity 2: it is a ghost/);
  assert.equal(cluster.get("b").owned.get(2)!.x, 105, "the write did not reach the owner");
});

/** Two spaces split at x = 100 (a west, b east), ghost margin 30, run for `ticks` ticks. */
function runAcrossBorder(game: GameDefinition<unknown>, ticks: number): LocalCluster {
  const cluster = LocalCluster.of(["a", "b"], {
    grid: new Grid({ dims: 2, size: [200, 100], cellSize: 100 }),
    tickHz: 20,
    ghostMargin: 30,
    game,
    gameOptions: {},
  });
  cluster.setMap(new PartitionMap(1, ["a", "b"]));
  cluster.run(1, ticks);
  return cluster;
}

Deno.test("a ghost's view reads every field of its record, follows its updates and refuses every write", () => {
  const views = new GhostViews();
  const ghost = makeEntity(9, "npc", { x: 1, y: 2, z: 3 }, { hp: 3, bag: { gold: 1 } }, "w2");
  ghost.vx = 4;
  const view = views.of(ghost);
  assert.equal(views.of(ghost), view, "one view per record");
  assert.deepEqual(
    [view.id, view.type, view.x, view.y, view.z, view.vx, view.owner, view.slot],
    [9, "npc", 1, 2, 3, 4, "w2", ghost.slot],
  );
  assert.deepEqual(JSON.parse(JSON.stringify(view)), JSON.parse(JSON.stringify(ghost)));
  ghost.x = 7;
  ghost.data = { hp: 1 };
  assert.deepEqual([view.x, view.data.hp], [7, 1], "a batch's writes show through");
  const writes: Array<(e: Entity) => void> = [
    (e) => (e.x = 0),
    (e) => (e.vy = 0),
    (e) => (e.type = "boss"),
    (e) => (e.owner = "w1"),
    (e) => (e.cell = 0),
    (e) => (e.data = {}),
    (e) => (e.data.hp = 0),
    (e) => delete e.data.hp,
  ];
  for (const write of writes) {
    assert.throws(
      () => write(view),
      /^TypeError: Cannot set \w+ of entity 9: it is a ghost of an entity owned by worker w2/,
    );
  }
  assert.deepEqual([ghost.x, ghost.vy, ghost.type, ghost.owner, ghost.data], [7, 0, "npc", "w2", {
    hp: 1,
  }]);
  const nested = views.of(makeEntity(10, "npc", { x: 0, y: 0 }, { bag: { gold: 1 } }, "w2"));
  assert.throws(
    () => ((nested.data.bag as { gold: number }).gold = 2),
    /Cannot set gold of entity 10/,
  );
});
