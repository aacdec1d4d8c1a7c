// Player entities for tests that drive player views and sessions without a gateway.
import { type Entity, makeEntity } from "../src/world/entity.ts";

/** A player entity at (x, y) with a connected session `s<id>` on gateway g1. */
export function connectedPlayer(id: number, x: number, y: number): Entity {
  const player = makeEntity(id, "player", { x, y });
  player.session = {
    id: `s${id}`,
    gateway: "g1",
    name: "p",
    lastSeq: 0,
    resumeJti: "j",
    detachedAt: 0,
    account: "",
  };
  return player;
}
