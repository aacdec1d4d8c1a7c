// The diagnostics page: polls /api/state, /api/entities, /api/history and /api/logs about once
// a second, streams cluster events, and offers the actions "move a cell", "drain a worker",
// faults (static/faults.js), kicks (static/sessions.js) and moves of rooms (static/instances.js).
// When the coordinator cannot be reached, that is what the header says, whatever else failed,
// and the last numbers shown are marked stale.
import { getJson, postJson } from "./api.js";
import { HistoryCharts } from "./charts.js";
import { EntityInspector } from "./inspector.js";
import { EventLog, LogLines } from "./event_log.js";
import { FaultPanel } from "./faults.js";
import { MapView } from "./map_view.js";
import { PendingAction } from "./pending_action.js";
import { SessionsPanel } from "./sessions.js";
import { InstancesPanel } from "./instances.js";
import { renderGateways, renderLeft, renderWorkers } from "./tables.js";

const REFRESH_MS = 1000;
const POSITIONS_PER_WORKER = 2000;
const $ = (id) => document.getElementById(id);

const view = new MapView($("map"));
const logLines = new LogLines($("logs"), $("log-level"));
const banner = new PendingAction($("action-status"));
const inspector = new EntityInspector($("inspector"));
const charts = new HistoryCharts(
  $("charts"),
  $("history-range"),
  $("history-status"),
  (id) => view.colourOf(id),
);
const faults = new FaultPanel($("faults"), () => void refresh());
const sessions = new SessionsPanel($("sessions"), () => void refresh());
const instances = new InstancesPanel($("instances"));
/** Workers that can take a cell: not draining, releasing, drained, down or fenced. */
const CAN_TAKE_CELLS = new Set(["active", "spare"]);
let state = null;
let unreachable = false;
let refreshes = 0;
let timer;
let running = false;

function say(element, text, level = "info") {
  element.textContent = text;
  element.className = `message ${level}`;
}

function errorText(error) {
  return error instanceof Error ? error.message : String(error);
}

function setupSlices(world) {
  const select = $("slice");
  const nz = world.dims === 3 ? Math.max(1, Math.ceil(world.size[2] / world.cellSize)) : 1;
  $("slice-control").hidden = nz === 1;
  if (select.options.length === nz + 1) return;
  const options = [new Option("top-down (all z)", "all")];
  for (let z = 0; z < nz; z++) {
    const from = z * world.cellSize;
    const to = Math.min(world.size[2], from + world.cellSize);
    options.push(new Option(`z slice ${z} (${from}–${to})`, String(z)));
  }
  select.replaceChildren(...options);
  select.value = String(view.slice);
}

/** "cell 5 (1, 1) x 100–200 y 100–200 · w1 · 23 entities (2 players) · 4 interactions/s · load 25" */
function describeCell(cell) {
  if (!state || cell === null) return "";
  const { cellSize, size, dims } = state.world;
  const n = (i) => Math.max(1, Math.ceil(size[i] / cellSize));
  const coords = [cell % n(0), Math.floor(cell / n(0)) % n(1)];
  if (dims === 3) coords.push(Math.floor(cell / (n(0) * n(1))));
  const span = (c, i) => `${"xyz"[i]} ${c * cellSize}–${Math.min(size[i], (c + 1) * cellSize)}`;
  const owner = state.map.owners[cell] || "no owner";
  const entities = state.entitiesPerCell[cell] ?? 0;
  const players = state.playersPerCell?.[cell] ?? 0;
  const interactions = state.interactionsPerCell?.[cell] ?? 0;
  const load = state.loadPerCell?.[cell] ?? 0;
  return `cell ${cell} (${coords.join(", ")}) ${coords.map(span).join(" ")} · ${owner} · ` +
    `${entities} entities (${players} players) · ${interactions} interactions/s · load ${load}`;
}

function renderSelection() {
  const cell = view.selected;
  const panel = $("selection");
  panel.hidden = cell === null || !state;
  if (panel.hidden) return;
  $("selected-cell").textContent = describeCell(cell);
  const owner = state.map.owners[cell];
  const select = $("move-to");
  const previous = select.value;
  const targets = state.workers.filter((w) => CAN_TAKE_CELLS.has(w.state) && w.id !== owner);
  select.replaceChildren(...targets.map((w) => new Option(`${w.id} (${w.state})`, w.id)));
  if (targets.some((w) => w.id === previous)) select.value = previous;
  $("move").disabled = targets.length === 0;
}

