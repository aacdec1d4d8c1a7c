// Issue 11 item 1, in CI: at least 50 fault cycles (pauses across the failure timeout, cell
// moves, drains, SIGTERM, kill -9) against a real cluster under bots, then role all drained
// thread by thread. No process may end by a signal it was not sent, none may print a native
// crash, and every drained or SIGTERMed worker must exit 0. `npm run bench -- abort-stress`
// runs the long version.
import assert from "node:assert/strict";
import { drainAllRole } from "../../testing/all_role_drains.ts";
import { Fault, runFaultCycles } from "../../testing/fault_cycles.ts";

const { MOVE, PAUSE, STALL, DRAIN, SIGTERM, KILL } = Fault;
/**
 * 50 cheap cycles: moves and short pauses while the cluster is healthy, a few departures, then
 * stalls past the failure timeout (peers drop their streams to the stalled worker, which then
 * resumes into reset streams: what aborted node:http2) and a kill -9.
 */
export const CI_CYCLES: Fault[] = [
  ...Array.from({ length: 8 }, () => [MOVE, PAUSE]).flat(),
  DRAIN,
  ...Array.from({ length: 5 }, () => [MOVE, PAUSE]).flat(),
  SIGTERM,
  ...Array.from({ length: 5 }, () => [MOVE, PAUSE]).flat(),
  DRAIN,
  MOVE,
  MOVE,
  ...Array.from({ length: 8 }, () => STALL),
  KILL,
];

Deno.test({
  name: "50 fault cycles under bots end no process by a signal it was not sent",
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    assert.ok(CI_CYCLES.length >= 50);
    const report = await runFaultCycles({
      cycles: CI_CYCLES,
      workers: 3,
      bots: 10,
      pauseMs: 400,
      stallMs: 1_600,
      config: { heartbeatMs: 250, workerTimeoutMs: 1_200 },
    });
    const context = JSON.stringify(report, null, 1);
    assert.deepEqual(report.unexpectedSignals, [], context);
    assert.deepEqual(report.crashLines, [], context);
    assert.deepEqual(report.unexpectedExits, [], context);
    // Every fault was injected, and the departures ended as they should (exit 0).
    assert.deepEqual(report.byFault, {
      move: 20,
      pause: 18,
      drain: 2,
      sigterm: 1,
      stall: 8,
      kill: 1,
    });
    assert.deepEqual(report.failed, [], context);
    assert.deepEqual(report.skipped, [], context);
  },
});

Deno.test({
  name: "role all drained thread by thread through the API, then SIGTERM, exits 0 without a crash",
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    const run = await drainAllRole(4);
    assert.deepEqual(run.failed, []);
    assert.deepEqual(run.drained, ["w2", "w3", "w4"]);
    assert.deepEqual(run.crashLines, []);
    assert.equal(run.signal, null);
    assert.equal(run.code, 0);
  },
});
