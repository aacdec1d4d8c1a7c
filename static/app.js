// Minimal live view of /api/state: the partition map coloured by owner, entity counts per cell.
const canvas = document.getElementById("map");
const ctx = canvas.getContext("2d");
const colours = [
  "#4e79a7",
  "#f28e2b",
  "#59a14f",
  "#e15759",
  "#76b7b2",
  "#edc948",
  "#b07aa1",
  "#ff9da7",
];

async function refresh() {
  const state = await (await fetch("/api/state")).json();
  const ids = state.workers.map((w) => w.id);
  const colour = (id) => id ? colours[ids.indexOf(id) % colours.length] : "#ddd";
  const [w, h] = state.world.size;
  const nx = Math.ceil(w / state.world.cellSize), ny = Math.ceil(h / state.world.cellSize);
  const cw = canvas.width / nx, ch = canvas.height / ny;
  const max = Math.max(1, ...state.entitiesPerCell);
  for (let cy = 0; cy < ny; cy++) {
    for (let cx = 0; cx < nx; cx++) {
      const cell = cx + cy * nx;
      ctx.fillStyle = colour(state.map.owners[cell]);
      ctx.globalAlpha = 0.35 + 0.65 * (state.entitiesPerCell[cell] ?? 0) / max;
      ctx.fillRect(cx * cw, cy * ch, cw - 1, ch - 1);
      ctx.globalAlpha = 1;
      ctx.fillStyle = "#000";
      ctx.fillText(String(state.entitiesPerCell[cell] ?? 0), cx * cw + 4, cy * ch + 14);
    }
  }
  document.getElementById("summary").textContent =
    `epoch ${state.epoch} · ${state.workers.length} workers · ` +
    `${state.entitiesPerCell.reduce((a, b) => a + b, 0)} entities`;
  document.querySelector("#workers tbody").innerHTML = state.workers.map((wk) =>
    `<tr><td><span class="swatch" style="background:${
      colour(wk.id)
    }"></span></td><td>${wk.id}</td>` +
    `<td>${wk.state}</td><td>${wk.cells}</td><td>${wk.entities}</td><td>${wk.ghosts}</td>` +
    `<td>${wk.tickP99Ms.toFixed(2)}</td></tr>`
  ).join("");
}

setInterval(() => refresh().catch(() => {}), 1000);
refresh().catch(() => {});
