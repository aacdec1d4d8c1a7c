// Smoke test of the benchmark harness: `bench/main.ts --quick` runs every scenario (worker-tick,
// worker-full, migration, scaling, gateway-fanout, handoff and the Colyseus peer comparison) against real
// processes and writes a JSON report per scenario plus the docs tables.
// It asserts what the reports contain and that every process was stopped — never timings.
import assert from "node:assert/strict";
import { GENERATED_END, GENERATED_START } from "../../testing/bench_docs.ts";

const ROOT = new URL("../../", import.meta.url).pathname;
const SCENARIOS = [
  "worker-tick",
  "worker-full",
  "migration",
  "scaling",
  "gateway-fanout",
  "handoff",
  "peer",
];
/** The quick runs take about 50 s on 2 cores; a slow, busy machine gets four times that. */
const LIMIT_MS = 200_000;

type Json = Record<string, unknown>;
const obj = (value: unknown): Json => {
  assert.ok(typeof value === "object" && value !== null && !Array.isArray(value), "an object");
  return value as Json;
};
const list = (value: unknown): unknown[] => {
  assert.ok(Array.isArray(value), "an array");
  return value;
};

/** Processes still running whose command line mentions `text`. */
function processesMentioning(text: string): string[] {
  const found: string[] = [];
  for (const entry of Deno.readDirSync("/proc")) {
    if (!/^\d+$/.test(entry.name)) continue;
    try {
      const cmdline = Deno.readTextFileSync(`/proc/${entry.name}/cmdline`).replaceAll("\0", " ");
      if (cmdline.includes(text)) found.push(`${entry.name}: ${cmdline}`);
    } catch {
      // exited meanwhile
    }
  }
  return found;
}

function assertCommon(report: Json, scenario: string): Json {
  assert.equal(report.scenario, scenario);
  assert.equal(report.quick, true);
  const machine = obj(report.machine);
  for (const key of ["cpuModel", "os", "deno", "v8", "commit"]) {
    assert.equal(typeof machine[key], "string", `machine.${key}`);
  }
  assert.ok(Number(machine.cores) >= 1);
  assert.ok(Number(machine.memoryMb) > 0);
  assert.match(String(report.command), /bench\/main\.ts .*--quick/);
  assert.ok(!Number.isNaN(Date.parse(String(report.timestamp))));
  assert.equal(report.error, undefined, `the run failed: ${report.error}`);
  obj(report.parameters);
  return obj(report.results);
}

function assertWindow(value: unknown, workers: number): void {
  const window = obj(value);
  const ws = list(window.workers).map(obj);
  assert.equal(ws.length, workers);
  for (const w of ws) {
    const tick = obj(w.tick);
    assert.ok(Number(tick.ticks) > 0, "ticks were measured");
    for (const key of ["meanMs", "over20MsPct", "ticksPerS"]) {
      assert.equal(typeof tick[key], "number", `tick.${key}`);
    }
    for (const key of ["p50Ms", "p99Ms"]) {
      assert.ok(tick[key] === null || typeof tick[key] === "number", `tick.${key}`);
    }
    assert.ok(Number(w.rssMb) > 0, "worker memory was read");
    assert.equal(typeof w.cpuPct, "number");
    assert.equal(typeof obj(w.counters).handoffsOut, "number");
  }
  assert.equal(typeof obj(window.total).cpuPct, "number");
  assert.equal(typeof obj(window.machine).otherPct, "number");
  assert.equal(typeof window.held, "boolean");
}

/** The most entities among rows whose window held the tick budget, or null. */
function largestHeld(rows: Json[]): number | null {
  const held = rows.filter((r) => (r.window as Json | undefined)?.held === true).map((r) =>
    Number(r.entities)
  );
  return held.length > 0 ? Math.max(...held) : null;
}

/** A bot load (bench/load_run.ts): every client live, state received, the server measured. */
function assertLoad(value: unknown, clients: number, server: string): void {
  const load = obj(value);
  const bots = obj(load.bots);
  assert.equal(bots.liveAtEnd, clients, "every bot client stayed connected");
  assert.ok(Number(bots.ackSamples) > 0, "inputs were acknowledged");
  assert.ok(Number(bots.snapshotsPerClientPerS) > 0, "snapshots arrived");
  assert.ok(Number(bots.bytesPerClientPerS) > 0, "bytes were counted at the client");
  const measured = list(load.servers).map(obj).find((s) => s.name === server);
  assert.ok(measured && Number(measured.rssMb) > 0, `${server} was measured`);
  assert.equal(typeof load.botCpuPct, "number");
}

