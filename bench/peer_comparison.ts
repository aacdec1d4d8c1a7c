// Scenario peer: the same bot load against ZoneScaler and against Colyseus 0.18 under Node
// (bench/peer/colyseus_server.mjs, bench/peer/colyseus_bots.mjs), side by side in one run, in two
// worlds: a small arena where everyone sees everyone (Colyseus' home ground) and a big world
// much larger than the AOI radius (ZoneScaler with AOI on two workers; Colyseus with StateView).
import { BenchCluster } from "./cluster.ts";
import { GatewayNode } from "./gateway_node.ts";
import { array, cell, num, numOrNull, object, str } from "./json_fields.ts";
import { type LoadResult, runLoad, splitClients, zsBots } from "./load_run.ts";
import type { Scenario, ScenarioContext, ScenarioOutput } from "./scenario.ts";
import { ScriptProcess } from "./script_process.ts";
import { benchConfig, GHOST_MARGIN, TICK_HZ, worldFor } from "./world.ts";

const ROOT = new URL("../", import.meta.url).pathname;
const NPC_SPEED = 40;

/** One world of the comparison. */
interface Case {
  name: string;
  npcs: number;
  clients: number;
  /** Edge of the square world. */
  size: number;
  /** AOI radius; `everyone` when every client sees the whole world. */
  aoi: number | "everyone";
  zsWorkers: number;
}

/** Parameters of a peer run. */
export function peerParameters(quick: boolean) {
  const big = quick ? 1_000 : 10_000;
  const bigSize = worldFor(big).size[0];
  const cases: Case[] = quick
    ? [
      { name: "small arena", npcs: 200, clients: 10, size: 200, aoi: "everyone", zsWorkers: 1 },
      { name: "big world", npcs: big, clients: 10, size: bigSize, aoi: 50, zsWorkers: 2 },
    ]
    : [
      { name: "small arena", npcs: 200, clients: 100, size: 200, aoi: "everyone", zsWorkers: 1 },
      { name: "small arena", npcs: 200, clients: 200, size: 200, aoi: "everyone", zsWorkers: 1 },
      { name: "big world", npcs: big, clients: 200, size: bigSize, aoi: 50, zsWorkers: 2 },
    ];
  return {
    cases,
    inputHz: 10,
    tickHz: TICK_HZ,
    npcSpeed: NPC_SPEED,
    /** Bot processes per load, the same for both servers. */
    botProcesses: 2,
    rampS: quick ? 1 : 3,
    settleS: quick ? 1 : 5,
    windowS: quick ? 2 : 20,
  };
}

/** One server under one case's load, as stored in the report. */
export interface PeerRow {
  case: string;
  server: "ZoneScaler" | "Colyseus";
  npcs: number;
  clients: number;
  worldSize: number;
  /** How the server limits what a client receives. */
  sync: string;
  load?: LoadResult;
  error?: string;
}

/** Versions of the peer and its runtime, read from node_modules and `node --version`. */
function peerVersions(): Record<string, string> {
  const versions: Record<string, string> = {};
  for (const name of ["core", "ws-transport", "schema", "sdk"]) {
    try {
      const pkg = JSON.parse(
        Deno.readTextFileSync(`${ROOT}node_modules/@colyseus/${name}/package.json`),
      ) as { version?: string };
      versions[`@colyseus/${name}`] = pkg.version ?? "unknown";
    } catch {
      versions[`@colyseus/${name}`] = "not installed";
    }
  }
  try {
    const out = new Deno.Command("node", { args: ["--version"], stdout: "piped" }).outputSync();
    versions.node = new TextDecoder().decode(out.stdout).trim();
  } catch {
    versions.node = "not found";
  }
  return versions;
}

