// The partition map on a canvas: each cell in its owner's colour (a full-colour rim, the inside
// shaded by load, a corner mark in the colour of the owner's backup), region borders, entity
// dots, the selected cell. 3D worlds show one z slice
// or a top-down projection where each column is split into one stripe per z layer.
import { workerColour } from "./play/palette.js";

const UNOWNED = "#e4e4e4";
const RIM = 2;

function mixWithWhite(hex, amount) {
  const n = parseInt(hex.slice(1), 16);
  const mix = (c) => Math.round(c + (255 - c) * amount);
  const r = mix(n >> 16), g = mix((n >> 8) & 255), b = mix(n & 255);
  return `rgb(${r},${g},${b})`;
}

/** Draws the map and answers which cell is under a point. */
export class MapView {
  constructor(canvas, maxSize = 520) {
    this.canvas = canvas;
    this.ctx = canvas.getContext("2d");
    this.maxSize = maxSize;
    this.state = null;
    this.positions = [];
    this.slice = 0; // a z layer, or "all" for the top-down projection
    this.selected = null;
    this.colours = new Map();
    this.frames = 0;
    /** What the inside of a cell shows: "owner" (shaded by entities), "load", "backup", "version". */
    this.colourBy = "owner";
  }

  /** Grid shape of the current world: cells per axis and the cell edge. */
  get grid() {
    const { size, cellSize, dims } = this.state.world;
    const n = (i) => i < dims ? Math.max(1, Math.ceil(size[i] / cellSize)) : 1;
    return { nx: n(0), ny: n(1), nz: n(2), size, cellSize };
  }

  setState(state) {
    this.state = state;
    this.colours = new Map(state.workers.map((w, i) => [w.id, workerColour(i)]));
    const versions = [...new Set(state.workers.map((w) => w.version))].sort();
    this.versionColours = new Map(
      versions.map((v, i) => [v, workerColour(versions.length - 1 - i)]),
    );
    this.versionOf = new Map(state.workers.map((w) => [w.id, w.version]));
    const { nz } = this.grid;
    if (this.slice !== "all" && this.slice >= nz) this.slice = 0;
    this.#resize();
  }

  setPositions(workers) {
    this.positions = workers;
  }

  colourOf(worker) {
    return this.colours.get(worker) ?? UNOWNED;
  }

  /** The inside of a cell whose owner runs `version`, in the "version" colour mode. */
  versionFill(version) {
    return mixWithWhite(this.versionColours.get(version) ?? UNOWNED, 0.35);
  }

  /** Each version of the workers (sorted as for their colours) with the cells its workers own. */
  versionCells() {
    const cells = new Map([...this.versionColours.keys()].map((v) => [v, 0]));
    for (const owner of this.state?.map.owners ?? []) {
      const version = this.versionOf.get(owner);
      if (version !== undefined) cells.set(version, cells.get(version) + 1);
    }
    return [...cells];
  }

