// What a space's parts (cell transfers, takeovers, the game context) see of the space: its
// state and the few steps they share (batches out, adoption of a handoff, a peer gone).
import type { GhostViews } from "./ghost_view.ts";
import type { Batch, Handoff, Interaction } from "../sync/batch_codec.ts";
import type { Grid } from "../world/grid.ts";
import type { PartitionMap } from "../world/partition.ts";
import type { EntityIndex } from "../world/spatial_index.ts";
import type { GhostTable } from "../sync/ghosts.ts";
import type { ReplicaTable } from "../sync/replica.ts";
import type { HeldHandoffs, ProcessedHandoffs } from "../sync/held_handoffs.ts";
import type { PlayerSessions } from "./player_sessions.ts";
import type { SpaceTicks } from "./space_tuning.ts";
import type { SpaceCounters, SpaceLog } from "./space_records.ts";
import type { OwnedEntities } from "./owned_entities.ts";
import type { SpaceOptions } from "./space_options.ts";
import type { PeerGameVersions } from "./game_versions.ts";

/** A live view of one space, shared by the modules that make up its tick. */
export interface SpaceParts {
  readonly id: string;
  readonly grid: Grid;
  /** The current partition map (replaced by each newer one). */
  readonly map: PartitionMap;
  /** Last tick stepped (-1 before the first). */
  readonly tick: number;
  readonly options: SpaceOptions;
  /** The timings as tick counts at this space's tick rate. */
  readonly ticks: SpaceTicks;
  readonly counters: SpaceCounters;
  readonly owned: OwnedEntities;
  readonly index: EntityIndex;
  readonly ghosts: GhostTable;
  readonly players: PlayerSessions;
  readonly mirrors: ReplicaTable;
  readonly held: HeldHandoffs;
  readonly processed: ProcessedHandoffs;
  /** Read-only views of ghosts handed to game code. */
  readonly ghostViews: GhostViews;
  /** Where entities that left recently went, so interactions aimed at them follow. */
  readonly forward: Map<number, { owner: string; until: number }>;
  readonly log: SpaceLog;
  /** The peers' game versions: what arrives from another one is converted (deploys). */
  readonly games: PeerGameVersions;
  /** Counters of minted entity and interaction ids. */
  readonly ids: { entity: number; interaction: number };
  /** This tick's outgoing batch to a peer (created on first use). */
  batchFor(peer: string): Batch;
  /**
   * Queues an interaction for this tick's interaction step; `fromPeer` when it came in a peer's
   * batch (which may be resent, so it is applied once by id).
   */
  queueInteraction(interaction: Interaction, fromPeer: boolean): void;
  /** Adopts (or passes on) a handoff; false when it was known already. */
  adopt(handoff: Handoff, from: string, tick: number): boolean;
  /** A peer went away: drop its ghosts. */
  peerGone(peer: string): number;
}

/** Times a handoff or interaction is passed on to a newer owner before it is dropped. */
export const MAX_HOPS = 8;
