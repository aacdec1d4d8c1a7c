// Scenario deploy: a cluster on the build version (0.1.0) (two workers, one gateway, NPCs) under bots;
// two 0.2.0 workers and a 0.2.0 gateway start beside it and `POST /api/deploys` moves the world
// and the sessions over. Measured: the deploy's duration (API call → the new version live with
// every cell), the hand-over of every session, cell moves per second, the worst per-player
// DIFF gap (across the REDIRECT and resume), resumes, errors and entities lost by census.
import { startCluster } from "../testing/cluster.ts";
import { getJson, until } from "../testing/node_process.ts";
import { settledCensus } from "../testing/audit.ts";
import { BotClient } from "../src/client/bot_client.ts";
import { BotMetrics, buildReport } from "../src/client/bot_report.ts";
import { mulberry32 } from "../src/sim/random.ts";
import { cell, num, object } from "./json_fields.ts";
import type { Scenario, ScenarioContext, ScenarioOutput } from "./scenario.ts";
import { round } from "./stats.ts";

const NEW = "0.2.0";

/** Parameters of a deploy run. */
export function deployParameters(quick: boolean) {
  return {
    world: { dims: 2 as const, size: [800, 800], cellSize: 100 },
    npcs: quick ? 300 : 1_000,
    bots: quick ? 10 : 40,
    cellsPerSecond: 8,
    sessionsPerSecond: 20,
    warmupMs: quick ? 1_000 : 3_000,
  };
}

interface DeployDoc {
  live: string;
  runs: Array<{ state: string; moves: number }>;
  versions: Array<{ version: string; sessions: number; cells: number }>;
}

async function run(context: ScenarioContext): Promise<ScenarioOutput> {
  const parameters = deployParameters(context.quick);
  const cluster = await startCluster({
    world: parameters.world,
    rebalance: { enabled: false },
    deploy: {
      cellsPerSecond: parameters.cellsPerSecond,
      sessionsPerSecond: parameters.sessionsPerSecond,
    },
    game: { npcs: parameters.npcs, speed: 60, bumpRadius: 8, bumpCooldownTicks: 5, seed: 3 },
  }, { workers: 2, gateways: 1, parallel: true });
  context.own({ close: () => cluster.close() });
  const random = mulberry32(18);
  const metrics = new BotMetrics(random);
  const clients = Array.from({ length: parameters.bots }, (_, i) =>
    new BotClient({
      gateway: new URL(cluster.gateways[0]),
      name: `bot-${i + 1}`,
      format: "msgpack",
      rateHz: 10,
      pingMs: 2_000,
      timeoutMs: 10_000,
      metrics,
      random,
    }));
  context.own({ close: () => Promise.all(clients.map((b) => b.close())).then(() => {}) });
  await Promise.all(clients.map((b) => b.start()));
  const urls = async () =>
    new Map((await cluster.state()).workers.map((w) => [w.id, `http://${w.httpAddress}`]));
  const before = await settledCensus(await urls());
  await cluster.startWorker("w3", { ZS_VERSION: NEW });
  await cluster.startWorker("w4", { ZS_VERSION: NEW });
  await cluster.startGateway(2, { ZS_VERSION: NEW });
  await new Promise((resolve) => setTimeout(resolve, parameters.warmupMs));
  context.progress(`deploy: ${parameters.bots} bots, ${before.held.size} entities; deploying`);
  const deploys = () => getJson<DeployDoc>(`${cluster.api}/api/deploys`);
  const started = performance.now();
  const response = await cluster.post("/api/deploys", { version: NEW });
  if (response.status !== 202) throw new Error(`deploy refused: ${await response.text()}`);
  await response.body?.cancel();
  const live = await until("the new version live with every cell", async () => {
    const d = await deploys();
    return d.live === NEW ? d : undefined;
  }, 120_000);
  const deployMs = performance.now() - started;
  // The old gateway exits 0 once it has handed every session over.
  const g1 = await cluster.processOf("g1").stop("SIGCONT", 120_000);
  const handedOverMs = performance.now() - started;
  const exits = [
    g1,
    ...await Promise.all(["w1", "w2"].map((id) => cluster.processOf(id).stop("SIGCONT", 30_000))),
  ];
  const after = await settledCensus(await urls(), before.held);
  await Promise.all(clients.map((b) => b.close()));
  const report = buildReport(metrics, {
    clients: clients.length,
    durationSeconds: 1,
    connectedSeconds: 1,
    botCpuPercent: 0,
  });
  const moves = live.runs[0].moves;
  const results = {
    deployMs: round(deployMs, 0),
    handedOverMs: round(handedOverMs, 0),
    cellMoves: moves,
    movesPerSecond: round(moves / (deployMs / 1000), 2),
    worstDiffGapMs: report.maxDiffGapMs,
    resumes: report.resumes,
    redirects: report.redirects,
    errors: report.errors.total,
    errorsBy: report.errors,
    lostSessions: report.lostSessions,
    entities: before.held.size,
    entitiesLost: after.missing.length,
    ownedTwice: after.duplicated.size,
    oldNodesExitedZero: exits.every((s) => s.code === 0),
  };
  return { parameters, results };
}

function render(raw: unknown) {
  const r = object(raw, "results");
  const n = (key: string) => num(r, key);
  return {
    table: {
      columns: ["measure", "value"],
      rows: [
        [
          "deploy duration (API call → new version live, every cell moved), ms",
          cell(n("deployMs"), 0),
        ],
        ["every session on the new gateway, ms after the call", cell(n("handedOverMs"), 0)],
        ["cell moves", cell(n("cellMoves"), 0)],
        ["moves per second", cell(n("movesPerSecond"), 2)],
        ["worst per-player DIFF gap (across the hand-over), ms", cell(n("worstDiffGapMs"), 0)],
        ["resumes (after REDIRECT)", `${n("resumes")} (${n("redirects")})`],
        ["bot errors / lost sessions", `${n("errors")} / ${n("lostSessions")}`],
        [
          "entities lost / owned twice (of all)",
          `${n("entitiesLost")} / ${n("ownedTwice")} (of ${n("entities")})`,
        ],
      ],
    },
    summary: [
      `Old nodes exited 0: ${r.oldNodesExitedZero === true ? "yes" : "no"}.`,
    ],
  };
}

/** The deploy scenario. */
export const deploy: Scenario = {
  name: "deploy",
  title: "zero-downtime deploy of the open world under bots",
  target: "every cell on the new version at the configured rate, old nodes exit 0, " +
    "0 entities and 0 sessions lost",
  budgetMs: (quick) => (quick ? 120_000 : 240_000),
  run,
  render,
};
