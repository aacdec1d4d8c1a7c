// Interactions between entities: queued for the tick, applied once to an owned target (game
// logic, or a forwarded player command), else passed on toward the target's owner or dropped.
import type { Interaction } from "../sync/batch_codec.ts";
import type { GameContext } from "./game.ts";
import type { PlayerHost } from "./player_sessions.ts";
import { MAX_HOPS, type SpaceParts } from "./space_parts.ts";

/** One space's pending interactions and its memory of those applied. */
export class Interactions {
  #space: SpaceParts;
  #host: PlayerHost;
  #ctx: GameContext;
  #pending: Interaction[] = [];
  /** Per pending interaction: true when it came in a peer's batch. */
  #fromPeer: boolean[] = [];
  #applied = new Map<string, number>();
  #counts = new Map<number, number>();

  constructor(space: SpaceParts, host: PlayerHost, ctx: GameContext) {
    this.#space = space;
    this.#host = host;
    this.#ctx = ctx;
  }

  /**
   * Queues an interaction for the next apply. Only those from a peer's batch are remembered by
   * id (a batch may be resent); one issued here is queued exactly once.
   */
  queue(interaction: Interaction, fromPeer: boolean): void {
    this.#pending.push(interaction);
    this.#fromPeer.push(fromPeer);
  }

  /** Interactions applied per cell since the last call (for load reports). */
  takeCounts(): Map<number, number> {
    const counts = this.#counts;
    this.#counts = new Map();
    return counts;
  }

  /** Forgets applied interactions older than `before`. */
  expire(before: number): void {
    for (const [id, at] of this.#applied) {
      if (at < before) this.#applied.delete(id);
    }
  }

  /** Applies, passes on or drops every queued interaction. */
  apply(tick: number): void {
    const space = this.#space;
    if (this.#pending.length === 0) return;
    const pending = this.#pending, fromPeer = this.#fromPeer;
    this.#pending = [];
    this.#fromPeer = [];
    const onInteract = space.options.game.onInteract;
    for (let i = 0; i < pending.length; i++) {
      const interaction = pending[i], remembered = fromPeer[i];
      if (remembered && this.#applied.has(interaction.id)) {
        space.log.note("duplicate", tick, interaction, false);
        continue;
      }
      const target = space.owned.get(interaction.target);
      if (target) {
        if (remembered) this.#applied.set(interaction.id, tick);
        if (interaction.kind.startsWith("zs.")) {
          space.players.applyForwarded(this.#host, target, interaction.kind, interaction.data);
        } else {
          const source = space.owned.get(interaction.source) ??
            space.ghosts.ghosts.get(interaction.source);
          const seen = source && source.owner !== space.id ? space.ghostViews.of(source) : source;
          onInteract?.(this.#ctx, target, interaction, seen);
        }
        space.counters.interactionsApplied++;
        this.#counts.set(
          target.cell,
          (this.#counts.get(target.cell) ?? 0) + 1,
        );
        space.log.note("applied", tick, interaction, false);
        continue;
      }
      const next = space.forward.get(interaction.target)?.owner ??
        space.ghosts.ghosts.get(interaction.target)?.owner;
      if (next && next !== space.id && interaction.hops < MAX_HOPS) {
        space.batchFor(next).interactions.push({ ...interaction, hops: interaction.hops + 1 });
        space.counters.interactionsForwarded++;
        space.log.note("forwarded", tick, interaction, false);
      } else {
        space.counters.interactionsDropped++;
        space.log.note("dropped", tick, interaction, false);
        space.options.log?.warn("interaction.dropped", {
          id: interaction.id,
          target: interaction.target,
        });
      }
    }
  }
}