/** ZoneScaler's config for a case: everyone-sees-everyone means one cell and a wide AOI. */
function zoneScalerConfig(c: Case): Record<string, unknown> {
  if (c.aoi !== "everyone") {
    return benchConfig({ workers: c.zsWorkers, npcs: c.npcs, world: worldFor(c.npcs) });
  }
  // One cell larger than the world; AOI radius past its diagonal, ghost margin within the cell.
  const diagonal = Math.ceil(c.size * Math.SQRT2);
  return {
    ...benchConfig({
      workers: c.zsWorkers,
      npcs: c.npcs,
      world: { dims: 2, size: [c.size, c.size], cellSize: diagonal + 100 },
    }),
    aoiRadius: diagonal,
    ghostMargin: diagonal + 50,
  };
}

async function measureZoneScaler(
  context: ScenarioContext,
  parameters: ReturnType<typeof peerParameters>,
  c: Case,
  row: PeerRow,
): Promise<void> {
  const config = zoneScalerConfig(c);
  const cluster = await BenchCluster.start(context, {
    workers: c.zsWorkers,
    entities: c.npcs,
    config,
  });
  let gateway: GatewayNode | undefined;
  try {
    gateway = await GatewayNode.start(context, cluster, config);
    row.load = await runLoad(context, {
      bots: zsBots(gateway.url, splitClients(c.clients, parameters.botProcesses), {
        inputHz: parameters.inputHz,
        rampS: parameters.rampS,
      }),
      servers: [
        { name: "gateway", pid: gateway.pid },
        ...cluster.processes().map((p) => ({ name: p.name, pid: p.child.pid })),
      ],
      warmupS: parameters.rampS + parameters.settleS,
      windowS: parameters.windowS,
    });
  } finally {
    if (gateway) await context.release(gateway);
    await context.release(cluster);
  }
}

async function measureColyseus(
  context: ScenarioContext,
  parameters: ReturnType<typeof peerParameters>,
  c: Case,
  row: PeerRow,
): Promise<void> {
  const aoi = c.aoi === "everyone" ? 0 : c.aoi;
  const server = context.own(
    new ScriptProcess("colyseus", "node", "bench/peer/colyseus_server.mjs", [
      "--port",
      "0",
      "--npcs",
      String(c.npcs),
      "--size",
      String(c.size),
      "--aoi",
      String(aoi),
      "--tick-hz",
      String(parameters.tickHz),
      "--speed",
      String(parameters.npcSpeed),
    ]),
  );
  try {
    const listening = await server.waitForEvent("listening", {
      timeoutMs: 30_000,
      signal: context.signal,
    });
    row.load = await runLoad(context, {
      bots: splitClients(c.clients, parameters.botProcesses).map((n, i) => ({
        runtime: "node",
        script: "bench/peer/colyseus_bots.mjs",
        args: [
          "--endpoint",
          `ws://127.0.0.1:${listening.port}`,
          "--clients",
          String(n),
          "--rate",
          String(parameters.inputHz),
          "--ramp",
          String(parameters.rampS),
          "--seed",
          String(i + 1),
          "--size",
          String(c.size),
        ],
      })),
      servers: [{ name: "colyseus", pid: server.pid }],
      warmupS: parameters.rampS + parameters.settleS,
      windowS: parameters.windowS,
    });
  } finally {
    await context.release(server);
  }
}

async function run(context: ScenarioContext): Promise<ScenarioOutput> {
  const parameters = peerParameters(context.quick);
  const versions = peerVersions();
  const rows: PeerRow[] = [];
  const results = () => ({ versions, rows });
  for (const c of parameters.cases) {
    for (const server of ["ZoneScaler", "Colyseus"] as const) {
      context.partial = results();
      context.progress(`peer: ${c.name}, ${c.clients} clients, ${c.npcs} NPCs: ${server}`);
      const row: PeerRow = {
        case: c.name,
        server,
        npcs: c.npcs,
        clients: c.clients,
        worldSize: c.size,
        sync: c.aoi === "everyone"
          ? "everyone sees everyone"
          : server === "ZoneScaler"
          ? `AOI ${c.aoi} (ghost margin ${GHOST_MARGIN}), ${c.zsWorkers} workers`
          : `StateView, AOI ${c.aoi}`,
      };
      rows.push(row);
      try {
        if (server === "ZoneScaler") await measureZoneScaler(context, parameters, c, row);
        else await measureColyseus(context, parameters, c, row);
        const l = row.load!;
        context.progress(
          `  live ${l.bots.liveAtEnd}/${c.clients}, ack p50 ${l.bots.ackP50Ms} p99 ` +
            `${l.bots.ackP99Ms} ms, ${l.bots.bytesPerClientPerS} B/s per client, server CPU ` +
            `${l.serverTotal.cpuPct}% RSS ${l.serverTotal.rssMb} MB, bots CPU ${l.botCpuPct}%`,
        );
      } catch (error) {
        context.checkAborted();
        row.error = (error as Error).message;
        context.progress(`  not measured: ${row.error}`);
      }
    }
  }
  return { parameters, results: results() };
}

