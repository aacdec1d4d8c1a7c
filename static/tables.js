// The workers and gateways tables, built with DOM nodes (text is never parsed as HTML).

function cell(text, title) {
  const td = document.createElement("td");
  td.textContent = text;
  if (title) td.title = title;
  return td;
}

function ms(value) {
  return typeof value === "number" && Number.isFinite(value) ? value.toFixed(2) : "–";
}

function ago(msAgo) {
  if (typeof msAgo !== "number" || !Number.isFinite(msAgo)) return "–";
  return `${(Math.max(0, msAgo) / 1000).toFixed(1)} s`;
}

/** The load column: the coordinator's load figure when it reports one, else entity share. */
function load(worker, totalEntities) {
  if (typeof worker.load === "number") return worker.load.toFixed(1);
  if (totalEntities === 0) return "0%";
  return `${Math.round((100 * worker.entities) / totalEntities)}%`;
}

/** Most room boxes drawn on a row; more are counted ("+N"). */
const MAX_ROOM_BOXES = 12;

/** The rooms cell: one box per instance the worker hosts, its seat count in the title. */
function rooms(worker) {
  const count = worker.instances ?? 0;
  const td = cell("", `${count} rooms, ${worker.seats ?? 0} seats taken`);
  td.className = "rooms";
  for (let n = 0; n < Math.min(count, MAX_ROOM_BOXES); n++) {
    const box = document.createElement("span");
    box.className = "room-box";
    td.append(box);
  }
  if (count > MAX_ROOM_BOXES) td.append(` +${count - MAX_ROOM_BOXES}`);
  if (count === 0) td.append("–");
  return td;
}

/**
 * Fills the workers table: one row per worker with a drain button.
 * `onDrain(id)` is called when one is pressed.
 */
export function renderWorkers(tbody, state, colourOf, onDrain) {
  const total = state.workers.reduce((n, w) => n + (w.entities ?? 0), 0);
  const rows = state.workers.map((w) => {
    const tr = document.createElement("tr");
    tr.dataset.worker = w.id;
    tr.className = `state-${w.state}${w.promoting ? " promoting" : ""}`;
    const swatch = document.createElement("td");
    const dot = document.createElement("span");
    dot.className = "swatch";
    dot.style.background = colourOf(w.id);
    swatch.append(dot);
    tr.append(
      swatch,
      cell(w.id),
      cell(w.grpcAddress ?? "", `HTTP ${w.httpAddress ?? "–"}`),
      cell(w.version ?? "–"),
      cell(
        w.promoting ? `${w.state} (promoting)` : w.state,
        w.promoting ? "took a dead worker's cells; taking over its mirror" : undefined,
      ),
      cell(
        w.backup || "–",
        (w.mirrors ?? []).length > 0 ? `mirrors ${w.mirrors.join(", ")}` : "mirrors nobody",
      ),
      cell(String(w.cells ?? 0)),
      cell(String(w.entities ?? 0)),
      cell(String(w.ghosts ?? 0)),
      rooms(w),
      cell(load(w, total), "load figure, or share of the cluster's entities"),
      cell(`${ms(w.tickP50Ms)} / ${ms(w.tickP99Ms)}`, "tick duration p50 / p99 in ms"),
      cell(ago(w.lastHeartbeatMsAgo), "time since the last heartbeat"),
    );
    const actions = document.createElement("td");
    const drain = document.createElement("button");
    drain.type = "button";
    drain.textContent = "drain";
    drain.className = "drain";
    drain.disabled = w.state !== "active" && w.state !== "spare";
    drain.addEventListener("click", () => onDrain(w.id));
    actions.append(drain);
    tr.append(actions);
    return tr;
  });
  tbody.replaceChildren(...rows);
}

/** Fills the gateways table, or one row saying there are none. */
export function renderGateways(tbody, gateways) {
  if (!Array.isArray(gateways) || gateways.length === 0) {
    const tr = document.createElement("tr");
    const td = cell("no gateways");
    td.colSpan = 5;
    td.className = "empty";
    tr.append(td);
    tbody.replaceChildren(tr);
    return;
  }
  tbody.replaceChildren(...gateways.map((g) => {
    const tr = document.createElement("tr");
    tr.dataset.gateway = g.id;
    tr.append(
      cell(g.id ?? "–"),
      cell(g.httpAddress ?? "–"),
      cell(g.version ?? "–"),
      cell(String(g.sessions ?? 0)),
      cell(ago(g.lastHeartbeatMsAgo), "time since the last heartbeat"),
    );
    return tr;
  }));
}

/** Fills the "left" table: workers that are no longer registered, kept while history has them. */
export function renderLeft(tbody, nodes) {
  if (nodes.length === 0) {
    const tr = document.createElement("tr");
    const td = cell("none");
    td.colSpan = 3;
    td.className = "empty";
    tr.append(td);
    tbody.replaceChildren(tr);
    return;
  }
  tbody.replaceChildren(...nodes.map((n) => {
    const tr = document.createElement("tr");
    tr.dataset.worker = n.id;
    const entities = (n.series.entities ?? []).filter((v) => v !== null);
    tr.append(
      cell(n.id),
      cell(new Date(n.lastSeen).toTimeString().slice(0, 8), "time of its last sample"),
      cell(String(entities.at(-1) ?? 0), "entities at its last sample"),
    );
    return tr;
  }));
}
