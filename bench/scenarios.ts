// The scenario registry: every benchmark `npm run bench` knows, in the order it runs them.
// A new scenario (gateway-fanout, handoff, peer comparison, failover) is one module plus one
// line here.
import { abortStress } from "./abort_stress.ts";
import { coordinatorFailover } from "./coordinator_failover.ts";
import { deploy } from "./deploy.ts";
import { failover } from "./failover.ts";
import { gatewayFanout } from "./gateway_fanout.ts";
import { handoff } from "./handoff.ts";
import { instances } from "./instances.ts";
import { migration } from "./migration.ts";
import { peerComparison } from "./peer_comparison.ts";
import { remoteLogic } from "./remote_logic.ts";
import type { Scenario } from "./scenario.ts";
import { scaling } from "./scaling.ts";
import { workerFull } from "./worker_full.ts";
import { workerTick } from "./worker_tick.ts";

/** Every registered scenario, in run order. */
export const SCENARIOS: readonly Scenario[] = [
  workerTick,
  workerFull,
  migration,
  scaling,
  gatewayFanout,
  handoff,
  peerComparison,
  abortStress,
  failover,
  coordinatorFailover,
  remoteLogic,
  instances,
  deploy,
];

/** The scenario called `name`, or undefined. */
export function findScenario(name: string): Scenario | undefined {
  return SCENARIOS.find((s) => s.name === name);
}
