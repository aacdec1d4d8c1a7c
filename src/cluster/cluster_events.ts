// The coordinator's ring of cluster events (joins, deaths, migrations, backups), kept for the
// diagnostics page and `/api/state` and passed to an optional listener as they happen.

/** A cluster event kept for the diagnostics page and `/api/state`. */
export interface ClusterEvent {
  seq: number;
  time: number;
  kind: string;
  [field: string]: unknown;
}

/** A bounded ring of cluster events, numbered from 1. */
export class ClusterEvents {
  #events: ClusterEvent[] = [];
  #seq = 0;
  #now: () => number;
  #size: number;
  #onEvent?: (event: ClusterEvent) => void;

  constructor(now: () => number, size = 1_000, onEvent?: (event: ClusterEvent) => void) {
    this.#now = now;
    this.#size = size;
    this.#onEvent = onEvent;
  }

  /** Appends a cluster event to the ring. */
  push(kind: string, fields: Record<string, unknown> = {}): ClusterEvent {
    const event: ClusterEvent = { seq: ++this.#seq, time: this.#now(), kind, ...fields };
    this.#events.push(event);
    const size = this.#size;
    if (this.#events.length > size) this.#events.shift();
    this.#onEvent?.(event);
    return event;
  }

  /** Cluster events after `since`, oldest first. */
  since(since = 0): ClusterEvent[] {
    return this.#events.filter((e) => e.seq > since);
  }
}
