// Scenario instances: rooms. (1) How many 8-player instances one worker steps within a tick
// p99 of 20 ms: the worker's own InstanceSpaces (src/sim/instance_spaces.ts) stepping them and
// encoding the gateway reports, in this process on one core, with every player sending an
// INPUT every tick — and the same with each instance mirrored to a backup (replica mode: the
// mirror ops collected and their batches encoded, what the host pays); (2) directory search, quick-join lookup and seat reservation latency at
// 1k / 10k / 100k instances (src/cluster/instance_directory.ts); (3) JOIN → TRAVEL latency of
// bots quick-joining, staying and leaving against a real all-in-one node running
// examples/rooms.ts, through the real protocol.
import { defineGame } from "../src/sim/game.ts";
import { InstanceSpaces } from "../src/sim/instance_spaces.ts";
import { encodeReport } from "../src/session/session_wire.ts";
import type { InstancePlacement } from "../src/session/session_messages.ts";
import { encodeBatch } from "../src/sync/batch_codec.ts";
import { InstanceDirectory } from "../src/cluster/instance_directory.ts";
import { mulberry32 } from "../src/sim/random.ts";
import { parseBotArgs } from "../src/client/bot_options.ts";
import { runBotSwarm } from "../src/client/bot_swarm.ts";
import { NodeProcess, writeTestConfig } from "../testing/node_process.ts";
import { array, cell, num, numOrNull, object } from "./json_fields.ts";
import type { Scenario, ScenarioContext, ScenarioOutput } from "./scenario.ts";
import { quantile, round } from "./stats.ts";

const PLAYERS = 8;
const TICK_BUDGET_MS = 20;

/** Parameters of an instances run. */
export function instancesParameters(quick: boolean) {
  return {
    instanceCounts: quick ? [50, 200] : [100, 250, 500, 1_000, 2_000],
    /** Counts (of instanceCounts) also run with every instance mirrored to a backup. */
    mirroredCounts: quick ? [50] : [100, 250, 500],
    replicationTicks: 2,
    playersPerInstance: PLAYERS,
    warmupTicks: quick ? 10 : 40,
    ticks: quick ? 40 : 300,
    directorySizes: quick ? [1_000, 10_000] : [1_000, 10_000, 100_000],
    queries: quick ? 500 : 5_000,
    bots: quick ? 20 : 100,
    botSeconds: quick ? 6 : 30,
    staySeconds: 2,
  };
}

const roomGame = defineGame({
  name: "bench-rooms",
  entityTypes: { player: {} },
  instanceModes: { room: { maxPlayers: PLAYERS, size: [100, 100] } },
  onJoin: (_ctx, p) => void (p.data.score = 0),
  onInput(_ctx, p, { move: [dx = 0, dy = 0] }) {
    p.vx = dx * 20;
    p.vy = dy * 20;
  },
  onTick(ctx) {
    for (const p of ctx.owned()) {
      p.x = Math.min(Math.max(p.x + p.vx * ctx.dt, 0), 99.99);
      p.y = Math.min(Math.max(p.y + p.vy * ctx.dt, 0), 99.99);
      if (ctx.tick % 20 === p.id % 20) p.data.score = (p.data.score as number) + 1;
    }
  },
});

/**
 * Steps `count` instances of 8 players; per-tick durations in ms. `replicationTicks` > 0: each
 * instance is mirrored to a backup ("w2"), its batches encoded every tick.
 */
