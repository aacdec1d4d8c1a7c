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

/** What a worker's own `/api/state` says it owns (ids only) and at which epoch and tick. */
export interface WorkerHolding {
  id: string;
  epoch: number;
  tick: number;
  owned: number[];
  /** Entities it handed off whose receiver has not confirmed them yet. */
  inFlight: number[];
}

/** One read of every worker's own list: which workers hold each entity id. */
export interface Census {
  /** Entity id → workers that hold it as owned. */
  holders: Map<number, string[]>;
  /** Per worker, as read (workers that did not answer are missing). */
  workers: WorkerHolding[];
  /** When the read began and ended (Date.now()). */
  from: number;
  to: number;
}

/**
 * Reads `/api/state` of every worker in `urls` (id → HTTP base URL) at once and indexes their
 * owned entity ids. A worker that does not answer within `timeoutMs` (dead, paused) is left out.
 */
export async function readCensus(
  urls: ReadonlyMap<string, string>,
  timeoutMs = 2_000,
): Promise<Census> {
  const from = Date.now();
  const reads = await Promise.all(
    [...urls].map(async ([id, url]) => {
      try {
        const body = await getJson<
          { epoch: number; tick: number; owned: number[][]; inFlight: number[] }
        >(`${url}/api/state`, timeoutMs);
        const owned = body.owned.map((e) => e[0]);
        return { id, epoch: body.epoch, tick: body.tick, owned, inFlight: body.inFlight };
      } catch {
        return undefined;
      }
    }),
  );
  const workers = reads.filter((r): r is WorkerHolding => r !== undefined);
  const holders = new Map<number, string[]>();
  for (const w of workers) {
    for (const entity of w.owned) {
      const list = holders.get(entity);
      if (list) list.push(w.id);
      else holders.set(entity, [w.id]);
    }
  }
  return { holders, workers, from, to: Date.now() };
}

/** What {@linkcode settledCensus} found: ids held, ids held twice throughout, the reads. */
export interface SettledCensus {
  /** Every id owned by some worker, or in a handoff it sent, in any of the reads. */
  held: Set<number>;
  /** Ids held by two or more workers in every read: not a handoff between two reads. */
  duplicated: Map<number, string[]>;
  /** Ids of `expected` held by no worker in any read. */
  missing: number[];
  reads: Census[];
}

/**
 * Reads the census `reads` times, `spacingMs` apart. Workers are read one request each, so an
 * entity in the middle of a handoff (released at one tick, acquired at the next) can look held
 * twice or not at all in one read; an anomaly that lasts through reads several ticks apart is
 * real: a duplicate owner (split brain) or a lost entity.
 */
export async function settledCensus(
  urls: ReadonlyMap<string, string>,
  expected: Iterable<number> = [],
  reads = 3,
  spacingMs = 150,
): Promise<SettledCensus> {
  const censuses: Census[] = [];
  for (let n = 0; n < reads; n++) {
    if (n > 0) await new Promise((resolve) => setTimeout(resolve, spacingMs));
    censuses.push(await readCensus(urls));
  }
  // An entity in a handoff its receiver has not adopted yet is owned by nobody: its sender's
  // unconfirmed handoff still holds it (a slow receiver can keep it there for several reads).
  const held = new Set<number>();
  for (const c of censuses) {
    for (const id of c.holders.keys()) held.add(id);
    for (const w of c.workers) for (const id of w.inFlight) held.add(id);
  }
  const duplicated = new Map<number, string[]>();
  for (const [id, list] of censuses[0].holders) {
    if (list.length < 2) continue;
    if (censuses.every((c) => (c.holders.get(id)?.length ?? 0) >= 2)) duplicated.set(id, list);
  }
  const missing = [...expected].filter((id) => !held.has(id));
  return { held, duplicated, missing, reads: censuses };
}

/**
 * Asserts that no entity of `before` is lost and none has two owners, with the ids in the
 * message so a failure says which.
 */
export function assertCensus(census: SettledCensus, what: string): void {
  assert.deepEqual(
    census.missing.slice(0, 20),
    [],
    `${what}: ${census.missing.length} entities lost`,
  );
  assert.deepEqual(
    [...census.duplicated].slice(0, 20),
    [],
    `${what}: ${census.duplicated.size} entities owned by two workers`,
  );
}
