// The check that a client's DIFF stream missed no tick but those the workers declared missed
// (shared by the gateway and room-move tests).
import assert from "node:assert/strict";
import type { NodeProcess } from "./node_process.ts";
import type { TestClient } from "./ws_client.ts";

/**
 * Asserts the client's stream missed no tick: a DIFF per tick, except ticks a worker declared
 * missed: skipped (it fell more than its catch-up limit behind the global clock), or not
 * simulated while a cell or the player's entity moved (its transfer or handoff arrived after
 * the receiver's next tick).
 */
export function assertNoMissedTick(client: TestClient, nodes: readonly NodeProcess[]): void {
  const skipped = new Set<number>();
  for (const node of nodes) {
    for (const line of node.lines) {
      if (line.event === "tick.skipped") {
        const at = Number(line.at);
        for (let t = at - Number(line.skipped); t < at; t++) skipped.add(t);
      } else if (
        line.event === "migration.accepted" ||
        (line.event === "handoff.late" && line.entity === client.entity)
      ) {
        // A receiver whose tick ran before the sender's transfer (of a cell, or of the player's
        // own entity) arrived — a late worker: the protocol allows the skip — owns it from tick
        // `tick` with `ticksMissed` ticks not simulated. Its first view is labelled tick - 1
        // (views are collected at the start of the next tick), the sender's last
        // tick - 2 - ticksMissed.
        const at = Number(line.tick), missed = Number(line.ticksMissed);
        for (let t = at - 1 - missed; t < at - 1; t++) skipped.add(t);
      }
    }
  }
  for (const [before, after] of client.gaps) {
    for (let t = before + 1; t < after; t++) {
      assert.ok(skipped.has(t), `tick ${t} missing from the stream (${before} → ${after})`);
    }
  }
}
