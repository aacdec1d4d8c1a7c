// The simulation a registration gives a worker: its share of the world (a Space) and the host
// of its instances (rooms), built from the coordinator's RegisterReply, the config and the
// loaded game (guarded, so a throwing hook is logged and counted as GAME_ERROR). Built afresh
// at every registration, so a worker that rejoins keeps nothing of its fenced past.
import type { Config } from "../config/config.ts";
import type { LoadedGame } from "../games/game_module.ts";
import { gameErrorReporter, guardGame } from "./game_guard.ts";
import { spaceWorldOf } from "../world/world_spec.ts";
import type { Logger } from "../observe/log.ts";
import type { NodeMetrics } from "../observe/metrics.ts";
import type { RegisterReply } from "../net/rpc.ts";
import { Space } from "./space.ts";
import { InstanceSpaces } from "./instance_spaces.ts";
import { WORLD_ID_LIMIT } from "./game.ts";
import { decode } from "../protocol/msgpack.ts";

/** What {@linkcode workerSpaces} builds from. */
export interface WorkerSpacesOptions {
  config: Config;
  log: Logger;
  metrics: NodeMetrics;
  game: LoadedGame;
}

/** A registered worker's world space and instance host (they share the id counters). */
export interface WorkerSpaces {
  space: Space;
  instances: InstanceSpaces;
}

/** The spaces of the registration `reply`. */
export function workerSpaces(reply: RegisterReply, options: WorkerSpacesOptions): WorkerSpaces {
  const { config, log, metrics } = options;
  const { grid, ...timings } = spaceWorldOf(reply.world);
  const game = guardGame(
    options.game.definition,
    gameErrorReporter(log, () => metrics.countError("GAME_ERROR")),
  );
  const ids = { entity: (reply.workerIndex + 1) * WORLD_ID_LIMIT, interaction: 0 };
  const shared = {
    resumeGraceMs: config.gateway.resumeGraceMs,
    playerSaveMs: config.gateway.playerSaveMs,
    timings: config.space,
    spatialIndex: config.spatialIndex,
    seed: options.game.seed,
    auditEvents: config.auditEvents,
  };
  const instances = new InstanceSpaces({
    worker: reply.workerId,
    world: reply.world,
    game,
    gameOptions: decode(reply.game),
    ids,
    space: { ...shared, replicationTicks: reply.replicationTicks },
    log,
    onGameError: () => metrics.countError("GAME_ERROR"),
  });
  const space = new Space({
    ids,
    id: reply.workerId,
    index: reply.workerIndex,
    grid,
    ...timings,
    ...shared,
    game,
    gameOptions: decode(reply.game),
    log,
    phases: metrics.phases,
    replicationTicks: reply.replicationTicks,
    epoch: reply.epoch,
  });
  return { space, instances };
}
