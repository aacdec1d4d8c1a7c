// The AOI diffs of a worker report as tables (session wire 4): every row once, every distinct
// list of rows once, and each diff naming its enter and update lists by index. Player views
// (src/sim/player_views.ts) make one row per entity per tick and share it by identity, so an
// entity that a hundred players see is one row, and players that see the same changes in the
// same order (everyone in one arena) share one list; the gateway then encodes each shared row
// and list once for all of its clients (frame_msgpack_writer.ts, SharedArrays). The views also
// say where each row sits in their tick's table (SessionDiff.refs), so the rows are numbered
// without a lookup by identity (a map of ~17,000 rows per report at 2,000 players).
import type { EnterRow, RowTable, SessionDiff, UpdateRow } from "./session_messages.ts";
import { describe } from "../protocol/input_reader.ts";
import {
  failPeer as fail,
  isEntityId,
  isFiniteNumber,
  isFlatData,
  peerFields,
  peerString as str,
} from "../protocol/peer_reader.ts";

const { array: list, boolean, finite, integer: int, map, plain, tuple } = peerFields;

type Row = EnterRow | UpdateRow;

/** The report fields that carry diffs: `e` rows, `l` lists of row indices, `d` diffs. */
export interface DiffTables {
  e: Row[];
  l: number[][];
  d: unknown[][];
}

/**
 * Tables of `diffs`: rows in first-use order, lists deduplicated by content.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * const row: [number, number, number, number] = [7, 1, 2, 0];
 * const diff = (session: string) => ({
 *   session, entity: 1, ack: 0, full: false, enter: [], update: [row], leave: [],
 * });
 * const tables = diffTables([diff("a"), diff("b")], 9);
 * assert.deepEqual(tables.e, [row]);
 * assert.deepEqual(tables.l, [[], [0]]);
 * assert.deepEqual(tables.d[1], ["b", 1, 0, false, 0, 1, [], 9]);
 * ```
 */
export function diffTables(diffs: readonly SessionDiff[], tick: number): DiffTables {
  const rows: Row[] = [];
  const lists: number[][] = [];
  /** List indices by content hash. */
  const byHash = new Map<number, number[]>();
  const table = commonTable(diffs);
  const stamp = table ? nextStamp(table.rows.length) : 0;
  const rowIndex = table ? undefined : new Map<Row, number>();
  const listOf = (of: readonly Row[], refs: readonly number[] | undefined): number => {
    const ids = new Array<number>(of.length);
    let hash = 0x811c9dc5;
    for (let k = 0; k < of.length; k++) {
      let i: number | undefined;
      if (rowIndex === undefined) {
        // The views said where the row sits in its table: no lookup by identity.
        const at = refs![k];
        if (remapStamp[at] === stamp) i = remap[at];
        else {
          i = rows.length;
          rows.push(of[k]);
          remap[at] = i;
          remapStamp[at] = stamp;
        }
      } else {
        const row = of[k];
        i = rowIndex.get(row);
        if (i === undefined) {
          i = rows.length;
          rowIndex.set(row, i);
          rows.push(row);
        }
      }
      ids[k] = i;
      hash = Math.imul(hash ^ i, 0x01000193);
    }
    const candidates = byHash.get(hash);
    if (candidates === undefined) byHash.set(hash, [lists.length]);
    else {
      for (const c of candidates) if (sameInts(lists[c], ids)) return c;
      candidates.push(lists.length);
    }
    lists.push(ids);
    return lists.length - 1;
  };
  const d = diffs.map((d) => [
    d.session,
    d.entity,
    d.ack,
    d.full,
    listOf(d.enter, d.refs?.enter),
    listOf(d.update, d.refs?.update),
    d.leave,
    d.tick ?? tick,
  ]);
  return { e: rows, l: lists, d };
}

/**
 * The one row table every diff with rows points into (SessionDiff.refs), if there is one: the
 * common case of a report made by one space's views in one collect. Otherwise rows are found
 * by identity.
 */
function commonTable(diffs: readonly SessionDiff[]): RowTable | undefined {
  let table: RowTable | undefined;
  for (const d of diffs) {
    if (d.enter.length === 0 && d.update.length === 0) continue;
    const refs = d.refs;
    if (
      refs === undefined || (table !== undefined && refs.table !== table) ||
      refs.enter.length !== d.enter.length || refs.update.length !== d.update.length
    ) return undefined;
    table = refs.table;
  }
  return table;
}

/** A table row's index in the report being written, while `remapStamp` holds its stamp. */
let remap = new Int32Array(0);
let remapStamp = new Int32Array(0);
let stamps = 0;

/** A new stamp for a report over a table of `size` rows (the remap tables grown to fit). */
function nextStamp(size: number): number {
  if (remap.length < size || stamps === 0x7fffffff) {
    remap = new Int32Array(Math.max(size, remap.length * 2, 1024));
    remapStamp = new Int32Array(remap.length);
    stamps = 0;
  }
  return ++stamps;
}

