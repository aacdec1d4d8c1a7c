// The game context of a space: what game logic sees of the world (its owned entities, the
// neighbourhood, interactions, spawn and remove).
import { viewGhosts } from "./ghost_view.ts";
import type { Interaction } from "../sync/batch_codec.ts";
import { makeEntity } from "../world/entity.ts";
import { type GameContext, WORLD_ID_LIMIT } from "./game.ts";
import type { SpaceParts } from "./space_parts.ts";

/** The game context of a space, drawing randomness from `random`. */
export function makeGameContext(space: SpaceParts, random: () => number): GameContext {
  const grid = space.grid;
  const dt = 1 / space.options.tickHz;
  return {
    get tick() {
      return space.tick;
    },
    dt,
    get worker() {
      return space.id;
    },
    instance: space.options.instance,
    size: grid.size,
    dims: grid.dims,
    random,
    owned: () => space.owned.values(),
    near: (x, y, z, radius, out) =>
      viewGhosts(space.index.query(x, y, z, radius, out), space.id, space.ghostViews),
    // Through the index's `at`, not arguments: the query is too big to inline here, and each
    // number passed to a call that is not inlined becomes a heap object (EntityIndex.queryAt).
    around: (entity, radius, out) => {
      const index = space.index, at = index.at;
      at[0] = entity.x;
      at[1] = entity.y;
      at[2] = entity.z;
      at[3] = radius;
      return viewGhosts(index.queryAt(out), space.id, space.ghostViews);
    },
    isGhost: (entity) => entity.owner !== space.id,
    interact(source, target, kind, data) {
      if (source.owner !== space.id || !space.owned.has(source.id)) {
        throw new TypeError(
          `Cannot interact: source entity ${source.id} is not owned by ${space.id}`,
        );
      }
      const interaction: Interaction = {
        id: `${space.id}:${++space.ids.interaction}`,
        source: source.id,
        target: target.id,
        kind,
        data: data ?? null,
        hops: 0,
      };
      const remote = target.owner !== space.id;
      space.log.note("issued", space.tick, interaction, remote);
      if (remote) space.batchFor(target.owner).interactions.push(interaction);
      else space.queueInteraction(interaction, false);
    },
    spawn(type, position, data = {}, id) {
      if (!(type in space.options.game.entityTypes)) {
        throw new TypeError(`Cannot spawn: unknown entity type ${JSON.stringify(type)}`);
      }
      if (id !== undefined && (!Number.isSafeInteger(id) || id <= 0 || id >= WORLD_ID_LIMIT)) {
        throw new RangeError(`Cannot spawn: id ${id} is outside 1..${WORLD_ID_LIMIT - 1}`);
      }
      const entity = makeEntity(
        id ?? space.ids.entity++,
        type,
        {
          x: grid.clampAxis(0, position.x),
          y: grid.clampAxis(1, position.y),
          z: grid.dims === 3 ? grid.clampAxis(2, position.z ?? 0) : 0,
        },
        data,
        space.id,
      );
      entity.cell = grid.cellOf(entity.x, entity.y, entity.z);
      space.owned.set(entity.id, entity);
      space.index.upsert(entity);
      space.log.record("acquire", entity.id, "", Math.max(space.tick, 0));
      return entity;
    },
    remove(entity) {
      if (!space.owned.delete(entity.id)) return;
      space.index.remove(entity.id);
      space.players.forget(entity.id);
      space.log.record("release", entity.id, "", space.tick);
    },
  };
}
