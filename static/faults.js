// The fault injection panel of the diagnostics page (operator token required): kill, pause and
// resume a worker, cut and heal its link to another, through POST /api/workers/{id}/faults. The
// failover that follows shows in the event log and the history charts.
import { postJson } from "./api.js";

const NEEDS_PEER = new Set(["cut", "heal"]);
const CONFIRM = {
  kill: (w) => `Kill worker ${w}? It dies at once, as kill -9 would; its backup takes over.`,
};

/** The panel: fills its selects from each /api/state and posts the chosen fault. */
export class FaultPanel {
  constructor(root, onDone) {
    this.worker = root.querySelector("#fault-worker");
    this.peer = root.querySelector("#fault-peer");
    this.status = root.querySelector("#fault-status");
    this.onDone = onDone;
    for (const button of root.querySelectorAll("button[data-fault]")) {
      button.addEventListener("click", () => void this.inject(button.dataset.fault));
    }
  }

  /**
   * Offers every registered worker with its state: a paused worker is soon "down" and must
   * still be resumable (the coordinator refuses to kill, pause or cut a down one).
   */
  update(state) {
    for (const select of [this.worker, this.peer]) {
      const previous = select.value;
      select.replaceChildren(
        ...state.workers.map((w) => new Option(`${w.id} (${w.state})`, w.id)),
      );
      if (state.workers.some((w) => w.id === previous)) select.value = previous;
    }
  }

  #say(text, level) {
    this.status.textContent = text;
    this.status.className = `message ${level}`;
  }

  /** Posts one fault for the selected worker (and peer, for cut and heal). */
  async inject(action) {
    const worker = this.worker.value;
    if (!worker) return;
    const body = { action };
    if (NEEDS_PEER.has(action)) body.peer = this.peer.value;
    if (CONFIRM[action] && !confirm(CONFIRM[action](worker))) return;
    const what = body.peer ? `${action} ${worker}–${body.peer}` : `${action} ${worker}`;
    try {
      await postJson(`/api/workers/${encodeURIComponent(worker)}/faults`, body);
      this.#say(`${what}: done`, "ok");
    } catch (error) {
      this.#say(error instanceof Error ? error.message : String(error), "error");
    } finally {
      this.onDone();
    }
  }
}
