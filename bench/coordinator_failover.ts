// Scenario coordinator-failover: an active/standby coordinator pair, three workers, a gateway,
// NPCs and walking players. First a steady load of cell moves (each a few log entries) while
// the standby's lag is sampled; then again and again the active coordinator is killed with -9,
// the standby takes over, and the killed one is restarted (it comes back as the standby). Per
// kill: takeover time (kill → the coordinator.takeover event), time until every worker runs
// the new active's epoch, cells whose owner or backup changed across the takeover, entities
// lost (each worker's own /api/state before and after), players whose connection closed.
// Target (SPEC.md): the standby is active in ≤ 3 s with 0 map changes.
import { settledCensus } from "../testing/audit.ts";
import { type ClusterState, startCluster } from "../testing/cluster.ts";
import { guestToken, TestClient } from "../testing/ws_client.ts";
import { cell, num, numOrNull, object } from "./json_fields.ts";
import type { Scenario, ScenarioContext, ScenarioOutput } from "./scenario.ts";
import { quantile } from "./stats.ts";

/** Parameters of a coordinator-failover run. */
export function coordinatorFailoverParameters(quick: boolean) {
  return {
    workers: 3,
    npcs: quick ? 200 : 1_000,
    players: quick ? 6 : 20,
    kills: quick ? 2 : 6,
    /** The shipped bound: a standby whose active is silent this long takes over. */
    standbyTakeoverMs: 1_500,
    heartbeatMs: 250,
    workerTimeoutMs: 1_000,
    /** Steady load: one cell move this often while the standby's lag is sampled. */
    moveEveryMs: 500,
    loadMs: quick ? 3_000 : 10_000,
    lagSampleMs: 50,
    /** Longest wait for each recovery step before it counts as missing, ms. */
    boundMs: 15_000,
  };
}

interface PairSummary {
  role: string;
  term: number;
  index: number;
  standby?: { lag: number };
}
type PairState = ClusterState & {
  coordinator: PairSummary;
  backups: Record<string, string>;
};

/** One kill of the active coordinator, measured. */
interface KillSample {
  killed: number;
  takeoverMs: number | null;
  workersFollowMs: number | null;
  termBefore: number;
  termAfter: number | null;
  epochBefore: number;
  epochAfter: number | null;
  ownersChanged: number;
  backupsChanged: number;
  entitiesBefore: number;
  entitiesLost: number;
  playersClosed: number;
  /** Time until the restarted coordinator followed as the standby, caught up. */
  rejoinedMs: number | null;
}

type Cluster = Awaited<ReturnType<typeof startCluster>>;

async function until<T>(
  context: ScenarioContext,
  boundMs: number,
  probe: () => Promise<T | undefined>,
): Promise<T | undefined> {
  const deadline = Date.now() + boundMs;
  while (Date.now() < deadline) {
    context.checkAborted();
    const value = await probe().catch(() => undefined);
    if (value !== undefined) return value;
    await context.sleep(20);
  }
  return undefined;
}

const urls = (s: ClusterState) => new Map(s.workers.map((w) => [w.id, `http://${w.httpAddress}`]));

/** Steady load on the active: cell moves back and forth; the standby's lag sampled. */
async function sampleLag(
  context: ScenarioContext,
  cluster: Cluster,
  p: ReturnType<typeof coordinatorFailoverParameters>,
): Promise<{ samples: number; p50: number; max: number; moves: number; entries: number }> {
  const lags: number[] = [];
  const first = await cluster.stateAt(0) as PairState;
  const workers = first.workers.map((w) => w.id);
  let moves = 0;
  let nextMove = Date.now();
  const end = Date.now() + p.loadMs;
  while (Date.now() < end) {
    context.checkAborted();
    const s = await cluster.stateAt(0) as PairState;
    if (s.coordinator.standby) lags.push(s.coordinator.standby.lag);
    if (Date.now() >= nextMove && s.migrations.length === 0) {
      const cellId = moves % s.map.owners.length;
      const owner = s.map.owners[cellId];
      const to = workers[(workers.indexOf(owner) + 1) % workers.length];
      const response = await cluster.postAt(0, `/api/cells/${cellId}/move`, { to });
      await response.body?.cancel();
      if (response.status === 202) moves++;
      nextMove = Date.now() + p.moveEveryMs;
    }
    await context.sleep(p.lagSampleMs);
  }
  const last = await cluster.stateAt(0) as PairState;
  return {
    samples: lags.length,
    p50: lags.length ? quantile(lags, 0.5) : 0,
    max: lags.length ? Math.max(...lags) : 0,
    moves,
    entries: last.coordinator.index - first.coordinator.index,
  };
}