function sameInts(a: readonly number[], b: readonly number[]): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

/**
 * The diffs of a report's tables, and the rows and lists more than one diff uses. Each row and
 * each list is checked once (rows inline on the success path: a valid row costs no label
 * strings); each diff names the tick it shows; a list holds rows of one kind (6 fields: enter; 4 or 5: update), and a diff's
 * `enter` and `update` must name lists of that kind. Diffs naming one list share its array.
 */
export function diffsFromTables(
  raw: Record<string, unknown>,
): { diffs: SessionDiff[]; shared: Set<Row | Row[]> } {
  const rows = list(raw.e, "rows").map(tableRow);
  const rowUses = new Uint8Array(rows.length);
  const kinds: Array<"enter" | "update" | "empty"> = [];
  const lists = list(raw.l, "lists").map((value, n) => {
    const ids = list(value, `lists[${n}]`);
    const out = new Array<Row>(ids.length);
    for (let k = 0; k < ids.length; k++) {
      const i = ids[k];
      const row = typeof i === "number" ? rows[i] : undefined;
      if (row === undefined) {
        fail(
          `lists[${n}][${k}] must be the index of a row in 0..${rows.length - 1}, got ${
            describe(i)
          }`,
        );
      }
      if (k > 0 && (row.length === 6) !== (out[0].length === 6)) {
        fail(`lists[${n}] must hold only enter rows or only update rows, got both`);
      }
      out[k] = row;
    }
    kinds.push(out.length === 0 ? "empty" : out[0].length === 6 ? "enter" : "update");
    return out;
  });
  const listUses = new Uint8Array(lists.length);
  const listOf = (value: unknown, what: string, kind: "enter" | "update") => {
    const i = value;
    const found = typeof i === "number" ? kinds[i] : undefined;
    if (found === undefined || (found !== kind && found !== "empty")) {
      fail(
        `${what} must be the index of a list of ${kind} rows in 0..${lists.length - 1}, got ${
          describe(i)
        }`,
      );
    }
    if (listUses[i as number] < 2) listUses[i as number]++;
    return lists[i as number];
  };
  const diffs = list(raw.d, "diffs").map((value, n): SessionDiff => {
    const what = `diffs[${n}]`;
    const d = tuple(value, what, 8);
    return {
      session: str(d[0], `${what}.session`),
      entity: int(d[1], `${what}.entity`),
      ack: int(d[2], `${what}.ack`),
      full: boolean(d[3], `${what}.full`),
      enter: listOf(d[4], `${what}.enter`, "enter") as EnterRow[],
      update: listOf(d[5], `${what}.update`, "update") as UpdateRow[],
      leave: list(d[6], `${what}.leave`).map((id, k) => int(id, `${what}.leave[${k}]`)),
      tick: int(d[7], `${what}.tick`),
    };
  });
  const shared = new Set<Row | Row[]>();
  const ids = raw.l as number[][];
  for (let n = 0; n < lists.length; n++) {
    const uses = listUses[n];
    if (uses === 0) continue;
    if (uses > 1 && lists[n].length > 0) shared.add(lists[n]);
    for (const i of ids[n]) rowUses[i] = Math.min(2, rowUses[i] + uses);
  }
  for (let i = 0; i < rows.length; i++) if (rowUses[i] > 1) shared.add(rows[i]);
  return { diffs, shared };
}

function tableRow(value: unknown, n: number): Row {
  const r = Array.isArray(value) && value.length >= 4 && value.length <= 6
    ? value
    : list(value, `rows[${n}]`, 4, 6);
  const id = r[0];
  if (r.length === 6) {
    const [, type, x, y, z, data] = r;
    if (
      !isEntityId(id) ||
      !(typeof type === "string" && type.length >= 1 && type.length <= 64) ||
      !isFiniteNumber(x) || !isFiniteNumber(y) || !isFiniteNumber(z)
    ) {
      int(id, `rows[${n}].id`);
      str(type, `rows[${n}].type`, 64);
      for (const [k, axis] of ["x", "y", "z"].entries()) finite(r[k + 2], `rows[${n}].${axis}`);
    }
    if (!isFlatData(data)) plain(map(data, `rows[${n}].data`), `rows[${n}].data`);
    return r as EnterRow;
  }
  const [, x, y, z] = r;
  if (
    !isEntityId(id) ||
    !isFiniteNumber(x) || !isFiniteNumber(y) || !isFiniteNumber(z)
  ) {
    int(id, `rows[${n}].id`);
    for (const [k, axis] of ["x", "y", "z"].entries()) finite(r[k + 1], `rows[${n}].${axis}`);
  }
  if (r.length === 5 && !isFlatData(r[4])) plain(map(r[4], `rows[${n}].data`), `rows[${n}].data`);
  return r as UpdateRow;
}
