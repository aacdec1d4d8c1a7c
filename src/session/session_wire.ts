// The gateway↔worker session link: commands a gateway sends the worker owning a player's entity
// (join, input, detach, resume), and what a worker sends each gateway once per tick (AOI diffs
// of its players, join and resume answers, sessions it removed). msgpack, validated on decode.
import type { EntityData } from "../world/entity.ts";
import type {
  Departed,
  GatewayCommand,
  InstancePlacement,
  PlayerInput,
  PlayerSave,
  WorkerReport,
} from "./session_messages.ts";
import { encode } from "../protocol/msgpack.ts";
import { describe } from "../protocol/input_reader.ts";
import { diffsFromTables, diffTables } from "./report_rows.ts";
import {
  decodePeerMap,
  failPeer as fail,
  peerFields,
  peerString as str,
} from "../protocol/peer_reader.ts";

const { array: list, boolean, finite, integer: int, map, plain, tuple } = peerFields;

// 3: rooms (a join into an instance, depart, departed), saves. 4: diffs as tables of rows and
// lists of rows (report_rows.ts), so what many players see is sent, decoded and encoded once.
/** Version of the session link layout. */
export const SESSION_WIRE_VERSION = 4;

const OP = { join: 0, input: 1, detach: 2, resume: 3, depart: 4 } as const;

/** Encodes a gateway's commands (one message, many commands). */
export function encodeCommands(gateway: string, commands: readonly GatewayCommand[]): Uint8Array {
  return encode({
    v: SESSION_WIRE_VERSION,
    g: gateway,
    c: commands.map((c) => {
      switch (c.op) {
        case "join": {
          const i = c.instance;
          return [
            OP.join,
            c.session,
            c.name,
            c.resumeJti,
            c.x,
            c.y,
            c.z,
            i
              ? [i.id, i.seq, i.worker, i.mode, i.options ?? null, i.maxPlayers, i.moves ?? 0]
              : null,
            c.carried ? [c.carried.data, c.carried.lastSeq] : null,
            c.account ?? "",
          ];
        }
        case "depart":
          return [OP.depart, c.entity, c.session, c.conn];
        case "input":
          return [
            OP.input,
            c.entity,
            c.input.seq,
            c.input.move,
            c.input.action ?? null,
            c.conn,
            c.input.data ?? null,
          ];
        case "detach":
          return [OP.detach, c.entity, c.session, c.conn];
        case "resume":
          return [OP.resume, c.entity, c.session, c.jti, c.nextJti];
      }
    }),
  });
}

function move(value: unknown, what: string): number[] {
  return list(value, what, 2, 3).map((v, axis) => finite(v, `${what}[${axis}]`, -1, 1));
}

/** Decodes and validates a gateway's commands; throws BatchError (BAD_BATCH). */
export function decodeCommands(bytes: Uint8Array): { gateway: string; commands: GatewayCommand[] } {
  const raw = top(bytes);
  return {
    gateway: str(raw.g, "gateway"),
    commands: list(raw.c, "commands").map((value, n): GatewayCommand => {
      const what = `commands[${n}]`;
      const c = list(value, what);
      const arity = (k: number) => tuple(c, what, k);
      switch (c[0]) {
        case OP.join: {
          arity(10);
          const join: GatewayCommand & { op: "join" } = {
            op: "join",
            session: str(c[1], `${what}.session`),
            name: str(c[2], `${what}.name`, 64),
            resumeJti: str(c[3], `${what}.resumeJti`),
            x: finite(c[4], `${what}.x`),
            y: finite(c[5], `${what}.y`),
            z: finite(c[6], `${what}.z`),
          };
          if (c[7] !== null) join.instance = placementOf(c[7], `${what}.instance`);
          if (c[8] !== null) {
            const k = tuple(c[8], `${what}.carried`, 2);
            join.carried = {
              data: plain(map(k[0], `${what}.carried.data`), `${what}.carried.data`) as EntityData,
              lastSeq: int(k[1], `${what}.carried.lastSeq`),
            };
          }
          const account = peerFields.string(c[9], `${what}.account`, 0, 128);
          if (account !== "") join.account = account;
          return join;
        }
        case OP.depart:
          arity(4);
          return {
            op: "depart",
            entity: int(c[1], `${what}.entity`),
            session: str(c[2], `${what}.session`),
            conn: str(c[3], `${what}.conn`),
          };
        case OP.input: {
          arity(7);
          const input: PlayerInput = {
            seq: int(c[2], `${what}.seq`),
            move: move(c[3], `${what}.move`),
          };
          if (c[4] !== null) input.action = str(c[4], `${what}.action`, 32);
          if (c[6] !== null) input.data = plain(c[6], `${what}.data`);
          return {
            op: "input",
            entity: int(c[1], `${what}.entity`),
            conn: str(c[5], `${what}.conn`),
            input,
          };
        }
        case OP.detach:
          arity(4);
          return {
            op: "detach",
            entity: int(c[1], `${what}.entity`),
            session: str(c[2], `${what}.session`),
            conn: str(c[3], `${what}.conn`),
          };
        case OP.resume:
          arity(5);
          return {
            op: "resume",
            entity: int(c[1], `${what}.entity`),
            session: str(c[2], `${what}.session`),
            jti: str(c[3], `${what}.jti`),
            nextJti: str(c[4], `${what}.nextJti`),
          };
        default:
          return fail(`${what} has an unknown op ${describe(c[0])}`);
      }
    }),
  };
}

