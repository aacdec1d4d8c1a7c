// History charts of the diagnostics page: polls /api/history and draws one small SVG line chart
// per figure (tick p99, entities, load, players, ghosts, handoffs/s per worker; sessions per
// gateway, bytes/s to clients per gateway; cluster migrations and workers up), each with a legend and a hover line that reads out every
// series' value at that time. Plain SVG: a handful of polylines needs no charting library.
import { getJson } from "./api.js";

const SVG = "http://www.w3.org/2000/svg";
const W = 320;
const H = 110;
const PAD = { left: 34, right: 6, top: 6, bottom: 16 };
const GATEWAY_COLOURS = ["#555", "#8c564b", "#17becf", "#bcbd22", "#7f7f7f"];

/** The charts: [title, where the series are, field, unit]. */
export const CHARTS = [
  ["tick p99", "workers", "tickP99Ms", "ms"],
  ["entities", "workers", "entities", ""],
  ["load", "workers", "load", ""],
  ["players", "workers", "players", ""],
  ["ghosts", "workers", "ghosts", ""],
  ["handoffs/s", "workers", "handoffsPerS", "/s"],
  ["sessions", "gateways", "sessions", ""],
  ["bytes/s to clients", "gateways", "bytesPerS", "/s"],
  ["migrations", "cluster", "migrations", "/s"],
  ["workers up", "cluster", "workersUp", ""],
];

function el(name, attrs = {}, parent) {
  const node = document.createElementNS(SVG, name);
  for (const [k, v] of Object.entries(attrs)) node.setAttribute(k, String(v));
  parent?.append(node);
  return node;
}

function fmt(value, unit) {
  if (value === null || value === undefined) return "–";
  const text = Math.abs(value) >= 100 ? value.toFixed(0) : String(Math.round(value * 100) / 100);
  return unit && unit !== "/s" ? `${text} ${unit}` : text;
}

function clock(ms) {
  return new Date(ms).toTimeString().slice(0, 8);
}

/** Series of one chart: [{ name, colour, values, left }]. */
function seriesOf(history, where, field, colourOf) {
  if (where === "cluster") {
    return [{ name: "cluster", colour: "#333", values: history.cluster[field] ?? [] }];
  }
  return (history[where] ?? []).map((node, i) => ({
    name: node.state === "left" ? `${node.id} (left)` : node.id,
    colour: where === "workers" ? colourOf(node.id) : GATEWAY_COLOURS[i % GATEWAY_COLOURS.length],
    values: node.series[field] ?? [],
    left: node.state === "left" || node.state === "down",
  }));
}