Deno.test({
  name: "bench --quick writes a JSON report per scenario, the docs tables, and stops every process",
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    const dir = Deno.makeTempDirSync({ prefix: "zs-bench-smoke-" });
    const docs = `${dir}/benchmarks.md`;
    Deno.writeTextFileSync(docs, "# Benchmarks\n\nHand-written intro.\n");
    try {
      const child = new Deno.Command(Deno.execPath(), {
        args: [
          "run",
          "-A",
          `${ROOT}bench/main.ts`,
          ...SCENARIOS,
          "--quick",
          "--out",
          dir,
          "--docs",
          docs,
        ],
        cwd: ROOT,
        // Cluster config files go to TMPDIR, so every benchmark process names `dir`.
        env: { TMPDIR: dir },
        stdout: "piped",
        stderr: "piped",
      }).spawn();
      const timer = setTimeout(() => child.kill("SIGTERM"), LIMIT_MS);
      const output = await child.output();
      clearTimeout(timer);
      const stderr = new TextDecoder().decode(output.stderr);
      assert.equal(output.code, 0, `bench exited ${output.code}:\n${stderr}`);
      const stdout = new TextDecoder().decode(output.stdout);
      for (const name of SCENARIOS) assert.match(stdout, new RegExp(`## ${name}:`));
      assert.deepEqual(processesMentioning(dir), [], "no benchmark process outlives the run");

      const read = (name: string) =>
        JSON.parse(Deno.readTextFileSync(`${dir}/${name}.quick.json`)) as Json;
      const tick = assertCommon(read("worker-tick"), "worker-tick");
      const tickRows = list(tick.rows).map(obj);
      assert.deepEqual(tickRows.map((r) => r.entities), [1_000]);
      for (const row of tickRows) assertWindow(row.window, 1);
      assert.equal(tick.largestHeld, largestHeld(tickRows), "largestHeld is the largest held row");
      for (const row of tickRows) {
        const limit = obj(row.limit);
        assert.equal(limit.entities, row.entities, "the limit ran at the row's count");
        assert.equal(limit.ticks, 40, "every measured tick of the limit is in its percentiles");
        assert.ok(
          (limit.p50Ms as number) > 0 && (limit.p50Ms as number) <= (limit.p99Ms as number),
        );
      }
      assert.equal(tick.limitRatioAtTarget, null, "the quick run has no 20,000 row");

      const full = assertCommon(read("worker-full"), "worker-full");
      assertWindow(full.window, 2);
      const fullWorkers = list(obj(full.window).workers).map(obj);
      assert.deepEqual(fullWorkers.map((w) => w.id).sort(), ["w1", "w2"]);
      const w2 = fullWorkers.find((w) => w.id === "w2")!;
      assert.equal(w2.cells, full.peerCells, "the peer owns the strip, and only it");
      assert.ok(Number(w2.entities) > 0, "the peer simulates its strip");
      assert.ok(
        Number(fullWorkers.find((w) => w.id === "w1")!.ghosts) > 0,
        "the measured worker holds ghosts of the peer's entities: the border is synced",
      );
      assertLoad(full.load, Number(full.players), "gateway");
      assert.equal(obj(full.limit).entities, fullWorkers.find((w) => w.id === "w1")!.entities);

      const migration = assertCommon(read("migration"), "migration");
      const sizes = list(migration.rows).map(obj);
      assert.deepEqual(sizes.map((r) => r.size), [1_000]);
      for (const size of sizes) {
        const samples = list(size.samples).map(obj);
        assert.equal(samples.length, 2);
        for (const s of samples) {
          assert.ok(Number(s.entities) >= Number(size.size), "the cell held the crowd");
          assert.equal(typeof s.pauseMs, "number");
          assert.equal(typeof s.ticksMissed, "number");
          assert.notEqual(s.from, s.to);
        }
        assert.equal(size.pauseMaxMs, Math.max(...samples.map((s) => Number(s.pauseMs))));
      }
      assert.equal(migration.targetEntities, 1_000);
      const target = sizes[0];
      assert.equal(
        migration.targetMet,
        Number(target.pauseMaxMs) <= Number(migration.targetPauseMs),
        "targetMet says whether the target size paused within the target",
      );

      const scaling = assertCommon(read("scaling"), "scaling");
      const capacities = list(scaling.capacities).map(obj);
      assert.deepEqual(
        capacities.map((c) => [c.workers, c.faultTolerance]),
        [[1, "replica"], [2, "none"], [2, "replica"]],
      );
      for (const c of capacities) {
        const runs = list(c.runs).map(obj);
        assert.ok(runs.length >= 1);
        for (const run of runs) assertWindow(run.window, Number(c.workers));
        assert.equal(c.largestHeld, largestHeld(runs), `largest held on ${c.workers} worker(s)`);
      }
      const [one, twoAlone, twoMirrored] = capacities.map((c) => c.largestHeld as number | null);
      const ratio = (two: number | null) => one && two ? Math.round((two / one) * 100) / 100 : null;
      assert.deepEqual(
        list(scaling.ratios).map(obj).map((r) => [r.faultTolerance, r.ratio]),
        [["none", ratio(twoAlone)], ["replica", ratio(twoMirrored)]],
        "each ratio is of the pair's and the lone worker's largest held counts",
      );
      assert.equal(scaling.ratio, ratio(twoMirrored), "the headline ratio is the default mode's");

      const fanout = assertCommon(read("gateway-fanout"), "gateway-fanout");
      const fanoutRows = list(fanout.rows).map(obj);
      assert.deepEqual(fanoutRows.map((r) => r.clients), [20]);
      for (const row of fanoutRows) {
        assertLoad(row.load, Number(row.clients), "gateway");
        // The floor beside it: the same clients, frames of the gateway's mean DIFF size.
        const floor = obj(row.floor);
        const gatewayBots = obj(obj(row.load).bots);
        assert.equal(
          floor.frameBytes,
          Math.round(
            Number(gatewayBots.bytesPerClientPerS) / Number(gatewayBots.snapshotsPerClientPerS),
          ),
        );
        const floorLoad = obj(floor.load);
        assert.equal(obj(floorLoad.bots).liveAtEnd, row.clients, "every floor client stayed");
        assert.ok(Number(obj(floorLoad.bots).snapshotsPerClientPerS) > 0, "floor frames arrived");
        assert.equal(obj(list(floorLoad.servers)[0]).name, "floor");
      }

      const handoff = assertCommon(read("handoff"), "handoff");
      assert.equal(handoff.connected, handoff.walkers, "every walker connected");
      assert.ok(Number(handoff.crossings) > 0, "walkers crossed the border in the window");
      assert.ok(Number(obj(handoff.away).diffs) > 0, "DIFFs away from the border were counted");
      const near = obj(handoff.near);
      assert.ok(Number(near.diffs) > 0, "DIFFs near a crossing were counted");
      // Its value, not only its type: a count of those DIFFs, non-zero exactly when the largest
      // tick gap is over one. Zero itself is no promise on a loaded machine (a late worker skips
      // ticks); tests/integration/gateway_test.ts holds a crossing to no tick missed that a
      // worker did not log as skipped.
      const gaps = Number(near.gapsOverOne);
      assert.ok(Number.isInteger(gaps) && gaps <= Number(near.diffs), `${gaps} gaps`);
      assert.equal(gaps > 0, Number(near.maxTickGap) > 1, "gapsOverOne agrees with maxTickGap");

      const peer = assertCommon(read("peer"), "peer");
      assert.match(String(obj(peer.versions)["@colyseus/core"]), /^0\.18\./);
      const peerRows = list(peer.rows).map(obj);
      assert.deepEqual(
        peerRows.map((r) => `${r.case}: ${r.server}`),
        [
          "small arena: ZoneScaler",
          "small arena: Colyseus",
          "big world: ZoneScaler",
          "big world: Colyseus",
        ],
      );
      for (const row of peerRows) {
        assertLoad(row.load, Number(row.clients), row.server === "Colyseus" ? "colyseus" : "w1");
      }

      const text = Deno.readTextFileSync(docs);
      assert.match(text, /^# Benchmarks\n\nHand-written intro\.\n/, "the intro survives");
      assert.ok(text.includes(GENERATED_START) && text.includes(GENERATED_END));
      for (const name of SCENARIOS) assert.match(text, new RegExp(`### ${name}: .*\\n`));
      assert.match(text, /\| entities \| tick p50 ms \|/);
    } finally {
      Deno.removeSync(dir, { recursive: true });
    }
  },
});