/**
 * Encodes what a worker sends a gateway for one tick; its diffs go as tables in which a row or
 * list of rows many players see appears once (report_rows.ts).
 */
export function encodeReport(report: WorkerReport): Uint8Array {
  return encode({
    v: SESSION_WIRE_VERSION,
    w: report.worker,
    t: report.tick,
    ...diffTables(report.diffs, report.tick),
    j: report.joined.map((j) => [j.session, j.entity]),
    r: report.resumed.map((r) => [r.session, r.entity, r.ok, r.conn]),
    s: report.superseded.map((s) => [s.session, s.conn]),
    x: report.gone.map((g) => [g.session, g.entity]),
    p: report.departed.map((p) => [
      p.session,
      p.entity,
      p.x,
      p.y,
      p.z,
      p.data,
      p.lastSeq,
      p.reason,
      p.account,
    ]),
    a: report.saves.map((s) => [s.account, s.data]),
  });
}

/** Decodes and validates a worker's report; throws BatchError (BAD_BATCH). */
export function decodeReport(bytes: Uint8Array): WorkerReport {
  const raw = top(bytes);
  const pair = (value: unknown, what: string) => {
    const p = tuple(value, what, 2);
    return { session: str(p[0], `${what}.session`), entity: int(p[1], `${what}.entity`) };
  };
  return {
    worker: str(raw.w, "worker"),
    tick: int(raw.t, "tick"),
    ...diffsFromTables(raw),
    joined: list(raw.j, "joined").map((p, n) => pair(p, `joined[${n}]`)),
    resumed: list(raw.r, "resumed").map((value, n) => {
      const r = tuple(value, `resumed[${n}]`, 4);
      return {
        session: str(r[0], `resumed[${n}].session`),
        entity: int(r[1], `resumed[${n}].entity`),
        ok: boolean(r[2], `resumed[${n}].ok`),
        conn: str(r[3], `resumed[${n}].conn`),
      };
    }),
    superseded: list(raw.s, "superseded").map((value, n) => {
      const s = tuple(value, `superseded[${n}]`, 2);
      return {
        session: str(s[0], `superseded[${n}].session`),
        conn: str(s[1], `superseded[${n}].conn`),
      };
    }),
    gone: list(raw.x, "gone").map((p, n) => pair(p, `gone[${n}]`)),
    saves: list(raw.a, "saves").map((value, n): PlayerSave => {
      const s = tuple(value, `saves[${n}]`, 2);
      return {
        account: str(s[0], `saves[${n}].account`),
        data: plain(map(s[1], `saves[${n}].data`), `saves[${n}].data`) as EntityData,
      };
    }),
    departed: list(raw.p, "departed").map((value, n): Departed => {
      const what = `departed[${n}]`;
      const p = tuple(value, what, 9);
      return {
        session: str(p[0], `${what}.session`),
        entity: int(p[1], `${what}.entity`),
        x: finite(p[2], `${what}.x`),
        y: finite(p[3], `${what}.y`),
        z: finite(p[4], `${what}.z`),
        data: plain(map(p[5], `${what}.data`), `${what}.data`) as EntityData,
        lastSeq: int(p[6], `${what}.lastSeq`),
        reason: peerFields.oneOf(p[7], `${what}.reason`, ["depart", "destroyed"] as const),
        account: peerFields.string(p[8], `${what}.account`, 0, 128),
      };
    }),
  };
}

/** Decodes an instance placement (a join's, or a map update's). */
export function placementOf(value: unknown, what: string): InstancePlacement {
  const i = tuple(value, what, 7);
  return {
    id: str(i[0], `${what}.id`, 64),
    seq: int(i[1], `${what}.seq`),
    worker: str(i[2], `${what}.worker`),
    mode: str(i[3], `${what}.mode`, 64),
    options: plain(i[4], `${what}.options`),
    maxPlayers: int(i[5], `${what}.maxPlayers`, 1, 100_000),
    moves: int(i[6], `${what}.moves`),
  };
}

function top(bytes: Uint8Array): Record<string, unknown> {
  return decodePeerMap(bytes, SESSION_WIRE_VERSION);
}

/**
 * Decodes a report that arrived on `worker`'s stream; a report claiming another worker is
 * refused (BAD_BATCH), so one worker cannot speak for another's players.
 */
export function reportFrom(payload: Uint8Array, worker: string): WorkerReport {
  const report = decodeReport(payload);
  if (report.worker !== worker) {
    fail(`worker must be ${worker} (the stream it came on), got ${JSON.stringify(report.worker)}`);
  }
  return report;
}