async function killOnce(
  context: ScenarioContext,
  cluster: Cluster,
  players: TestClient[],
  active: number,
  p: ReturnType<typeof coordinatorFailoverParameters>,
): Promise<KillSample> {
  const standby = 1 - active;
  const before = await cluster.stateAt(active) as PairState;
  const census = await settledCensus(urls(before), [], 3, 200);
  const killedAt = Date.now();
  cluster.slots[active].process.signal("SIGKILL");
  const after = await until(context, p.boundMs, async () => {
    const s = await cluster.stateAt(standby) as PairState;
    return s.coordinator.role === "active" ? s : undefined;
  });
  const takeover = after?.events.find((e) =>
    e.kind === "coordinator.takeover" && Number(e.time) >= killedAt
  );
  const followed = await until(context, p.boundMs, async () => {
    const s = await cluster.stateAt(standby) as PairState;
    return s.workers.every((w) => w.state === "active" && w.epoch === s.epoch) ? s : undefined;
  });
  const followedAt = Date.now();
  const now = followed ?? after ?? before;
  const ownersChanged = now.map.owners.filter((o, c) => o !== before.map.owners[c]).length;
  const backupsChanged = Object.keys({ ...before.backups, ...now.backups })
    .filter((k) => before.backups[k] !== now.backups[k]).length;
  const lost = await settledCensus(urls(now), census.held, 5, 200);
  // The killed one comes back, as it was started, and follows the new active.
  await until(
    context,
    p.boundMs,
    () => Promise.resolve(cluster.slots[active].process.exitStatus !== undefined || undefined),
  );
  const restartedAt = Date.now();
  await cluster.restartCoordinator(active);
  const rejoined = await until(context, p.boundMs, async () => {
    const [a, b] = [
      await cluster.stateAt(standby) as PairState,
      await cluster.stateAt(active) as PairState,
    ];
    return a.coordinator.standby?.lag === 0 && b.coordinator.role === "standby" || undefined;
  });
  return {
    killed: active,
    takeoverMs: takeover ? Number(takeover.time) - killedAt : null,
    workersFollowMs: followed ? followedAt - killedAt : null,
    termBefore: before.coordinator.term,
    termAfter: after?.coordinator.term ?? null,
    epochBefore: before.epoch,
    epochAfter: followed?.epoch ?? null,
    ownersChanged,
    backupsChanged,
    entitiesBefore: census.held.size,
    entitiesLost: lost.missing.length,
    playersClosed: players.filter((pl) => pl.closeEvent && pl.closeEvent.at >= killedAt).length,
    rejoinedMs: rejoined ? Date.now() - restartedAt : null,
  };
}

function spread(values: Array<number | null>) {
  const seen = values.filter((v): v is number => v !== null);
  return {
    p50: seen.length ? quantile(seen, 0.5) : null,
    max: seen.length ? Math.max(...seen) : null,
    missing: values.length - seen.length,
  };
}

