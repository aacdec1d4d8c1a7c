// What the player sees: the entities of the area of interest, kept by applying each DIFF in the
// order docs/protocol.md prescribes (full, leave, enter, update). No DOM, so Deno can test it.

/**
 * The visible entities of one session. Each entity is `{ id, type, x, y, z, data }`; `data` is
 * the game's map (players carry `name`) or undefined.
 */
export class World {
  constructor() {
    /** @type {Map<number, {id: number, type: string, x: number, y: number, z: number, data: object | undefined}>} */
    this.entities = new Map();
    this.tick = -1;
    this.ack = 0;
    /** Records that contradicted what was known (should stay 0). */
    this.contradictions = 0;
  }

  /** Forgets everything (a new session). */
  clear() {
    this.entities.clear();
    this.tick = -1;
    this.ack = 0;
  }

  /** Applies one DIFF frame. */
  apply(diff) {
    const entities = this.entities;
    if (diff.full === true) entities.clear();
    for (const id of diff.leave) {
      if (!entities.delete(id)) this.contradictions++;
    }
    for (const [id, type, x, y, z, data] of diff.enter) {
      if (entities.has(id)) this.contradictions++;
      entities.set(id, { id, type, x, y, z, data });
    }
    for (const record of diff.update) {
      const entity = entities.get(record[0]);
      if (!entity) {
        this.contradictions++;
        continue;
      }
      entity.x = record[1];
      entity.y = record[2];
      entity.z = record[3];
      if (record.length > 4) entity.data = record[4];
    }
    this.tick = diff.tick;
    this.ack = diff.ack;
  }
}

/** The label of a player entity: its `name` when the game gives one, else its id. */
export function labelOf(entity) {
  const name = entity.data && typeof entity.data.name === "string" ? entity.data.name : "";
  return name || `#${entity.id}`;
}
