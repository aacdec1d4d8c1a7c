// The sessions panel of the diagnostics page: every gateway's live sessions from /api/sessions
// (player, gateway, worker, cell, time connected, the round trip the client reports, bytes/s),
// a search box, and a kick button per session (operator token; the client is closed with 4009
// KICKED). Gateways that did not answer are named under the table.
import { getJson, postJson } from "./api.js";

const LIMIT = 100;

function cell(text, title) {
  const td = document.createElement("td");
  td.textContent = text;
  if (title) td.title = title;
  return td;
}

function duration(ms) {
  const s = Math.floor(ms / 1000);
  if (s < 60) return `${s} s`;
  if (s < 3600) return `${Math.floor(s / 60)} min ${s % 60} s`;
  return `${Math.floor(s / 3600)} h ${Math.floor((s % 3600) / 60)} min`;
}

function rate(bytes) {
  return bytes >= 1024 ? `${(bytes / 1024).toFixed(1)} KiB/s` : `${bytes} B/s`;
}

/** The panel: call {@linkcode poll} on every refresh. */
export class SessionsPanel {
  constructor(root, onKicked) {
    this.body = root.querySelector("#sessions-body");
    this.search = root.querySelector("#session-search");
    this.status = root.querySelector("#sessions-status");
    this.onKicked = onKicked;
    this.latest = null;
    this.search.addEventListener("input", () => void this.poll().catch(() => {}));
  }

  #say(text, level) {
    this.status.textContent = text;
    this.status.className = `message ${level}`;
  }

  /** Fetches the sessions matching the search box and redraws the table. */
  async poll() {
    const q = this.search.value.trim().slice(0, 64);
    const answer = await getJson(`/api/sessions?${new URLSearchParams({ q, limit: LIMIT })}`);
    if (q !== this.search.value.trim().slice(0, 64)) return; // typed on meanwhile
    this.latest = answer;
    this.#render(answer);
  }

  #render(answer) {
    if (answer.sessions.length === 0) {
      const tr = document.createElement("tr");
      const td = cell(this.search.value ? "no session matches" : "no sessions");
      td.colSpan = 8;
      td.className = "empty";
      tr.append(td);
      this.body.replaceChildren(tr);
    } else {
      this.body.replaceChildren(...answer.sessions.map((s) => this.#row(s)));
    }
    const failed = answer.gateways.filter((g) => g.error);
    const shown = answer.sessions.length < answer.total
      ? `${answer.sessions.length} of ${answer.total} shown · `
      : "";
    const broken = failed.map((g) => `${g.id}: ${g.error.message}`).join("; ");
    if (broken) this.#say(`${shown}${broken}`, "warn");
    else if (!this.kickMessage) this.#say(shown, "info");
  }

  #row(s) {
    const tr = document.createElement("tr");
    tr.dataset.session = s.id;
    const kick = document.createElement("button");
    kick.type = "button";
    kick.textContent = "kick";
    kick.className = "kick";
    kick.addEventListener("click", () => void this.kick(s));
    const actions = document.createElement("td");
    actions.append(kick);
    tr.append(
      cell(s.name, `session ${s.id} · entity ${s.entity}`),
      cell(s.gateway),
      cell(s.worker || "–"),
      cell(s.cell >= 0 ? String(s.cell) : "–"),
      cell(duration(s.connectedMs)),
      cell(s.rttMs === null ? "–" : `${Math.round(s.rttMs)} ms`, "round trip the client reports"),
      cell(rate(s.bytesPerS), "bytes sent to the client in the last second"),
      actions,
    );
    return tr;
  }

  /** Kicks one session after a confirmation. */
  async kick(session) {
    if (!confirm(`Kick ${session.name}? The client is disconnected (close 4009 KICKED).`)) return;
    try {
      await postJson(`/api/sessions/${encodeURIComponent(session.id)}/kick`, {
        gateway: session.gateway,
      });
      this.kickMessage = true;
      this.#say(`kicked ${session.name}`, "ok");
    } catch (error) {
      this.kickMessage = true;
      this.#say(error instanceof Error ? error.message : String(error), "error");
    } finally {
      this.onKicked();
    }
  }
}