/** The machine counts as saturated when its 2 cores are this busy (percent of one core). */
const SATURATED_PCT = 0.9;

function render(raw: unknown) {
  const results = object(raw, "results");
  const versions = object(results.versions, "versions");
  const cores = navigator.hardwareConcurrency;
  const notes: string[] = [];
  const rows = array(results.rows, "results.rows").map((r) => {
    const row = object(r, "row");
    const head = [
      `${str(row, "case")}, ${num(row, "clients")} clients, ${
        num(row, "npcs").toLocaleString("en-US")
      } NPCs`,
      str(row, "server"),
      str(row, "sync"),
    ];
    if (row.load === undefined) return [...head, ...new Array(10).fill("–"), `${row.error}`];
    const load = object(row.load, "row.load");
    const bots = object(load.bots, "load.bots");
    const total = object(load.serverTotal, "load.serverTotal");
    const machine = object(load.machine, "load.machine");
    const busy = num(machine, "busyPct");
    const botMax = num(load, "botMaxCpuPct");
    const saturated = [
      busy >= SATURATED_PCT * 100 * cores ? "machine" : "",
      botMax >= SATURATED_PCT * 100 ? "a bot process" : "",
    ].filter(Boolean).join(", ");
    if (saturated) {
      notes.push(`${head[0]}, ${head[1]}: saturated: ${saturated} (numbers are a lower bound).`);
    }
    return [
      ...head,
      `${num(bots, "liveAtEnd")}/${num(row, "clients")}`,
      cell(numOrNull(bots, "ackP50Ms"), 1),
      cell(numOrNull(bots, "ackP99Ms"), 1),
      cell(num(bots, "snapshotsPerClientPerS"), 1),
      cell(num(bots, "bytesPerClientPerS") / 1024, 1),
      cell(num(total, "cpuPct"), 0),
      cell(num(total, "rssMb"), 0),
      cell(num(load, "botCpuPct"), 0),
      cell(busy, 0),
      cell(num(machine, "otherPct"), 0),
      saturated || "no",
    ];
  });
  return {
    table: {
      columns: [
        "world and load",
        "server",
        "what a client receives",
        "live at end",
        "ack p50 ms",
        "ack p99 ms",
        "snapshots/s per client",
        "KB/s per client",
        "server CPU %",
        "server RSS MB",
        "bots CPU %",
        "machine busy %",
        "other programs CPU %",
        "saturated",
      ],
      rows,
    },
    summary: [
      `Versions: ${Object.entries(versions).map(([k, v]) => `${k} ${v}`).join(", ")}.`,
      "Server CPU and RSS: ZoneScaler is every process summed (coordinator, workers, gateway); " +
      "Colyseus is its one Node process. KB/s per client is the sum of WebSocket message sizes " +
      "received by the bots. Both bot kinds send 10 inputs/s with a seq and measure until their " +
      "own entity shows that seq.",
      ...notes,
    ],
  };
}

/** The peer-comparison scenario. */
export const peerComparison: Scenario = {
  name: "peer",
  title: "Side by side with Colyseus 0.18 (Node)",
  target: "the same bot load against Colyseus (npm), side by side",
  budgetMs: (quick) => (quick ? 120_000 : 600_000),
  run,
  render,
};
