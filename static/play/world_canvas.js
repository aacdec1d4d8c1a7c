// Draws the area of interest on a canvas, centred on the player: world edges, cell borders,
// the AOI circle, NPCs, other players with their names, and the own entity highlighted.

const COLOURS = {
  outside: "#1b1f24",
  ground: "#2b323b",
  cell: "#3b4450",
  aoi: "rgba(255, 255, 255, 0.25)",
  npc: "#8fbf6a",
  player: "#5aa9ff",
  own: "#ffcc33",
  label: "#e8e8e8",
};

/** The label of a player entity: its `name` when the game gives one, else its id. */
export function labelOf(entity) {
  const name = entity.data && typeof entity.data.name === "string" ? entity.data.name : "";
  return name || `#${entity.id}`;
}

/** Draws the SDK's ClientWorld onto a canvas; call `draw` after every change. */
export class WorldCanvas {
  constructor(canvas) {
    this.canvas = canvas;
    this.ctx = canvas.getContext("2d");
  }

  /** `welcome` gives the world and AOI radius; `own` the entity to centre on. */
  draw(world, welcome, ownId) {
    const { ctx, canvas } = this;
    const { width, height } = canvas;
    ctx.fillStyle = COLOURS.outside;
    ctx.fillRect(0, 0, width, height);
    if (!welcome) return;
    const own = world.entities.get(ownId);
    const radius = welcome.aoiRadius;
    const centre = own ?? { x: welcome.world.size[0] / 2, y: welcome.world.size[1] / 2 };
    // The view shows a little more than the area of interest.
    const scale = Math.min(width, height) / (radius * 2.4);
    const sx = (x) => width / 2 + (x - centre.x) * scale;
    const sy = (y) => height / 2 + (y - centre.y) * scale;
    this.project = { sx, sy };
    const [sizeX, sizeY] = welcome.world.size;

    ctx.fillStyle = COLOURS.ground;
    ctx.fillRect(sx(0), sy(0), sizeX * scale, sizeY * scale);
    this.#cells(welcome.world.cellSize, sizeX, sizeY, sx, sy, scale);

    ctx.strokeStyle = COLOURS.aoi;
    ctx.setLineDash([4, 4]);
    ctx.beginPath();
    ctx.arc(sx(centre.x), sy(centre.y), radius * scale, 0, Math.PI * 2);
    ctx.stroke();
    ctx.setLineDash([]);

    ctx.font = "12px system-ui, sans-serif";
    ctx.textAlign = "center";
    for (const entity of world.entities.values()) {
      if (entity.id === ownId || entity.type === "player") continue;
      this.#dot(sx(entity.x), sy(entity.y), 3, COLOURS.npc);
    }
    for (const entity of world.entities.values()) {
      if (entity.id === ownId || entity.type !== "player") continue;
      this.#dot(sx(entity.x), sy(entity.y), 5, COLOURS.player);
      this.#label(labelOf(entity), sx(entity.x), sy(entity.y) - 9);
    }
    if (own) {
      const x = sx(own.x), y = sy(own.y);
      this.#dot(x, y, 7, COLOURS.own);
      ctx.strokeStyle = "#fff";
      ctx.lineWidth = 2;
      ctx.beginPath();
      ctx.arc(x, y, 10, 0, Math.PI * 2);
      ctx.stroke();
      ctx.lineWidth = 1;
      this.#label(`${labelOf(own)} (you)`, x, y - 14);
    }
  }

  /** The visible entity drawn nearest to canvas point (px, py) within `within` pixels. */
  entityAt(world, px, py, within = 8) {
    if (!this.project) return undefined;
    const { sx, sy } = this.project;
    let best, bestD = within;
    for (const entity of world.entities.values()) {
      const d = Math.hypot(sx(entity.x) - px, sy(entity.y) - py);
      if (d <= bestD) [best, bestD] = [entity, d];
    }
    return best;
  }

  #cells(cellSize, sizeX, sizeY, sx, sy, scale) {
    const { ctx, canvas } = this;
    ctx.strokeStyle = COLOURS.cell;
    ctx.beginPath();
    // Only the lines that can be on screen.
    const fromX = Math.max(0, Math.floor((0 - sx(0)) / scale / cellSize) * cellSize);
    const fromY = Math.max(0, Math.floor((0 - sy(0)) / scale / cellSize) * cellSize);
    for (let x = fromX; x <= sizeX && sx(x) <= canvas.width; x += cellSize) {
      ctx.moveTo(sx(x), Math.max(0, sy(0)));
      ctx.lineTo(sx(x), Math.min(canvas.height, sy(sizeY)));
    }
    for (let y = fromY; y <= sizeY && sy(y) <= canvas.height; y += cellSize) {
      ctx.moveTo(Math.max(0, sx(0)), sy(y));
      ctx.lineTo(Math.min(canvas.width, sx(sizeX)), sy(y));
    }
    ctx.stroke();
  }

  #dot(x, y, r, colour) {
    const ctx = this.ctx;
    ctx.fillStyle = colour;
    ctx.beginPath();
    ctx.arc(x, y, r, 0, Math.PI * 2);
    ctx.fill();
  }

  #label(text, x, y) {
    const ctx = this.ctx;
    ctx.fillStyle = COLOURS.label;
    ctx.fillText(text, x, y);
  }
}
