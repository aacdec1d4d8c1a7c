// Audits a running cluster from its workers' logs: every entity has exactly one owner at every
// tick, the count is conserved, and interactions across workers are applied exactly once.
import assert from "node:assert/strict";
import { getJson } from "./node_process.ts";

interface Ownership {
  seq: number;
  kind: "acquire" | "release";
  tick: number;
  entity: number;
}
interface InteractionLog {
  seq: number;
  kind: string;
  id: string;
  tick: number;
  remote: boolean;
}

/** Collects /api/ownership and /api/interactions from workers with cursors. */
export class ClusterAudit {
  readonly ownership = new Map<string, Ownership[]>();
  readonly interactions = new Map<string, InteractionLog[]>();
  #urls = new Map<string, string>();
  #cursors = new Map<string, { own: number; act: number }>();
  /** Lowest tick all workers had reached at the last collection. */
  lastTick = 0;

  /** Starts following a worker (by id and HTTP base URL). */
  follow(id: string, url: string): void {
    if (this.#urls.has(id)) return;
    this.#urls.set(id, url);
    this.ownership.set(id, []);
    this.interactions.set(id, []);
    this.#cursors.set(id, { own: 0, act: 0 });
  }

  /** Reads what is new in every followed worker's logs. */
  async collect(): Promise<number> {
    const ticks: number[] = [];
    for (const [id, url] of this.#urls) {
      const cursor = this.#cursors.get(id)!;
      const own = await getJson<{ tick: number; events: Ownership[] }>(
        `${url}/api/ownership?since=${cursor.own}`,
      );
      const act = await getJson<{ tick: number; events: InteractionLog[] }>(
        `${url}/api/interactions?since=${cursor.act}`,
      );
      this.ownership.get(id)!.push(...own.events);
      this.interactions.get(id)!.push(...act.events);
      if (own.events.length) cursor.own = own.events[own.events.length - 1].seq;
      if (act.events.length) cursor.act = act.events[act.events.length - 1].seq;
      ticks.push(Math.min(own.tick, act.tick));
    }
    this.lastTick = Math.min(...ticks);
    return this.lastTick;
  }

  /**
   * Asserts exactly one owner per entity at every tick from the last spawn to `endTick`, and
   * `expected` entities at each. Returns the number of handoffs seen and the ticks checked.
   */
  assertOneOwner(
    expected: number,
    endTick = this.lastTick - 10,
  ): { handoffs: number; ticks: number } {
    const intervals = new Map<number, Array<[number, number, string]>>();
    let firstTick = 0, releases = 0;
    for (const [id, events] of this.ownership) {
      const open = new Map<number, number>();
      let spawnTick = Infinity;
      for (const e of events) {
        if (e.kind === "acquire") {
          open.set(e.entity, e.tick);
          spawnTick = Math.min(spawnTick, e.tick);
        } else {
          releases++;
          const from = open.get(e.entity);
          assert.ok(from !== undefined, `${id} released ${e.entity} it never acquired`);
          open.delete(e.entity);
          const list = intervals.get(e.entity) ?? [];
          list.push([from, e.tick, id]);
          intervals.set(e.entity, list);
        }
      }
      for (const [entity, from] of open) {
        const list = intervals.get(entity) ?? [];
        list.push([from, Infinity, id]);
        intervals.set(entity, list);
      }
      if (spawnTick < Infinity) firstTick = Math.max(firstTick, spawnTick);
    }
    assert.equal(intervals.size, expected, "every entity appears in the ownership logs");
    for (let tick = firstTick; tick <= endTick; tick++) {
      let owned = 0;
      for (const [entity, list] of intervals) {
        const owners = list.filter(([from, to]) => from <= tick && tick <= to);
        assert.ok(
          owners.length <= 1,
          `entity ${entity} has ${owners.length} owners at tick ${tick}: ${JSON.stringify(owners)}`,
        );
        assert.equal(owners.length, 1, `entity ${entity} has no owner at tick ${tick}`);
        owned++;
      }
      assert.equal(owned, expected, `entity count at tick ${tick}`);
    }
    return { handoffs: releases, ticks: Math.max(0, endTick - firstTick + 1) };
  }

  /** Asserts every interaction issued toward another worker before `endTick` applied exactly once. */
  assertExactlyOnce(endTick = this.lastTick - 10): number {
    const issued = new Map<string, number>();
    const applied = new Map<string, number>();
    for (const events of this.interactions.values()) {
      for (const e of events) {
        if (e.kind === "issued" && e.remote) issued.set(e.id, e.tick);
        if (e.kind === "applied") applied.set(e.id, (applied.get(e.id) ?? 0) + 1);
      }
    }
    const settled = [...issued].filter(([, tick]) => tick < endTick);
    for (const [id] of settled) assert.equal(applied.get(id), 1, `cross-worker interaction ${id}`);
    for (const [id, n] of applied) assert.equal(n, 1, `interaction ${id} applied ${n} times`);
    return settled.length;
  }
}