/** In the "version" colour mode: each version's colour and the cells its workers own. */
function renderVersionLegend() {
  const legend = $("version-legend");
  legend.hidden = view.colourBy !== "version";
  if (legend.hidden) return;
  legend.replaceChildren(
    ...view.versionCells().map(([version, cells]) => {
      const item = document.createElement("li");
      item.dataset.version = version;
      const key = document.createElement("span");
      key.className = "key";
      key.style.background = view.versionFill(version);
      item.append(key, `${version || "(no version)"}: ${cells} cells`);
      return item;
    }),
  );
}

function render() {
  if (!state) return;
  view.draw();
  renderVersionLegend();
  renderSelection();
  const total = state.entitiesPerCell.reduce((a, b) => a + b, 0);
  const active = state.workers.filter((w) => w.state === "active").length;
  const moving = (state.migrations ?? []).length;
  $("summary").textContent = `map epoch ${state.map.epoch} · ${state.workers.length} workers ` +
    `(${active} active) · ${state.map.owners.length} cells` +
    (moving ? ` (${moving} migrating)` : "") + ` · ${total} entities · ${state.world.tickHz} Hz`;
  renderWorkers($("workers-body"), state, (id) => view.colourOf(id), drain);
  renderGateways($("gateways-body"), state.gateways);
}

/** Where secondary failures were shown (see `secondary`). */
const secondaries = new Set();

/** The header line and the stale marking: an unreachable coordinator wins over the rest. */
function setReachable(ok, error) {
  unreachable = !ok;
  document.body.classList.toggle("stale", unreachable);
  if (ok) say($("connection"), `updated ${new Date().toTimeString().slice(0, 8)}`, "ok");
  else {
    say($("connection"), `coordinator unreachable: ${errorText(error)}`, "error");
    // A secondary failure seen just before (the coordinator went away between two requests of
    // one refresh) is the same outage: the header says it now.
    for (const element of secondaries) say(element, "");
    secondaries.clear();
  }
}

/** A secondary failure (logs, history) is shown only while the coordinator answers. */
function secondary(element, text) {
  if (unreachable) return;
  secondaries.add(element);
  say(element, text, "warn");
}

async function refresh() {
  if (running) return;
  running = true;
  clearTimeout(timer);
  const started = performance.now();
  try {
    const [next, positions, history, sessionList] = await Promise.allSettled([
      getJson("/api/state"),
      getJson(`/api/entities?max=${POSITIONS_PER_WORKER}`),
      charts.poll(),
      sessions.poll(),
    ]);
    if (next.status === "rejected") throw next.reason;
    state = next.value;
    banner.update(state, started);
    faults.update(state);
    if (sessionList.status === "rejected") {
      secondary($("sessions-status"), `sessions unavailable: ${errorText(sessionList.reason)}`);
    }
    await instances.poll(state).catch((error) =>
      secondary($("instances-status"), `rooms unavailable: ${errorText(error)}`)
    );
    if (history.status === "fulfilled") {
      charts.redraw();
      renderLeft($("left-body"), charts.latest.workers.filter((w) => w.state === "left"));
    }
    setupSlices(state.world);
    view.setState(state);
    if (positions.status === "fulfilled") {
      view.setPositions(positions.value.workers);
      const missing = positions.value.workers.filter((w) => w.error);
      say(
        $("positions-status"),
        missing.map((w) => `${w.id}: ${w.error.message}`).join("; "),
        missing.length ? "warn" : "info",
      );
    } else {
      say($("positions-status"), errorText(positions.reason), "warn");
    }
    setReachable(true);
    render();
  } catch (error) {
    setReachable(false, error);
  }
  try {
    await logLines.poll();
    if (!unreachable) say($("logs-status"), "");
  } catch (error) {
    secondary($("logs-status"), `logs unavailable: ${errorText(error)}`);
  }
  running = false;
  refreshes++;
  timer = setTimeout(refresh, Math.max(0, REFRESH_MS - (performance.now() - started)));
}

