// Which game version each peer worker runs (from the map), and the conversion of an entity's
// state that arrives from a peer of another version through the game's `migrateState` hook:
// during a deploy that changes the game, cells, handoffs and ghosts cross between the versions.
import type { GameDefinition } from "./game.ts";
import type { EntityState } from "../world/entity.ts";

/** The game version a definition declares ("0" when it names none, as registration does). */
export function gameVersionOf(game: Pick<GameDefinition<unknown>, "version">): string {
  return game.version ?? "0";
}

/**
 * The peers' game versions and the conversion of what they send.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { defineGame } from "./game.ts";
 * const game = defineGame({
 *   name: "g",
 *   version: "2",
 *   entityTypes: { player: {} },
 *   migrateState(entity, from) {
 *     if (from === "1") entity.data = { hp: (entity.data.health as number) * 10 };
 *   },
 * });
 * const versions = new PeerGameVersions(game, undefined);
 * versions.update([{ id: "w1", gameVersion: "1" }, { id: "w2", gameVersion: "2" }]);
 * const state = { id: 1, type: "player", x: 0, y: 0, z: 0, vx: 0, vy: 0, vz: 0, data: { health: 3 } };
 * assert.equal(versions.convert(state, "w2"), false);
 * assert.equal(versions.convert(state, "w1"), true);
 * assert.deepEqual(state.data, { hp: 30 });
 * ```
 */
export class PeerGameVersions {
  readonly own: string;
  #game: GameDefinition<unknown>;
  #options: unknown;
  #peers = new Map<string, string>();

  constructor(game: GameDefinition<unknown>, options: unknown) {
    this.#game = game;
    this.#options = options;
    this.own = gameVersionOf(game);
  }

  /** The map's worker list: each worker's game version ("" or absent: this one's). */
  update(workers: ReadonlyArray<{ id: string; gameVersion?: string }>): void {
    this.#peers.clear();
    for (const w of workers) {
      if (w.gameVersion && w.gameVersion !== this.own) this.#peers.set(w.id, w.gameVersion);
    }
  }

  /** The game version `peer` runs (this worker's when the map names no other). */
  of(peer: string): string {
    return this.#peers.get(peer) ?? this.own;
  }

  /**
   * Converts each of `states` (ghost writes sent by `from`) in place when `from` runs another
   * game version; one lookup per batch otherwise, so a cluster of one version pays nothing more.
   */
  convertAll(states: readonly EntityState[], from: string): void {
    if (!this.#peers.has(from) || !this.#game.migrateState) return;
    for (const state of states) this.convert(state, from);
  }

  /**
   * Converts `state` (sent by `from`) to this worker's game version in place when `from` runs
   * another one; true when the hook was called. A game without the hook keeps the data as is.
   */
  convert(state: EntityState, from: string): boolean {
    const version = this.#peers.get(from);
    if (version === undefined || !this.#game.migrateState) return false;
    this.#game.migrateState(state, version, this.#options);
    return true;
  }
}
