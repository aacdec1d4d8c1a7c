// The /play minimap: the whole world from the gateway's GET /world, each cell filled in the
// colour of the worker that owns it (the diagnostics page's palette) with its border, and the
// player's position; it also says which worker owns the cell the player is in, which is the
// worker simulating the player (a handoff follows within a tick of crossing the border).
import { workerColour } from "./palette.js";

const SIZE = 200;
const POLL_MS = 1000;

/** Natural order of worker ids, so "w2" comes before "w10". */
function byId(a, b) {
  return a.localeCompare(b, undefined, { numeric: true });
}

/** Polls /world while started and draws it. */
export class Minimap {
  constructor(canvas, onChange) {
    this.canvas = canvas;
    this.ctx = canvas.getContext("2d");
    this.onChange = onChange;
    this.info = null;
    this.error = null;
    this.timer = undefined;
  }

  start() {
    if (this.timer !== undefined) return;
    const poll = async () => {
      try {
        const response = await fetch("/world", { signal: AbortSignal.timeout(3000) });
        if (!response.ok) throw new Error(`GET /world: HTTP ${response.status}`);
        this.info = await response.json();
        this.error = null;
      } catch (error) {
        this.error = error instanceof Error ? error.message : String(error);
      }
      this.onChange();
    };
    void poll();
    this.timer = setInterval(poll, POLL_MS);
  }

  stop() {
    clearInterval(this.timer);
    this.timer = undefined;
  }

  /** The cell holding a point (clamped to the world), or -1 before the first answer. */
  cellAt(x, y, z = 0) {
    if (!this.info) return -1;
    const { world, cells } = this.info;
    const axis = (v, i) => Math.max(0, Math.min(cells[i] - 1, Math.floor(v / world.cellSize)));
    const cz = world.dims === 3 ? axis(z, 2) : 0;
    return axis(x, 0) + axis(y, 1) * cells[0] + cz * cells[0] * cells[1];
  }

  /** The worker owning the cell at a point ("" when unknown). */
  ownerAt(position) {
    const cell = position ? this.cellAt(position.x, position.y, position.z) : -1;
    return cell >= 0 ? this.info.owners[cell] ?? "" : "";
  }

  /** Colour of each worker, by its place among the map's workers. */
  colours() {
    const ids = [...new Set(this.info?.owners ?? [])].filter((id) => id).sort(byId);
    return new Map(ids.map((id, i) => [id, workerColour(i)]));
  }

  /** Draws the map (top-down: the z layer of the player in 3D) and the player at `own`. */
  draw(own) {
    const { ctx, canvas } = this;
    const info = this.info;
    if (!info) {
      ctx.fillStyle = "#1b1f24";
      ctx.fillRect(0, 0, canvas.width, canvas.height);
      return;
    }
    const { world, cells, owners } = info;
    const scale = SIZE / Math.max(world.size[0], world.size[1]);
    const w = Math.ceil(world.size[0] * scale), h = Math.ceil(world.size[1] * scale);
    if (canvas.width !== w || canvas.height !== h) [canvas.width, canvas.height] = [w, h];
    const colours = this.colours();
    const layer = world.dims === 3 && own
      ? Math.max(0, Math.min(cells[2] - 1, Math.floor(own.z / world.cellSize)))
      : 0;
    const step = world.cellSize * scale;
    for (let cy = 0; cy < cells[1]; cy++) {
      for (let cx = 0; cx < cells[0]; cx++) {
        const owner = owners[cx + cy * cells[0] + layer * cells[0] * cells[1]];
        ctx.fillStyle = colours.get(owner) ?? "#3b4450";
        ctx.fillRect(cx * step, cy * step, step, step);
        ctx.strokeStyle = "rgba(0, 0, 0, 0.45)";
        ctx.strokeRect(cx * step + 0.5, cy * step + 0.5, step - 1, step - 1);
      }
    }
    if (own) {
      ctx.fillStyle = "#ffcc33";
      ctx.strokeStyle = "#000";
      ctx.beginPath();
      ctx.arc(own.x * scale, own.y * scale, 4, 0, Math.PI * 2);
      ctx.fill();
      ctx.stroke();
    }
  }
}
