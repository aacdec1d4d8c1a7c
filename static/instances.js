// The rooms panel of the diagnostics page: the live instances from /api/instances (id, mode,
// seats, the worker running it, age), a mode filter, and per instance a worker to move it to
// with a move button (POST /api/instances/{id}/move, operator token); the message under the
// table says how the move went once the directory names the new worker.
import { getJson, postJson } from "./api.js";

const LIMIT = 100;
/** Workers that can take an instance (as they can take a cell). */
const CAN_TAKE = new Set(["active", "spare"]);

function cell(text, title) {
  const td = document.createElement("td");
  td.textContent = text;
  if (title) td.title = title;
  return td;
}

function age(ms) {
  const s = Math.floor(ms / 1000);
  return s < 60 ? `${s} s` : s < 3600 ? `${Math.floor(s / 60)} min` : `${Math.floor(s / 3600)} h`;
}

/** The panel: call {@linkcode poll} with each /api/state on every refresh. */
export class InstancesPanel {
  constructor(root) {
    this.body = root.querySelector("#instances-body");
    this.filter = root.querySelector("#instance-mode");
    this.status = root.querySelector("#instances-status");
    this.latest = null;
    /** The move under way: { id, to }, until the directory names `to`. */
    this.moving = null;
    this.workers = [];
    this.filter.addEventListener("input", () => void this.poll().catch(() => {}));
  }

  #say(text, level) {
    this.status.textContent = text;
    this.status.className = `message ${level}`;
  }

  /** Fetches the instances (of the filter's mode) and redraws the table. */
  async poll(state) {
    if (state) this.workers = state.workers.filter((w) => CAN_TAKE.has(w.state)).map((w) => w.id);
    const mode = this.filter.value.trim().slice(0, 64);
    const query = new URLSearchParams({ limit: LIMIT });
    if (mode) query.set("mode", mode);
    const answer = await getJson(`/api/instances?${query}`);
    if (mode !== this.filter.value.trim().slice(0, 64)) return; // typed on meanwhile
    this.latest = answer;
    this.#render(answer);
  }

  #render(answer) {
    if (answer.instances.length === 0) {
      const tr = document.createElement("tr");
      const td = cell(this.filter.value ? "no instance of this mode" : "no instances");
      td.colSpan = 6;
      td.className = "empty";
      tr.append(td);
      this.body.replaceChildren(tr);
    } else {
      this.body.replaceChildren(...answer.instances.map((i) => this.#row(i)));
    }
    const moving = this.moving;
    if (moving) {
      const row = answer.instances.find((i) => i.id === moving.id);
      if (!row) this.#end(`${moving.id} is gone`, "warn");
      else if (row.worker === moving.to) this.#end(`${moving.id} moved to ${moving.to}`, "ok");
    } else if (!this.ended) {
      const shown = answer.instances.length < answer.total
        ? `${answer.instances.length} of ${answer.total} shown`
        : "";
      this.#say(shown, "info");
    }
  }

  #end(text, level) {
    this.moving = null;
    this.ended = true;
    this.#say(text, level);
  }

  #row(i) {
    const tr = document.createElement("tr");
    tr.dataset.instance = i.id;
    const to = document.createElement("select");
    to.className = "move-to";
    to.setAttribute("aria-label", `worker to move ${i.id} to`);
    to.append(...this.workers.filter((w) => w !== i.worker).map((w) => new Option(w, w)));
    const move = document.createElement("button");
    move.type = "button";
    move.textContent = "move";
    move.className = "move";
    move.disabled = to.options.length === 0;
    move.addEventListener("click", () => void this.move(i.id, to.value));
    const actions = document.createElement("td");
    actions.append(to, move);
    tr.append(
      cell(
        i.id,
        `${i.private ? "private · " : ""}owner ${i.owner}${
          i.tags.length ? ` · ${i.tags.join(", ")}` : ""
        }`,
      ),
      cell(i.mode),
      cell(`${i.players}/${i.maxPlayers}`, i.users.join(", ")),
      cell(i.worker, i.moves ? `moved ${i.moves}×` : "where it was created"),
      cell(age(i.ageMs)),
      actions,
    );
    return tr;
  }

  /** Asks the coordinator to move instance `id` to worker `to`. */
  async move(id, to) {
    if (!to) return;
    try {
      await postJson(`/api/instances/${encodeURIComponent(id)}/move`, { worker: to });
      this.moving = { id, to };
      this.ended = false;
      this.#say(`${id} is moving to ${to}`, "ok");
    } catch (error) {
      this.#end(error instanceof Error ? error.message : String(error), "error");
    }
  }
}
