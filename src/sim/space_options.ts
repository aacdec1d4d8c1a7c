// What a space is configured with: its identity and share of the world, the game it runs, the
// players' view and grace settings, its spatial index, timings, audit logs, replica mode and
// the tick's phase timing.
// Shared by the space, the parts that make up its tick (space_parts.ts), the worker's instance
// host and the test kit's local cluster.
import type { GameDefinition, InstanceInfo } from "./game.ts";
import type { Grid } from "../world/grid.ts";
import type { Logger } from "../observe/log.ts";
import type { TickPhases } from "../observe/tick_phases.ts";
import type { SpaceTimings } from "./space_tuning.ts";

/** Options of a space (`Space`, src/sim/space.ts). */
export interface SpaceOptions {
  id: string;
  /** Small unique number of this worker; minted entity ids start at index * 2^32. */
  index: number;
  grid: Grid;
  tickHz: number;
  ghostMargin: number;
  game: GameDefinition<unknown>;
  gameOptions: unknown;
  seed?: number;
  log?: Logger;
  /** Where each tick's time goes, lapped by phase (a worker's world space; absent: not measured). */
  phases?: TickPhases;
  /**
   * The map's epoch when this worker registered (RegisterReply.epoch): older maps are ignored,
   * since one kept from before a fencing would give this fresh space cells it lost.
   */
  epoch?: number;
  /**
   * Audit logs: how many ownership and interaction events to keep, each (0/absent: off, and
   * ownershipSince / interactionsSince throw AuditOffError).
   */
  auditEvents?: number;
  /** Radius of players' areas of interest (default: ghostMargin). */
  aoiRadius?: number;
  /** Players get a DIFF every this many ticks, on ticks divisible by it (default 1). */
  snapshotEvery?: number;
  /** Spatial index of owned entities and ghosts (default "grid"). */
  spatialIndex?: "grid" | "rbush";
  /** How long a disconnected player's entity waits for a resume (default 15 s). */
  resumeGraceMs?: number;
  /** How often registered players' changed persistent fields are saved (0/absent: at removal). */
  playerSaveMs?: number;
  /** Lifetimes of the space's waits and memories, in ms (defaults: SPACE_TIMINGS). */
  timings?: Partial<SpaceTimings>;
  /** Bucket edge of the grid index (default: gridBucketSize(cellSize)). */
  gridBucketSize?: number;
  /** Fat-box slack of the rbush index (default: rbushSlack(cellSize)). */
  rbushSlack?: number;
  /** Wall clock of the players' grace periods (default Date.now; tests inject one). */
  now?: () => number;
  /**
   * Replica mode: full mirror updates to the backup every this many ticks (creates, deletes
   * and held handoffs go every tick). 0 (default) replicates nothing.
   */
  replicationTicks?: number;
  /** This space is an instance (room): no world start, its own extent, one owner. */
  instance?: InstanceInfo;
  /** Entity and interaction id counters shared with the worker's other spaces (instances). */
  ids?: { entity: number; interaction: number };
}
