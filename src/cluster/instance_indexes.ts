// The indexes of the instance directory (src/cluster/instance_directory.ts): every live instance
// by creation order, and by mode, tag, game version, worker and region, public, and with a free
// seat; a search walks the smallest index that every condition names, from a paging cursor, so
// its cost follows the matches, not the directory's size.
import { CodedError, ErrorCode } from "../errors.ts";
import type { InstanceRecord } from "./instance_records.ts";
import { SeqIndex } from "./seq_index.ts";

/** A search: every given field must match. */
export interface InstanceQuery {
  mode?: string;
  /** Every one of these tags. */
  tags?: readonly string[];
  version?: string;
  worker?: string;
  region?: string;
  /** Only instances with at least one free seat (true) or only full ones (false). */
  open?: boolean;
  /** Only private (true) or only public (false) instances: the operator's list only. */
  private?: boolean;
  createdFrom?: number;
  createdTo?: number;
  /** Paging cursor: the `next` of the previous page. */
  after?: string;
  /** Page size, 1..100 (default 20). */
  limit?: number;
}

/** Largest page of a search. */
export const MAX_PAGE = 100;

/** The instance directory's indexes; the directory owns the records and tells of each change. */
export class InstanceIndexes {
  readonly #bySeq = new Map<number, InstanceRecord>();
  /** field → value → sequence numbers of the instances (public and private) having it. */
  readonly #fields = {
    mode: new Map<string, SeqIndex>(),
    tag: new Map<string, SeqIndex>(),
    version: new Map<string, SeqIndex>(),
    worker: new Map<string, SeqIndex>(),
    region: new Map<string, SeqIndex>(),
  };
  readonly #public = new SeqIndex();
  /** Every instance, private ones too (the operator's list). */
  readonly #every = new SeqIndex();
  /** Public instances with a free seat. */
  readonly #open = new SeqIndex();

  /** Every indexed instance, in creation order. */
  all(): IterableIterator<InstanceRecord> {
    return this.#bySeq.values();
  }

  add(record: InstanceRecord): void {
    const seq = record.seq;
    this.#bySeq.set(seq, record);
    this.#every.add(seq);
    if (!record.private) this.#public.add(seq);
    indexAdd(this.#fields.mode, record.mode, seq);
    indexAdd(this.#fields.version, record.version, seq);
    indexAdd(this.#fields.worker, record.worker, seq);
    indexAdd(this.#fields.region, record.region, seq);
    for (const tag of record.tags) indexAdd(this.#fields.tag, tag, seq);
    this.seatsChanged(record);
  }

  remove(record: InstanceRecord): void {
    const seq = record.seq;
    this.#bySeq.delete(seq);
    this.#open.delete(seq);
    this.#every.delete(seq);
    this.#public.delete(seq);
    indexDelete(this.#fields.mode, record.mode, seq);
    indexDelete(this.#fields.version, record.version, seq);
    indexDelete(this.#fields.worker, record.worker, seq);
    indexDelete(this.#fields.region, record.region, seq);
    for (const tag of record.tags) indexDelete(this.#fields.tag, tag, seq);
  }

  /** Sets the record's worker and region, re-indexed. */
  moveWorker(record: InstanceRecord, worker: string, region: string): void {
    indexDelete(this.#fields.worker, record.worker, record.seq);
    indexDelete(this.#fields.region, record.region, record.seq);
    record.worker = worker;
    record.region = region;
    indexAdd(this.#fields.worker, worker, record.seq);
    indexAdd(this.#fields.region, region, record.seq);
  }

  /** The record's seats changed: it is open when public with a free seat. */
  seatsChanged(record: InstanceRecord): void {
    if (!record.private && record.players.size < record.maxPlayers) this.#open.add(record.seq);
    else this.#open.delete(record.seq);
  }

  clear(): void {
    this.#bySeq.clear();
    for (const index of Object.values(this.#fields)) index.clear();
    this.#public.clear();
    this.#every.clear();
    this.#open.clear();
  }

  /** The oldest open instance of `mode` (and `version`, `region`) that `accept` takes. */
  findOpen(
    mode: string,
    version: string | undefined,
    accept: (record: InstanceRecord) => boolean,
    region?: string,
  ): InstanceRecord | undefined {
    const candidates = [this.#open, this.#fields.mode.get(mode)];
    if (version !== undefined) candidates.push(this.#fields.version.get(version));
    if (region !== undefined) candidates.push(this.#fields.region.get(region));
    for (const record of this.#walk(candidates, 0)) {
      if (
        record.mode === mode && (version === undefined || record.version === version) &&
        accept(record)
      ) {
        return record;
      }
    }
    return undefined;
  }

  /** Instances matching `query`, oldest first, one page; `next` pages on. */
  search(
    query: InstanceQuery,
    scope: "public" | "all",
  ): { instances: InstanceRecord[]; next?: string } {
    const limit = Math.min(Math.max(query.limit ?? 20, 1), MAX_PAGE);
    let cursor = 0;
    if (query.after !== undefined) {
      const seq = seqOf(query.after);
      if (seq === undefined) {
        throw new CodedError(
          ErrorCode.BAD_REQUEST,
          `Bad paging cursor ${JSON.stringify(query.after)}`,
        );
      }
      cursor = seq;
    }
    const candidates: Array<SeqIndex | undefined> = [
      scope === "public" ? this.#public : this.#every,
    ];
    const f = this.#fields;
    if (query.mode !== undefined) candidates.push(f.mode.get(query.mode));
    if (query.version !== undefined) candidates.push(f.version.get(query.version));
    if (query.worker !== undefined) candidates.push(f.worker.get(query.worker));
    if (query.region !== undefined) candidates.push(f.region.get(query.region));
    for (const tag of query.tags ?? []) candidates.push(f.tag.get(tag));
    if (query.open === true && scope === "public") candidates.push(this.#open);
    const instances: InstanceRecord[] = [];
    let last: InstanceRecord | undefined;
    for (const record of this.#walk(candidates, cursor)) {
      last = record;
      if (!matches(record, query)) continue;
      instances.push(record);
      if (instances.length === limit) break;
    }
    const more = instances.length === limit && last !== undefined;
    return more ? { instances, next: last!.id } : { instances };
  }

  /** Walks the smallest of the indexes (all must be present) from `cursor`, as records. */
  *#walk(candidates: Array<SeqIndex | undefined>, cursor: number): Generator<InstanceRecord> {
    let smallest: SeqIndex | undefined;
    for (const index of candidates) {
      if (!index || index.size === 0) return; // a value nobody has: no match
      if (!smallest || index.size < smallest.size) smallest = index;
    }
    if (!smallest) return;
    for (const seq of smallest.after(cursor)) {
      const record = this.#bySeq.get(seq);
      if (!record) continue;
      let everywhere = true;
      for (const index of candidates) {
        if (index !== smallest && !index!.has(seq)) {
          everywhere = false;
          break;
        }
      }
      if (everywhere) yield record;
    }
  }
}

function matches(record: InstanceRecord, query: InstanceQuery): boolean {
  const full = record.players.size >= record.maxPlayers;
  if (query.open !== undefined && query.open === full) return false;
  if (query.private !== undefined && record.private !== query.private) return false;
  if (query.createdFrom !== undefined && record.createdAt < query.createdFrom) return false;
  if (query.createdTo !== undefined && record.createdAt > query.createdTo) return false;
  return true;
}

function seqOf(id: string): number | undefined {
  if (!/^i[0-9a-z]{1,11}$/.test(id)) return undefined;
  const seq = Number.parseInt(id.slice(1), 36);
  return Number.isSafeInteger(seq) ? seq : undefined;
}

function indexAdd(index: Map<string, SeqIndex>, value: string, seq: number): void {
  let set = index.get(value);
  if (!set) index.set(value, set = new SeqIndex());
  set.add(seq);
}

function indexDelete(index: Map<string, SeqIndex>, value: string, seq: number): void {
  const set = index.get(value);
  if (!set) return;
  set.delete(seq);
  if (set.size === 0) index.delete(value);
}
