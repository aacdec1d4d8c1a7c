import assert from "node:assert/strict";
import { PlayerViews } from "../../src/sim/player_views.ts";
import { GridIndex } from "../../src/world/grid_index.ts";
import { type Entity, makeEntity } from "../../src/world/entity.ts";
import { mulberry32 } from "../../src/sim/random.ts";
import { dataColumns } from "../../src/world/entity_positions.ts";
import type { SessionDiff } from "../../src/session/session_messages.ts";
import { connectedPlayer } from "../../testing/players.ts";

const RADIUS = 20;

/** What a client holds after applying diffs in order (docs/protocol.md, DIFF). */
class ClientModel {
  known = new Map<number, { x: number; y: number; data: unknown }>();

  apply(diff: SessionDiff): void {
    if (diff.full) this.known.clear();
    for (const id of diff.leave) {
      assert.ok(this.known.delete(id), `leave of unknown ${id}`);
    }
    for (const [id, , x, y, , data] of diff.enter) {
      assert.ok(!this.known.has(id), `enter of known ${id}`);
      this.known.set(id, { x, y, data: structuredClone(data) });
    }
    for (const row of diff.update) {
      const was = this.known.get(row[0]);
      assert.ok(was, `update of unknown ${row[0]}`);
      this.known.set(row[0], {
        x: row[1],
        y: row[2],
        data: row.length === 5 ? structuredClone(row[4]) : was.data,
      });
    }
  }
}

// ~9 in sight each, then ~90 (the sort of a crowd).
for (const npcs of [300, 3_000]) {
  Deno.test(`a player's diffs keep its client equal to what is in its AOI, through moves, data changes, entering and leaving (${npcs} NPCs)`, () => {
    const random = mulberry32(11);
    const index = new GridIndex([200, 200], 25);
    const entities: Entity[] = [];
    for (let id = 1; id <= npcs; id++) {
      const e = makeEntity(id, "npc", { x: random() * 200, y: random() * 200 }, { hp: 3 });
      entities.push(e);
      index.upsert(e);
    }
    const players = [connectedPlayer(1001, 100, 100), connectedPlayer(1002, 40, 160)];
    for (const p of players) index.upsert(p);
    const views = new PlayerViews(RADIUS);
    const clients = players.map((p) => {
      views.reset(p.id);
      return new ClientModel();
    });
    let moves = 0, dataRows = 0, enters = 0, leaves = 0;
    for (let tick = 1; tick <= (npcs > 1_000 ? 60 : 200); tick++) {
      for (const e of [...entities, ...players]) {
        // Some stand still (no row), the rest walk; a few change data.
        if (e.id % 5 !== 0) {
          e.x = Math.min(199, Math.max(0, e.x + (random() - 0.5) * 6));
          e.y = Math.min(199, Math.max(0, e.y + (random() - 0.5) * 6));
          index.upsert(e);
        }
        if (random() < 0.02) (e.data as { hp: number }).hp = Math.floor(random() * 10);
      }
      for (const [k, p] of players.entries()) {
        const diff = views.diff(index, tick, p)!;
        assert.equal(diff.full, tick === 1);
        // Rows and left ids in id order, none twice.
        const ids = [...diff.enter.map((r) => r[0]), ...diff.update.map((r) => r[0])];
        assert.equal(new Set(ids).size, ids.length, "an entity once per diff");
        assert.deepEqual(diff.leave, diff.leave.toSorted((a, b) => a - b));
        enters += diff.enter.length;
        leaves += diff.leave.length;
        for (const row of diff.update) row.length === 5 ? dataRows++ : moves++;
        clients[k].apply(diff);
        const inSight = [...entities, ...players].filter((e) =>
          Math.hypot(e.x - p.x, e.y - p.y) <= RADIUS
        );
        assert.deepEqual(
          new Map([...clients[k].known].toSorted((a, b) => a[0] - b[0])),
          new Map(
            inSight.toSorted((a, b) => a.id - b.id).map((e) => [e.id, {
              x: e.x,
              y: e.y,
              data: e.data,
            }]),
          ),
          `player ${p.id} at tick ${tick}`,
        );
      }
    }
    // The walk exercised every kind of change.
    assert.ok(
      moves > 0 && dataRows > 0 && enters > 0 && leaves > 0,
      `${moves} ${dataRows} ${enters} ${leaves}`,
    );
  });
}

Deno.test("two diffs of one tick showing two states get rows of each state, shared within each", () => {
  const index = new GridIndex([100, 100], 25);
  const npc = makeEntity(1, "npc", { x: 50, y: 50 });
  const a = connectedPlayer(2, 45, 50), b = connectedPlayer(3, 55, 50);
  for (const e of [npc, a, b]) index.upsert(e);
  const views = new PlayerViews(RADIUS);
  views.reset(a.id);
  views.reset(b.id);
  views.diff(index, 1, a, 0);
  views.diff(index, 1, b, 0);
  npc.x = 51;
  // At tick 2's start (the state after tick 1), then at its end (tick 2's own state).
  const startA = views.diff(index, 2, a, 1)!, startB = views.diff(index, 2, b, 1)!;
  assert.equal(startA.update.find((r) => r[0] === 1), startB.update.find((r) => r[0] === 1));
  npc.x = 52;
  const endA = views.diff(index, 2, a, 2)!;
  assert.deepEqual(endA.update.find((r) => r[0] === 1), [1, 52, 50, 0]);
});

Deno.test("prepare checks the owned entities' data only when the views see about as many", () => {
  const index = new GridIndex([1000, 1000], 25);
  const owned = new Map<number, Entity>();
  for (let id = 1; id <= 100; id++) {
    const e = makeEntity(id, "npc", { x: id * 9, y: 500 });
    owned.set(id, e);
    index.upsert(e);
  }
  const lone = connectedPlayer(500, 9, 500);
  const views = new PlayerViews(RADIUS);
  views.reset(lone.id);
  views.prepare(owned, 1);
  views.diff(index, 1, lone, 1);
  // One player seeing 3 of 100: the next prepare leaves the rest alone.
  views.prepare(owned, 2);
  assert.equal(dataColumns.checked[owned.get(100)!.slot], -1);
  // Enough players to see them all: the next prepare checks every owned entity.
  for (let id = 0; id < 40; id++) {
    const p = connectedPlayer(600 + id, id * 25, 500);
    views.reset(p.id);
    views.diff(index, 2, p, 2);
  }
  views.prepare(owned, 3);
  assert.equal(dataColumns.checked[owned.get(100)!.slot], 3);
});