async function tickRun(
  context: ScenarioContext,
  count: number,
  options: { warmup: number; ticks: number; replicationTicks: number },
): Promise<number[]> {
  const { warmup, ticks, replicationTicks } = options;
  const spaces = new InstanceSpaces({
    worker: "w1",
    world: {
      dims: 2,
      size: [1000, 1000],
      cellSize: 100,
      tickHz: 20,
      aoiRadius: 50,
      ghostMargin: 60,
      worldStartMs: 0,
    },
    game: roomGame,
    gameOptions: undefined,
    ids: { entity: 2 ** 32, interaction: 0 },
    space: { replicationTicks },
  });
  const placements: InstancePlacement[] = [];
  const players: Array<{ entity: number; gateway: string; conn: string; seq: number }> = [];
  for (let i = 0; i < count; i++) {
    const placement: InstancePlacement = {
      id: `i${i}`,
      seq: i + 1,
      worker: "w1",
      mode: "room",
      options: {},
      maxPlayers: PLAYERS,
    };
    placements.push(placement);
    for (let p = 0; p < PLAYERS; p++) {
      const session = `s${i}.${p}`;
      spaces.route(`g${p % 4}`, {
        op: "join",
        session,
        name: session,
        resumeJti: session,
        x: 0,
        y: 0,
        z: 0,
        instance: placement,
      });
    }
  }
  const backups = new Map(replicationTicks > 0 ? [["w1", "w2"]] : []);
  spaces.sync(placements, count, { epoch: 1, backups, down: new Set() });
  let tick = 1;
  for (const report of spaces.step(tick).values()) {
    for (const j of report.joined) {
      players.push({ entity: j.entity, gateway: "", conn: j.session, seq: 0 });
    }
  }
  const random = mulberry32(7);
  const durations: number[] = [];
  for (let n = 0; n < warmup + ticks; n++) {
    if (n % 20 === 0) await context.sleep(0); // let the abort signal through
    const started = performance.now();
    for (const p of players) {
      const angle = random() * Math.PI * 2;
      spaces.route("g0", {
        op: "input",
        entity: p.entity,
        conn: p.conn,
        input: { seq: ++p.seq, move: [Math.cos(angle), Math.sin(angle)] },
      });
    }
    for (const report of spaces.step(++tick).values()) encodeReport(report);
    for (const [, batch] of spaces.takeBatches()) encodeBatch(batch);
    if (n >= warmup) durations.push(performance.now() - started);
  }
  spaces.close();
  return durations;
}

/** Search, quick-join and reserve latency on a directory of `size` instances, µs. */
function directoryRun(size: number, queries: number) {
  const random = mulberry32(size);
  const pick = <T>(list: readonly T[]) => list[Math.floor(random() * list.length)];
  const modes = Array.from({ length: 10 }, (_, n) => `m${n}`);
  const tags = Array.from({ length: 20 }, (_, n) => `t${n}`);
  const workers = Array.from({ length: 8 }, (_, n) => `w${n}`);
  const d = new InstanceDirectory({ emptyGraceMs: 60_000 });
  const builtAt = performance.now();
  for (let i = 0; i < size; i++) {
    const r = d.create({
      mode: pick(modes),
      options: {},
      maxPlayers: 8,
      private: random() < 0.05,
      tags: [pick(tags), pick(tags)],
      version: random() < 0.9 ? "1" : "2",
      worker: pick(workers),
      owner: `o${i}`,
    });
    const seats = Math.floor(random() * 9);
    for (let s = 0; s < seats; s++) d.reserve(r.id, `u${i}.${s}`, "g");
  }
  const buildMs = performance.now() - builtAt;
  const search: number[] = [], quick: number[] = [], reserve: number[] = [];
  let after: string | undefined, found = 0;
  for (let q = 0; q < queries; q++) {
    const kind = q % 5;
    const query = kind === 0
      ? { mode: pick(modes), open: true }
      : kind === 1
      ? { mode: pick(modes), tags: [pick(tags)] }
      : kind === 2
      ? { tags: [pick(tags), pick(tags)], version: "1" }
      : kind === 3
      ? { mode: pick(modes), worker: pick(workers), open: true }
      : { mode: "m0", after };
    let t = performance.now();
    const page = d.search({ ...query, limit: 20 });
    search.push((performance.now() - t) * 1000);
    found += page.instances.length;
    if (kind === 4) after = page.next;
    t = performance.now();
    const open = d.findOpen(pick(modes), "1");
    quick.push((performance.now() - t) * 1000);
    if (open) {
      t = performance.now();
      d.reserve(open.id, `q${q}`, "g");
      d.release(`q${q}`);
      reserve.push((performance.now() - t) * 1000);
    }
  }
  const us = (values: number[]) => ({
    p50Us: round(quantile(values, 0.5), 2),
    p99Us: round(quantile(values, 0.99), 2),
  });
  return {
    instances: size,
    buildMs: round(buildMs, 0),
    meanResults: round(found / queries, 1),
    search: us(search),
    quickJoin: us(quick),
    reserveRelease: us(reserve),
  };
}

