// The batches a space sends at one tick: one per peer, made on first use (the backup's first,
// so its mirror goes out ahead of the handoffs it covers); the ghost sync of owned entities in
// other workers' bands; the replica ops to the backup; and, at the end of the tick, dropping
// the empty batches and those to workers declared down.
import { type Batch, emptyBatch, isEmptyBatch } from "../sync/batch_codec.ts";
import { GhostSender } from "../sync/ghosts.ts";
import { ReplicaSender } from "../sync/replica.ts";
import type { DataVersions } from "./data_versions.ts";
import type { SpaceParts } from "./space_parts.ts";

/** One space's outgoing batches of the tick being stepped. */
export class SpaceOutbox {
  /** What each peer holds as ghosts of this space's entities (handoffs update it too). */
  readonly ghostSender = new GhostSender();
  #replica = new ReplicaSender();
  #out = new Map<string, Batch>();
  #space: SpaceParts;
  #versions: DataVersions;

  /** `versions`: the owned entities' data versions, shared with the players' views. */
  constructor(space: SpaceParts, versions: DataVersions) {
    this.#space = space;
    this.#versions = versions;
  }

  /** A new tick: no batch yet. */
  clear(): void {
    this.#out.clear();
  }

  /** This tick's batch to `peer` (created on first use). */
  batchFor(peer: string): Batch {
    let batch = this.#out.get(peer);
    if (!batch) {
      const space = this.#space;
      this.#out.set(peer, batch = emptyBatch(space.id, space.map.epoch, space.tick));
    }
    return batch;
  }

  /**
   * In replica mode, opens the backup's batch first: its mirror is written to the wire before
   * the handoffs it covers. Returns the backup ("" when none or not replicating).
   */
  openBackup(): string {
    const space = this.#space;
    const backup = space.options.replicationTicks ? space.map.backupOf(space.id) : "";
    if (backup) this.batchFor(backup);
    return backup;
  }

  /** After game logic and handoffs: ghost ops for the peers near owned entities, replica ops. */
  collect(tick: number, backup: string): void {
    const space = this.#space;
    const { grid, map, options } = space;
    this.ghostSender.collectGhosts(
      space.owned,
      grid,
      map.owners,
      space.id,
      options.ghostMargin,
      (peer) => this.batchFor(peer),
      // Workers refresh their ghosts on different ticks, so the full batches do not coincide.
      { tick, versions: this.#versions, phase: options.index * 7 },
    );
    const every = options.replicationTicks ?? 0;
    if (every > 0 || this.#replica.backup) {
      this.#replica.collect(space.owned, space.held.held, backup, {
        tick,
        every,
        versionOf: (e) => this.#versions.of(e, tick + 0.5),
        ops: () => this.batchFor(backup).replica,
      });
    }
  }

  /** The tick's non-empty batches, by peer; none to a worker declared down. */
  finish(): Map<string, Batch> {
    const down = this.#space.map.down;
    for (const [peer, batch] of this.#out) {
      // Nothing goes to a worker declared down: it is fenced, and its link is gone.
      if (isEmptyBatch(batch) || down.has(peer)) this.#out.delete(peer);
    }
    return this.#out;
  }
}
