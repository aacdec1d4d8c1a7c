// Entity positions for the diagnostics map: read from each live worker's `/api/state` over HTTP
// with a short timeout and a size limit, thinned to a cap per worker, and shared by concurrent
// callers for a short while so many open pages cost the workers one fetch.
import { decoderStyle, inputReader, isPlainObject } from "../protocol/input_reader.ts";

/** An entity on the map: `[id, x, y, z, cell]`. */
export type Position = [number, number, number, number, number];

/** The positions of one worker's owned entities, or why they are missing. */
export interface WorkerPositions {
  id: string;
  /** The worker's tick when it answered (-1 when it did not). */
  tick: number;
  /** Owned entities the worker reported; `entities` holds at most the cap of them. */
  total: number;
  entities: Position[];
  /** Ids of the owned entities that are players (all of them, not thinned). */
  players: number[];
  error?: { code: string; message: string };
}

/** A worker to ask: its id and `host:port` of its HTTP server. */
export interface WorkerAddress {
  id: string;
  httpAddress: string;
}

/** Options of {@linkcode WorkerPositionsReader}. */
export interface WorkerPositionsOptions {
  /** Which workers to ask, read at each refresh. */
  workers: () => Iterable<WorkerAddress>;
  /** Per-worker timeout of one fetch. */
  timeoutMs?: number;
  /** Largest `/api/state` body accepted from one worker. */
  maxBodyBytes?: number;
  /** Most positions kept per worker. */
  maxPerWorker?: number;
  /** How long one round of fetches serves later callers. */
  reuseMs?: number;
  fetch?: typeof fetch;
  now?: () => number;
}

/** Largest cap a caller may ask of {@linkcode WorkerPositionsReader.read}. */
export const MAX_POSITIONS_PER_WORKER = 5_000;

/**
 * Evenly thins `items` to at most `max`, keeping the spread (every k-th item).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { thin } from "./worker_positions.ts";
 * assert.deepEqual(thin([1, 2, 3, 4, 5, 6], 3), [1, 3, 5]);
 * assert.deepEqual(thin([1, 2], 5), [1, 2]);
 * ```
 */
export function thin<T>(items: readonly T[], max: number): T[] {
  if (items.length <= max) return [...items];
  const out: T[] = [];
  const step = items.length / max;
  for (let i = 0; i < max; i++) out.push(items[Math.floor(i * step)]);
  return out;
}

/**
 * Validates a worker's `/api/state` body and returns its tick and owned positions; throws
 * TypeError naming the first bad field.
 */
export function parseWorkerState(
  body: unknown,
): { tick: number; owned: Position[]; players: number[] } {
  if (!isPlainObject(body)) fail("the body is not a JSON object");
  const tick = state.integer(body.tick, "tick", -Infinity);
  const owned = state.array(body.owned, "owned");
  for (let i = 0; i < owned.length; i++) {
    const row = state.tuple(owned[i], `owned[${i}]`, 5);
    for (let k = 0; k < 5; k++) state.finite(row[k], `owned[${i}] (${POSITION_FIELDS[k]})`);
  }
  // Absent from workers older than the field: no players drawn apart.
  const players = body.players === undefined ? [] : state.array(body.players, "players");
  for (let i = 0; i < players.length; i++) state.integer(players[i], `players[${i}]`, 0);
  return { tick, owned: owned as Position[], players: players as number[] };
}

const POSITION_FIELDS = ["id", "x", "y", "z", "cell"] as const;

function fail(problem: string): never {
  throw new TypeError(`Cannot read worker state: ${problem}`);
}

/** Worker-state errors: TypeError `Cannot read worker state: <field> must be ...`. */
const state = inputReader(decoderStyle(fail));

/** A position with coordinates cut to 0.01 (plenty for a map, a third of the bytes); cutting
 * rather than rounding keeps a point at the world's edge inside it. */
function truncated([id, x, y, z, cell]: Position): Position {
  return [
    id,
    Math.floor(x * 100) / 100,
    Math.floor(y * 100) / 100,
    Math.floor(z * 100) / 100,
    cell,
  ];
}

/** Reads a response body as text, refusing more than `maxBytes`. */
async function readLimited(response: Response, maxBytes: number): Promise<string> {
  const declared = Number(response.headers.get("content-length") ?? 0);
  if (declared > maxBytes) {
    await response.body?.cancel();
    throw new RangeError(`body of ${declared} bytes exceeds the limit of ${maxBytes}`);
  }
  if (!response.body) return "";
  const chunks: Uint8Array[] = [];
  let size = 0;
  for await (const chunk of response.body) {
    size += chunk.byteLength;
    if (size > maxBytes) throw new RangeError(`body exceeds the limit of ${maxBytes} bytes`);
    chunks.push(chunk);
  }
  const all = new Uint8Array(size);
  let at = 0;
  for (const chunk of chunks) {
    all.set(chunk, at);
    at += chunk.byteLength;
  }
  return new TextDecoder().decode(all);
}

/** Reads positions from workers; see the module comment. */
export class WorkerPositionsReader {
  #options: Required<WorkerPositionsOptions>;
  #last?: { at: number; result: Promise<WorkerPositions[]> };

  constructor(options: WorkerPositionsOptions) {
    this.#options = {
      timeoutMs: 500,
      maxBodyBytes: 32 << 20,
      maxPerWorker: MAX_POSITIONS_PER_WORKER,
      reuseMs: 250,
      fetch: globalThis.fetch.bind(globalThis),
      now: Date.now,
      ...options,
    };
  }

  /** Positions of every worker, at most `max` each (and at most the reader's own cap). */
  async read(max: number): Promise<WorkerPositions[]> {
    const now = this.#options.now();
    if (!this.#last || now - this.#last.at >= this.#options.reuseMs) {
      this.#last = { at: now, result: this.#fetchAll() };
    }
    const all = await this.#last.result;
    return all.map((w) => w.entities.length <= max ? w : { ...w, entities: thin(w.entities, max) });
  }

  #fetchAll(): Promise<WorkerPositions[]> {
    return Promise.all([...this.#options.workers()].map((w) => this.#fetchOne(w)));
  }

  async #fetchOne(worker: WorkerAddress): Promise<WorkerPositions> {
    const { timeoutMs, maxBodyBytes, maxPerWorker } = this.#options;
    const url = `http://${worker.httpAddress}/api/state`;
    try {
      const response = await this.#options.fetch(url, { signal: AbortSignal.timeout(timeoutMs) });
      const text = await readLimited(response, maxBodyBytes);
      if (!response.ok) {
        throw new Error(`HTTP ${response.status}: ${text.slice(0, 200)}`);
      }
      const state = parseWorkerState(JSON.parse(text));
      return {
        id: worker.id,
        tick: state.tick,
        total: state.owned.length,
        entities: thin(state.owned, maxPerWorker).map(truncated),
        players: state.players.slice(0, maxPerWorker),
      };
    } catch (error) {
      const timedOut = error instanceof DOMException && error.name === "TimeoutError";
      const message = timedOut
        ? `no answer from ${url} within ${timeoutMs} ms`
        : `cannot read ${url}: ${(error as Error).message}`;
      return {
        id: worker.id,
        tick: -1,
        total: 0,
        entities: [],
        players: [],
        error: { code: "UNAVAILABLE", message },
      };
    }
  }
}