/** Bots quick-joining, staying and leaving on a real node: JOIN → TRAVEL latency. */
async function botsRun(context: ScenarioContext, clients: number, seconds: number, stay: number) {
  const config = writeTestConfig({
    role: "all",
    workers: 2,
    minWorkers: 2,
    world: { dims: 2, size: [1000, 1000], cellSize: 100 },
    aoiRadius: 50,
    ghostMargin: 60,
    gateway: { loginIpBurst: 100_000, loginPerIpPerMinute: 100_000 },
    game: { module: "examples/rooms.ts", options: {} },
  });
  const node = new NodeProcess("rooms-bench", [
    "--config",
    config,
    "--port",
    "0",
    "--storage",
    ":memory:",
  ], {});
  context.own({ close: async () => void await node.stop() });
  const ready = await node.waitFor("all.ready", 60_000);
  const options = parseBotArgs([
    "--role=bots",
    "--gateway",
    `http://127.0.0.1:${ready.port}`,
    "--clients",
    String(clients),
    "--duration",
    String(seconds),
    "--ramp",
    String(Math.min(5, seconds / 4)),
    "--scenario",
    "instances",
    "--mode",
    "duel",
    "--stay",
    String(stay),
  ]);
  const report = await runBotSwarm(options, { signal: context.signal });
  await node.stop();
  return {
    clients,
    seconds,
    connected: report.connected,
    joins: report.rooms?.joins ?? 0,
    leaves: report.rooms?.leaves ?? 0,
    joinMs: report.rooms?.joinMs,
    leaveMs: report.rooms?.leaveMs,
    failed: report.rooms?.failed ?? {},
    errors: report.errors.total,
    errorFrames: report.errors.frames,
  };
}

async function run(context: ScenarioContext): Promise<ScenarioOutput> {
  const parameters = instancesParameters(context.quick);
  const ticks: Array<
    {
      instances: number;
      players: number;
      p50Ms: number;
      p99Ms: number;
      held: boolean;
      mirrored: boolean;
    }
  > = [];
  const directory: ReturnType<typeof directoryRun>[] = [];
  const last: { bots?: Awaited<ReturnType<typeof botsRun>> } = {};
  const results = () => ({
    ticks,
    largestHeld: ticks.filter((t) => t.held && !t.mirrored)
      .reduce((n, t) => Math.max(n, t.instances), 0),
    directory,
    bots: last.bots,
  });
  // A mirrored run right after the plain one of the same count: the pair shares conditions.
  const runs = parameters.instanceCounts.flatMap((count) =>
    parameters.mirroredCounts.includes(count)
      ? [{ count, mirrored: false }, { count, mirrored: true }]
      : [{ count, mirrored: false }]
  );
  for (const { count, mirrored } of runs) {
    context.partial = results();
    const durations = await tickRun(context, count, {
      warmup: parameters.warmupTicks,
      ticks: parameters.ticks,
      replicationTicks: mirrored ? parameters.replicationTicks : 0,
    });
    const row = {
      instances: count,
      players: count * PLAYERS,
      p50Ms: round(quantile(durations, 0.5), 2),
      p99Ms: round(quantile(durations, 0.99), 2),
      held: quantile(durations, 0.99) <= TICK_BUDGET_MS,
      mirrored,
    };
    ticks.push(row);
    context.progress(
      `instances: ${count} × ${PLAYERS} players${mirrored ? ", mirrored" : ""}: ` +
        `tick p50 ${row.p50Ms} ms, p99 ${row.p99Ms} ms`,
    );
  }
  for (const size of parameters.directorySizes) {
    context.partial = results();
    const row = directoryRun(size, parameters.queries);
    directory.push(row);
    context.progress(
      `instances: directory of ${size}: search p50 ${row.search.p50Us} µs, p99 ${row.search.p99Us} µs`,
    );
  }
  context.partial = results();
  const bots = last.bots = await botsRun(
    context,
    parameters.bots,
    parameters.botSeconds,
    parameters.staySeconds,
  );
  context.progress(
    `instances: ${bots.clients} bots: ${bots.joins} joins, p50 ${bots.joinMs?.p50} ms, p99 ${bots.joinMs?.p99} ms`,
  );
  return { parameters, results: results() };
}