async function moveCell() {
  const cell = view.selected;
  const to = $("move-to").value;
  if (cell === null || !to) return;
  $("move").disabled = true;
  banner.say(`moving cell ${cell} to ${to}…`);
  try {
    await postJson(`/api/cells/${cell}/move`, { to });
    banner.started({ kind: "move", cell, to }, `cell ${cell} is moving to ${to}`);
  } catch (error) {
    banner.say(errorText(error), "error");
  } finally {
    $("move").disabled = false;
    void refresh();
  }
}

async function drain(worker) {
  if (!confirm(`Drain worker ${worker}? Its cells move to other workers.`)) return;
  banner.say(`draining ${worker}…`);
  try {
    await postJson(`/api/workers/${encodeURIComponent(worker)}/drain`, {});
    banner.started({ kind: "drain", worker }, `worker ${worker} is draining`);
  } catch (error) {
    banner.say(errorText(error), "error");
  } finally {
    void refresh();
  }
}

function canvasPoint(event) {
  const rect = view.canvas.getBoundingClientRect();
  return [event.clientX - rect.left, event.clientY - rect.top];
}

view.canvas.addEventListener("click", (event) => {
  const dot = view.dotAt(...canvasPoint(event));
  if (dot) void inspector.show(dot[0]);
  const cell = view.cellAt(...canvasPoint(event));
  view.selected = cell === view.selected ? null : cell;
  if (!banner.pending) banner.say("");
  render();
});
view.canvas.addEventListener("mousemove", (event) => {
  $("hover").textContent = describeCell(view.cellAt(...canvasPoint(event))) || "\u00a0";
});
view.canvas.addEventListener("mouseleave", () => ($("hover").textContent = "\u00a0"));
$("move").addEventListener("click", () => void moveCell());
$("clear-selection").addEventListener("click", () => {
  view.selected = null;
  render();
});
$("colour-by").addEventListener("change", (event) => {
  view.colourBy = event.target.value;
  render();
});
$("slice").addEventListener("change", (event) => {
  const value = event.target.value;
  view.slice = value === "all" ? "all" : Number(value);
  view.selected = null;
  render();
});

const events = new EventLog($("events"), $("events-status"), (event) => {
  // Ownership or membership changed: show it now rather than at the next poll.
  if (/^(cell|map|worker|migration|rebalance|backup|promoted|pool)/.test(String(event.kind))) {
    clearTimeout(timer);
    timer = setTimeout(refresh, 50);
  }
});
events.start();
void refresh();

// Read-only view of what is drawn, for tests and for poking at the page from the console.
globalThis.zsDiag = {
  get frames() {
    return view.frames;
  },
  get dpr() {
    return view.dpr;
  },
  get colours() {
    return Object.fromEntries(view.colours);
  },
  get owners() {
    return state ? [...state.map.owners] : [];
  },
  get dots() {
    return view.dots ?? [];
  },
  get events() {
    return [...events.events];
  },
  get selected() {
    return view.selected;
  },
  get inspected() {
    return inspector.latest;
  },
  get hover() {
    return $("hover").textContent;
  },
  /** The inside colour of a cell's centre pixel (for the colour modes). */
  cellInside(cell) {
    const box = view.cellBox(cell);
    const ctx = view.canvas.getContext("2d");
    const x = Math.floor((box.x + box.w / 3) * view.dpr),
      y = Math.floor((box.y + box.h / 3) * view.dpr);
    return [...ctx.getImageData(x, y, 1, 1).data.slice(0, 3)].join(",");
  },
  get chartPoints() {
    return charts.points;
  },
  get history() {
    return charts.latest;
  },
  get sessions() {
    return sessions.latest?.sessions ?? [];
  },
  get instances() {
    return instances.latest?.instances ?? [];
  },
  get refreshes() {
    return refreshes;
  },
  /** Selects a cell as a click on it would. */
  select(cell) {
    view.selected = cell;
    render();
  },
  cellBox: (cell) => view.cellBox(cell),
  visibleCells: () => [...view.visibleCells()],
};