/** One chart: an SVG, a legend and a read-out line. */
class Chart {
  constructor(parent, [title, where, field, unit]) {
    Object.assign(this, { title, where, field, unit });
    this.root = document.createElement("figure");
    this.root.className = "chart";
    this.root.dataset.chart = field;
    const caption = document.createElement("figcaption");
    caption.textContent = title;
    this.readout = document.createElement("span");
    this.readout.className = "readout";
    caption.append(" ", this.readout);
    this.svg = el("svg", { viewBox: `0 0 ${W} ${H}`, role: "img", "aria-label": title });
    this.legend = document.createElement("div");
    this.legend.className = "legend";
    this.root.append(caption, this.svg, this.legend);
    parent.append(this.root);
    this.svg.addEventListener("mousemove", (e) => this.#hover(e));
    this.svg.addEventListener("mouseleave", () => this.#hover(null));
    this.points = 0;
  }

  draw(history, colourOf) {
    this.history = history;
    this.series = seriesOf(history, this.where, this.field, colourOf);
    const times = history.times;
    let max = 0;
    for (const s of this.series) for (const v of s.values) if (v !== null && v > max) max = v;
    this.max = max > 0 ? max * 1.1 : 1;
    this.svg.replaceChildren();
    const x0 = PAD.left, x1 = W - PAD.right, y0 = H - PAD.bottom, y1 = PAD.top;
    el("line", { x1: x0, y1: y0, x2: x1, y2: y0, class: "axis" }, this.svg);
    el("line", { x1: x0, y1: y0, x2: x0, y2: y1, class: "axis" }, this.svg);
    const label = (
      x,
      y,
      text,
      anchor,
    ) => (el("text", { x, y, "text-anchor": anchor, class: "tick" }, this.svg).textContent = text);
    label(x0 - 3, y1 + 8, fmt(this.max, ""), "end");
    label(x0 - 3, y0, "0", "end");
    if (times.length > 0) {
      label(x0, H - 3, clock(times[0]), "start");
      label(x1, H - 3, clock(times.at(-1)), "end");
    }
    this.xOf = (i) => x0 + (times.length > 1 ? (i / (times.length - 1)) * (x1 - x0) : 0);
    this.yOf = (v) => y0 - (v / this.max) * (y0 - y1);
    this.points = 0;
    for (const s of this.series) {
      // A gap (null) breaks the line: one polyline per run of values.
      let run = [];
      const flush = () => {
        if (run.length > 0) {
          el("polyline", {
            points: run.join(" "),
            stroke: s.colour,
            class: s.left ? "line left" : "line",
          }, this.svg);
        }
        run = [];
      };
      s.values.forEach((v, i) => {
        if (v === null) return flush();
        run.push(`${this.xOf(i).toFixed(1)},${this.yOf(v).toFixed(1)}`);
        this.points++;
      });
      flush();
    }
    this.cursor = el("line", { y1, y2: y0, class: "cursor", visibility: "hidden" }, this.svg);
    this.legend.replaceChildren(...this.series.map((s) => {
      const item = document.createElement("span");
      const swatch = document.createElement("span");
      swatch.className = "swatch";
      swatch.style.background = s.colour;
      item.append(swatch, ` ${s.name} ${fmt(lastValue(s.values), this.unit)}`);
      return item;
    }));
    if (this.hoverIndex !== undefined) this.#show(this.hoverIndex);
  }

  #hover(event) {
    const times = this.history?.times ?? [];
    if (!event || times.length === 0) {
      this.hoverIndex = undefined;
      this.cursor?.setAttribute("visibility", "hidden");
      this.readout.textContent = "";
      return;
    }
    const rect = this.svg.getBoundingClientRect();
    const x = ((event.clientX - rect.left) / rect.width) * W;
    const span = W - PAD.right - PAD.left;
    const i = Math.round(((x - PAD.left) / span) * (times.length - 1));
    this.hoverIndex = Math.max(0, Math.min(times.length - 1, i));
    this.#show(this.hoverIndex);
  }

  #show(i) {
    const times = this.history.times;
    if (i >= times.length) return;
    this.cursor.setAttribute("x1", this.xOf(i));
    this.cursor.setAttribute("x2", this.xOf(i));
    this.cursor.setAttribute("visibility", "visible");
    const values = this.series.map((s) => `${s.name} ${fmt(s.values[i], this.unit)}`);
    this.readout.textContent = `${clock(times[i])} · ${values.join(" · ")}`;
  }
}

function lastValue(values) {
  for (let i = values.length - 1; i >= 0; i--) if (values[i] !== null) return values[i];
  return null;
}

/** The chart panel: a range selector and the charts, refreshed by {@linkcode poll}. */
export class HistoryCharts {
  constructor(container, rangeSelect, status, colourOf) {
    this.range = rangeSelect;
    this.status = status;
    this.colourOf = colourOf;
    this.charts = CHARTS.map((spec) => new Chart(container, spec));
    this.latest = null;
    this.range.addEventListener("change", () => void this.poll());
  }

  /** Fetches the selected window and redraws every chart. */
  async poll() {
    const seconds = Number(this.range.value) || 300;
    try {
      this.latest = await getJson(`/api/history?seconds=${seconds}`);
      for (const chart of this.charts) chart.draw(this.latest, this.colourOf);
      this.status.textContent = `${this.latest.times.length} samples`;
      this.status.className = "status ok";
    } catch (error) {
      this.status.textContent = `history unavailable: ${error.message ?? error}`;
      this.status.className = "status warn";
      throw error;
    }
  }

  /** Draws the last answer again (the workers' colours are known once /api/state is in). */
  redraw() {
    if (this.latest) { for (const chart of this.charts) chart.draw(this.latest, this.colourOf); }
  }

  /** Points drawn per chart, for tests. */
  get points() {
    return Object.fromEntries(this.charts.map((c) => [c.field, c.points]));
  }
}