function render(raw: unknown) {
  const results = object(raw, "results");
  const rows: string[][] = [];
  for (const r of array(results.ticks, "results.ticks")) {
    const t = object(r, "tick row");
    rows.push([
      `tick, ${num(t, "instances")} instances × ${PLAYERS} players (in-process${
        t.mirrored === true ? ", mirrored to a backup" : ""
      })`,
      cell(num(t, "p50Ms"), 2) + " ms",
      cell(num(t, "p99Ms"), 2) + " ms",
      t.held === true ? "held (≤ 20 ms)" : "over 20 ms",
    ]);
  }
  for (const r of array(results.directory, "results.directory")) {
    const d = object(r, "directory row");
    const size = num(d, "instances").toLocaleString("en-US");
    for (
      const [key, label] of [
        ["search", "search (page of 20)"],
        ["quickJoin", "quick-join lookup"],
        ["reserveRelease", "reserve + release a seat"],
      ] as const
    ) {
      const m = object(d[key], key);
      rows.push([
        `${label}, ${size} instances`,
        `${cell(num(m, "p50Us"), 2)} µs`,
        `${cell(num(m, "p99Us"), 2)} µs`,
        key === "search" ? `${num(d, "meanResults")} results on average` : "",
      ]);
    }
  }
  if (results.bots !== undefined && results.bots !== null) {
    const b = object(results.bots, "bots");
    const join = b.joinMs ? object(b.joinMs, "joinMs") : undefined;
    const leave = b.leaveMs ? object(b.leaveMs, "leaveMs") : undefined;
    const failed = Object.entries(object(b.failed, "failed")).map(([k, v]) =>
      `${k} ×${v}`
    ).join(", ") || "none";
    rows.push([
      `JOIN → TRAVEL, ${num(b, "clients")} bots (quick-join duel, ${num(b, "joins")} joins)`,
      join ? `${cell(numOrNull(join, "p50"), 1)} ms` : "–",
      join ? `${cell(numOrNull(join, "p99"), 1)} ms` : "–",
      `failed: ${failed}; errors ${num(b, "errors")}`,
    ]);
    rows.push([
      `LEAVE → TRAVEL, ${num(b, "clients")} bots (${num(b, "leaves")} leaves)`,
      leave ? `${cell(numOrNull(leave, "p50"), 1)} ms` : "–",
      leave ? `${cell(numOrNull(leave, "p99"), 1)} ms` : "–",
      "",
    ]);
  }
  const largest = num(results, "largestHeld");
  return {
    table: { columns: ["measure", "p50", "p99", "notes"], rows },
    summary: [
      `Largest count of ${PLAYERS}-player instances stepped within tick p99 ≤ 20 ms: ${
        largest.toLocaleString("en-US")
      } ` +
      `(${
        (largest * PLAYERS).toLocaleString("en-US")
      } players). In-process: InstanceSpaces.step and report encoding ` +
      "on one core, without the gRPC transport to gateways.",
      "Mirrored rows: replica mode, each instance mirrored to its host's backup every " +
      "2 ticks (creates and deletes every tick) and its batches encoded, in the same run as " +
      "the rows without; what the backup spends applying them is not in them.",
    ],
  };
}

/** The instances scenario. */
export const instances: Scenario = {
  name: "instances",
  title: "Rooms: instances per worker, directory search, join latency",
  target:
    "instances per worker at tick p99 ≤ 20 ms (8 players each); search flat from 1k to 100k instances",
  budgetMs: (quick) => (quick ? 120_000 : 600_000),
  run,
  render,
};
