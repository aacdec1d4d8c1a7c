// The live cluster event log (server-sent events from /api/events; the browser resumes with
// Last-Event-ID after a reconnect) and the recent structured log lines (/api/logs).
import { getJson, withToken } from "./api.js";

const MAX_LINES = 300;

function clock(time) {
  const d = new Date(time);
  return Number.isNaN(d.getTime()) ? "--:--:--" : d.toTimeString().slice(0, 8);
}

function fieldsText(record, skip) {
  return Object.entries(record)
    .filter(([k]) => !skip.includes(k))
    .map(([k, v]) => `${k}=${typeof v === "string" ? v : JSON.stringify(v)}`)
    .join(" ");
}

/** Adds a line at the top of `list`, keeping at most MAX_LINES. */
function prepend(list, className, parts) {
  const li = document.createElement("li");
  li.className = className;
  for (const [cls, text] of parts) {
    const span = document.createElement("span");
    span.className = cls;
    span.textContent = text;
    li.append(span, " ");
  }
  list.prepend(li);
  while (list.childElementCount > MAX_LINES) list.lastElementChild.remove();
  return li;
}

/** Cluster events streamed from the coordinator. */
export class EventLog {
  constructor(list, status, onEvent) {
    this.list = list;
    this.status = status;
    this.onEvent = onEvent;
    this.events = [];
  }

  start() {
    this.source = new EventSource(withToken("/api/events"));
    this.source.onopen = () => this.#setStatus("live", "ok");
    this.source.onerror = () => this.#setStatus("reconnecting…", "warn");
    this.source.onmessage = (message) => {
      let event;
      try {
        event = JSON.parse(message.data);
      } catch {
        return;
      }
      this.events.push(event);
      if (this.events.length > MAX_LINES) this.events.shift();
      prepend(this.list, `event kind-${String(event.kind).replace(/[^a-z0-9]+/gi, "-")}`, [
        ["time", clock(event.time)],
        ["kind", String(event.kind)],
        ["fields", fieldsText(event, ["seq", "time", "kind"])],
      ]);
      this.onEvent?.(event);
    };
    this.source.addEventListener("gap", (message) => {
      const gap = JSON.parse(message.data);
      prepend(this.list, "event gap", [
        ["kind", `events ${gap.from}–${gap.to} are no longer kept`],
      ]);
    });
  }

  #setStatus(text, level) {
    this.status.textContent = text;
    this.status.className = `status ${level}`;
  }
}

/** Recent structured log lines of the coordinator, polled by sequence number. */
export class LogLines {
  constructor(list, levelSelect) {
    this.list = list;
    this.levelSelect = levelSelect;
    this.since = 0;
    levelSelect.addEventListener("change", () => {
      this.since = 0;
      this.list.replaceChildren();
      void this.poll().catch(() => {});
    });
  }

  async poll() {
    const level = this.levelSelect.value;
    const page = await getJson(`/api/logs?since=${this.since}&limit=200&level=${level}`);
    if (page.latest < this.since) {
      // The coordinator restarted and numbers its records from 1 again.
      this.since = 0;
      return await this.poll();
    }
    for (const { seq, record } of page.records) {
      prepend(this.list, `log level-${record.level}`, [
        ["time", clock(record.time)],
        ["level", record.level],
        ["who", `${record.role}${record.node ? ` ${record.node}` : ""}`],
        ["kind", record.event],
        ["fields", fieldsText(record, ["time", "level", "role", "node", "event"])],
      ]);
      this.since = seq;
    }
    this.since = Math.max(this.since, page.latest);
  }
}
