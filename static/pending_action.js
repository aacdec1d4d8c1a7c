// The action banner under the map: says what the operator's last action is doing ("cell 5 is
// moving to w2", "w2 is draining") only while it is true, by checking each new /api/state; it
// then says how it ended and clears itself after a few seconds.

const DONE_VISIBLE_MS = 4000;

/** Is the action finished in `state`? A message when it is, undefined while it is under way. */
function outcome(action, state) {
  if (action.kind === "move") {
    const moving = (state.migrations ?? []).some((m) => m.cell === action.cell);
    if (moving) return undefined;
    const owner = state.map.owners[action.cell];
    return owner === action.to
      ? { text: `cell ${action.cell} moved to ${action.to}`, level: "ok" }
      : {
        text: `cell ${action.cell} did not move: it is on ${owner || "no worker"}`,
        level: "warn",
      };
  }
  const worker = state.workers.find((w) => w.id === action.worker);
  if (!worker) return { text: `worker ${action.worker} drained and left`, level: "ok" };
  if (worker.state === "drained") return { text: `worker ${action.worker} drained`, level: "ok" };
  if (worker.state === "down") return { text: `worker ${action.worker} went down`, level: "warn" };
  return undefined;
}

/** The banner of one action at a time. */
export class PendingAction {
  constructor(element, now = () => performance.now()) {
    this.element = element;
    this.now = now;
    this.action = null;
    this.doneAt = undefined;
  }

  #say(text, level = "info") {
    this.element.textContent = text;
    this.element.className = `message ${level}`;
  }

  /** Shows a message that is not tied to an action (an error, a prompt). */
  say(text, level) {
    this.action = null;
    this.doneAt = undefined;
    this.#say(text, level);
  }

  /** An action was accepted: `{ kind: "move", cell, to }` or `{ kind: "drain", worker }`. */
  started(action, text) {
    this.action = action;
    this.startedAt = this.now();
    this.doneAt = undefined;
    this.#say(text, "ok");
  }

  /** Checks the action against an /api/state requested at `requestedAt` (this clock). */
  update(state, requestedAt) {
    if (this.action) {
      if (requestedAt < this.startedAt) return; // asked before the action: says nothing of it
      const end = outcome(this.action, state);
      if (end) {
        this.action = null;
        this.doneAt = this.now();
        this.#say(end.text, end.level);
      }
    } else if (this.doneAt !== undefined && this.now() - this.doneAt > DONE_VISIBLE_MS) {
      this.doneAt = undefined;
      this.#say("");
    }
  }

  /** True while an accepted action has not finished. */
  get pending() {
    return this.action !== null;
  }
}