async function run(context: ScenarioContext): Promise<ScenarioOutput> {
  const p = coordinatorFailoverParameters(context.quick);
  const cluster = await startCluster({
    minWorkers: p.workers,
    heartbeatMs: p.heartbeatMs,
    workerTimeoutMs: p.workerTimeoutMs,
    standbyTakeoverMs: p.standbyTakeoverMs,
    rebalance: { enabled: false },
    world: { dims: 2, size: [1000, 1000], cellSize: 100 },
    game: { npcs: p.npcs, speed: 40, bumpRadius: 8, bumpCooldownTicks: 5, seed: 13 },
  }, { workers: p.workers, gateways: 1, parallel: true, standby: true });
  context.own(cluster);
  const players: TestClient[] = [];
  context.own({
    close: () => Promise.resolve(players.forEach((pl) => pl.close())),
  });
  const gateway = cluster.gateways[0];
  for (let i = 0; i < p.players; i++) {
    const player = new TestClient(`${gateway.replace("http://", "ws://")}/ws`);
    players.push(player);
    await player.hello({ token: await guestToken(gateway, `player-${i + 1}`) });
    player.walk(10);
  }
  await until(context, p.boundMs, async () => {
    const s = await cluster.stateAt(0) as PairState;
    return s.coordinator.standby?.lag === 0 || undefined;
  });
  context.progress("  steady load: cell moves, standby lag sampled");
  const lag = await sampleLag(context, cluster, p);
  context.progress(`  lag p50 ${lag.p50} max ${lag.max} entries over ${lag.samples} samples`);
  const kills: KillSample[] = [];
  context.partial = { lag, kills };
  let active = 0;
  for (let k = 0; k < p.kills; k++) {
    const sample = await killOnce(context, cluster, players, active, p);
    kills.push(sample);
    context.partial = { lag, kills };
    context.progress(
      `  kill ${k + 1}: active after ${sample.takeoverMs} ms, workers on it after ` +
        `${sample.workersFollowMs} ms, ${sample.ownersChanged} owners changed, ` +
        `${sample.entitiesLost} lost`,
    );
    active = 1 - active;
  }
  const takeover = spread(kills.map((k) => k.takeoverMs));
  const summary = {
    kills: kills.length,
    takeoverMs: takeover,
    workersFollowMs: spread(kills.map((k) => k.workersFollowMs)),
    rejoinedMs: spread(kills.map((k) => k.rejoinedMs)),
    mapChanges: kills.reduce((n, k) => n + k.ownersChanged + k.backupsChanged, 0),
    entitiesLost: kills.reduce((n, k) => n + k.entitiesLost, 0),
    playersClosed: kills.reduce((n, k) => n + k.playersClosed, 0),
  };
  const targetMet = takeover.missing === 0 && (takeover.max ?? Infinity) <= 3_000 &&
    summary.mapChanges === 0 && summary.entitiesLost === 0;
  return { parameters: p, results: { lag, kills, summary, targetMet } };
}

function render(raw: unknown) {
  const results = object(raw, "results");
  const summary = object(results.summary, "summary");
  const lag = object(results.lag, "lag");
  const row = (label: string, key: string) => {
    const s = object(summary[key], key);
    const missing = num(s, "missing");
    return [
      label,
      cell(numOrNull(s, "p50"), 0),
      cell(numOrNull(s, "max"), 0) + (missing > 0 ? ` (${missing} never)` : ""),
    ];
  };
  const met = results.targetMet;
  return {
    table: {
      columns: ["per kill -9 of the active coordinator", "p50", "max"],
      rows: [
        row("the standby is active (coordinator.takeover), ms", "takeoverMs"),
        row("every worker runs the new active's epoch, ms", "workersFollowMs"),
        row("the restarted one follows, caught up, ms", "rejoinedMs"),
        [
          "standby lag under cell moves, log entries",
          cell(num(lag, "p50"), 0),
          cell(num(lag, "max"), 0),
        ],
      ],
    },
    summary: [
      `${num(summary, "kills")} kills; cells whose owner or backup changed across a takeover ` +
      `${num(summary, "mapChanges")}; entities lost ${num(summary, "entitiesLost")}; players ` +
      `whose connection closed ${num(summary, "playersClosed")}. Lag: ${num(lag, "samples")} ` +
      `samples during ${num(lag, "moves")} cell moves (${num(lag, "entries")} log entries).`,
      `Target (active in ≤ 3 s, 0 map changes, 0 lost): ${
        met === true ? "met" : met === false ? "missed" : "not measurable"
      }.`,
    ],
  };
}

/** The coordinator-failover scenario. */
export const coordinatorFailover: Scenario = {
  name: "coordinator-failover",
  title: "kill -9 of the active coordinator of a pair under players",
  target: "the standby is active in ≤ 3 s with 0 map changes and 0 entities lost",
  budgetMs: (quick) => (quick ? 120_000 : 300_000),
  run,
  render,
};