  #resize() {
    const { size } = this.grid;
    const aspect = size[1] / size[0];
    const cssW = aspect <= 1 ? this.maxSize : Math.round(this.maxSize / aspect);
    const cssH = aspect <= 1 ? Math.round(this.maxSize * aspect) : this.maxSize;
    const dpr = globalThis.devicePixelRatio || 1;
    if (this.cssW === cssW && this.cssH === cssH && this.dpr === dpr) return;
    this.cssW = cssW;
    this.cssH = cssH;
    this.dpr = dpr;
    this.canvas.style.width = `${cssW}px`;
    this.canvas.style.height = `${cssH}px`;
    this.canvas.width = Math.round(cssW * dpr);
    this.canvas.height = Math.round(cssH * dpr);
  }

  /** The CSS-pixel box of a cell in the current view, or null when it is not shown. */
  cellBox(cell) {
    const { nx, ny, nz } = this.grid;
    const cx = cell % nx, cy = Math.floor(cell / nx) % ny, cz = Math.floor(cell / (nx * ny));
    const w = this.cssW / nx, h = this.cssH / ny;
    if (this.slice === "all") {
      const sh = h / nz;
      return { x: cx * w, y: cy * h + cz * sh, w, h: sh };
    }
    return cz === this.slice ? { x: cx * w, y: cy * h, w, h } : null;
  }

  /** The cell under CSS-pixel point (x, y) of the canvas, or null. */
  cellAt(x, y) {
    if (!this.state || x < 0 || y < 0 || x >= this.cssW || y >= this.cssH) return null;
    const { nx, ny, nz } = this.grid;
    const w = this.cssW / nx, h = this.cssH / ny;
    const cx = Math.floor(x / w), cy = Math.floor(y / h);
    const cz = this.slice === "all"
      ? Math.min(nz - 1, Math.floor((y - cy * h) / (h / nz)))
      : this.slice;
    return cx + cy * nx + cz * nx * ny;
  }

  /** Cells drawn in the current view. */
  *visibleCells() {
    const { nx, ny, nz } = this.grid;
    const layers = this.slice === "all" ? [...Array(nz).keys()] : [this.slice];
    for (const cz of layers) {
      for (let cy = 0; cy < ny; cy++) {
        for (let cx = 0; cx < nx; cx++) yield cx + cy * nx + cz * nx * ny;
      }
    }
  }

  draw() {
    if (!this.state) return;
    const { ctx, dpr } = this;
    const owners = this.state.map.owners;
    const counts = this.state.entitiesPerCell;
    const downWorkers = new Set(
      this.state.workers.filter((w) => w.state === "down" || w.state === "fenced").map((w) => w.id),
    );
    const backups = this.state.backups ?? this.state.map.backups ?? {};
    ctx.setTransform(dpr, 0, 0, dpr, 0, 0);
    ctx.clearRect(0, 0, this.cssW, this.cssH);
    let max = 1, maxLoad = 0;
    const loads = this.state.loadPerCell ?? [];
    for (const cell of this.visibleCells()) {
      max = Math.max(max, counts[cell] ?? 0);
      maxLoad = Math.max(maxLoad, loads[cell] ?? 0);
    }
    const small = this.cssW / this.grid.nx < 30;
    ctx.font = "10px system-ui, sans-serif";
    ctx.textAlign = "right";
    ctx.textBaseline = "bottom";
    for (const cell of this.visibleCells()) {
      const box = this.cellBox(cell);
      const owner = owners[cell];
      const colour = this.colourOf(owner);
      const heat = Math.sqrt((counts[cell] ?? 0) / max);
      ctx.fillStyle = owner ? colour : UNOWNED;
      ctx.fillRect(box.x, box.y, box.w, box.h);
      if (owner) {
        ctx.fillStyle = this.#inside(cell, owner, heat, maxLoad);
        ctx.fillRect(box.x + RIM, box.y + RIM, box.w - 2 * RIM, box.h - 2 * RIM);
      }
      if (downWorkers.has(owner)) {
        ctx.strokeStyle = "rgba(0,0,0,0.45)";
        ctx.lineWidth = 1;
        ctx.beginPath();
        ctx.moveTo(box.x + RIM, box.y + RIM);
        ctx.lineTo(box.x + box.w - RIM, box.y + box.h - RIM);
        ctx.moveTo(box.x + box.w - RIM, box.y + RIM);
        ctx.lineTo(box.x + RIM, box.y + box.h - RIM);
        ctx.stroke();
      }
      // The owner's backup (the worker mirroring it): a small square in its colour, top left.
      const backup = backups[owner];
      if (backup && box.w >= 12 && box.h >= 12) {
        ctx.fillStyle = this.colourOf(backup);
        ctx.fillRect(box.x + RIM + 2, box.y + RIM + 2, 6, 6);
        ctx.strokeStyle = "rgba(0,0,0,0.6)";
        ctx.lineWidth = 1;
        ctx.strokeRect(box.x + RIM + 2.5, box.y + RIM + 2.5, 5, 5);
      }
      if (!small && box.h >= 18) {
        ctx.fillStyle = "rgba(0,0,0,0.55)";
        ctx.fillText(String(counts[cell] ?? 0), box.x + box.w - 4, box.y + box.h - 3);
      }
    }
    this.#drawBorders();
    this.#drawMigrations();
    this.#drawDots();
    if (this.selected !== null) {
      const box = this.cellBox(this.selected);
      if (box) {
        ctx.lineWidth = 3;
        ctx.strokeStyle = "#111";
        ctx.strokeRect(box.x + 1.5, box.y + 1.5, box.w - 3, box.h - 3);
      }
    }
    this.frames++;
  }

  /** The fill inside a cell's rim under the current colour mode. */
  #inside(cell, owner, heat, maxLoad) {
    switch (this.colourBy) {
      case "load": {
        const share = maxLoad > 0 ? (this.state.loadPerCell[cell] ?? 0) / maxLoad : 0;
        return mixWithWhite("#d62728", 1 - 0.9 * Math.sqrt(share));
      }
      case "backup": {
        const backup = (this.state.backups ?? {})[owner];
        return backup ? mixWithWhite(this.colourOf(backup), 0.35) : "#f4f4f4";
      }
      case "version":
        return this.versionFill(this.versionOf.get(owner));
      default:
        return mixWithWhite(this.colourOf(owner), 0.85 - 0.7 * heat);
    }
  }

  /** Dark lines between cells of different owners, so regions read at a glance. */
  #drawBorders() {
    const { ctx } = this;
    const { nx, ny } = this.grid;
    const owners = this.state.map.owners;
    ctx.strokeStyle = "#222";
    ctx.lineWidth = 1.5;
    ctx.beginPath();
    for (const cell of this.visibleCells()) {
      const box = this.cellBox(cell);
      const cx = cell % nx, cy = Math.floor(cell / nx) % ny;
      if (cx + 1 < nx && owners[cell + 1] !== owners[cell]) {
        ctx.moveTo(box.x + box.w, box.y);
        ctx.lineTo(box.x + box.w, box.y + box.h);
      }
      if (cy + 1 < ny && this.slice !== "all" && owners[cell + nx] !== owners[cell]) {
        ctx.moveTo(box.x, box.y + box.h);
        ctx.lineTo(box.x + box.w, box.y + box.h);
      }
    }
    ctx.stroke();
  }

  /** Cells being migrated: a dashed outline in the new owner's colour. */
  #drawMigrations() {
    const { ctx } = this;
    ctx.save();
    ctx.setLineDash([6, 4]);
    ctx.lineWidth = 3;
    for (const m of this.state.migrations ?? []) {
      const box = this.cellBox(m.cell);
      if (!box) continue;
      ctx.strokeStyle = this.colourOf(m.to);
      ctx.strokeRect(box.x + 5, box.y + 5, box.w - 10, box.h - 10);
    }
    ctx.restore();
  }

  /** NPCs as small black dots; players (owned entities with a session) as larger red rings. */
  #drawDots() {
    const { ctx } = this;
    const { nx, ny, size } = this.grid;
    const sx = this.cssW / size[0], sy = this.cssH / size[1];
    const dots = [];
    const players = [];
    ctx.fillStyle = "#111";
    ctx.beginPath();
    for (const worker of this.positions) {
      const isPlayer = new Set(worker.players ?? []);
      for (const [id, x, y, , cell] of worker.entities) {
        const cz = Math.floor(cell / (nx * ny));
        if (this.slice !== "all" && cz !== this.slice) continue;
        const px = x * sx, py = y * sy;
        const player = isPlayer.has(id);
        if (player) players.push([px, py]);
        else {
          ctx.moveTo(px + 1.8, py);
          ctx.arc(px, py, 1.8, 0, 2 * Math.PI);
        }
        if (dots.length < 2000) {
          dots.push([id, Math.round(px * 10) / 10, Math.round(py * 10) / 10, player ? 1 : 0]);
        }
      }
    }
    ctx.fill();
    ctx.fillStyle = "#fff";
    ctx.strokeStyle = "#d62728";
    ctx.lineWidth = 2;
    for (const [px, py] of players) {
      ctx.beginPath();
      ctx.arc(px, py, 4, 0, 2 * Math.PI);
      ctx.fill();
      ctx.stroke();
    }
    this.dots = dots;
  }

  /**
   * The entity dot within `within` px of a point, as `[id, x, y, player]`, or undefined. Players
   * are drawn over NPCs, so a player within reach wins over a nearer NPC under it.
   */
  dotAt(px, py, within = 6) {
    let best, bestD = within;
    for (const dot of this.dots ?? []) {
      const d = Math.hypot(dot[1] - px, dot[2] - py);
      if (d > within) continue;
      const better = best === undefined ||
        (dot[3] === best[3] ? d < bestD : dot[3] === 1);
      if (better) [best, bestD] = [dot, d];
    }
    return best;
  }
}
