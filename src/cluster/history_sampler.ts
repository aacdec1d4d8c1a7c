// Turns the registry's latest heartbeats into one History sample a second: per-worker tick
// percentiles, entities, players, ghosts, load and handoffs/s (from the counter each heartbeat
// carries), per-gateway sessions and bytes/s written to clients, and cluster totals with the cell migrations finished since the
// previous sample. Down and fenced workers are sampled with their state but no stale counts.
import type { GatewayDirectory } from "./gateway_directory.ts";
import { workerLoads } from "./load_estimate.ts";
import type { Registry } from "./registry.ts";
import { isCounted } from "./worker_record.ts";
import type { History, HistorySample } from "../observe/history.ts";

/** Samples `registry` and `gateways` into `history`; call {@linkcode sample} once an interval. */
export class HistorySampler {
  #handoffs = new Map<string, { count: number; at: number }>();
  #bytes = new Map<string, { count: number; at: number }>();
  #eventSeq: number;

  constructor(
    readonly history: History,
    readonly source: { registry: Registry; gateways: GatewayDirectory; now?: () => number },
  ) {
    this.#eventSeq = source.registry.eventsSince(0).at(-1)?.seq ?? 0;
  }

  /** Records one sample of the current state. */
  sample(): void {
    this.history.record(this.#take());
  }

  #take(): HistorySample {
    const { registry, gateways } = this.source;
    const now = (this.source.now ?? Date.now)();
    const loads = workerLoads(registry.map.owners, registry.cellLoads(), registry.workers.keys());
    const seen = new Set<string>();
    const workers = [...registry.workers.values()].map((w) => {
      seen.add(w.id);
      const live = isCounted(w);
      const before = this.#handoffs.get(w.id);
      this.#handoffs.set(w.id, { count: w.handoffsOut, at: now });
      const seconds = before ? (now - before.at) / 1000 : 0;
      // A restarted worker's counter starts again from 0: no rate for that interval.
      const handoffsPerS = before && seconds > 0 && w.handoffsOut >= before.count
        ? (w.handoffsOut - before.count) / seconds
        : 0;
      const sum = (key: "entities" | "players") =>
        live ? w.cells.reduce((n, c) => n + c[key], 0) : 0;
      return {
        id: w.id,
        state: w.state,
        values: {
          tickP50Ms: live ? w.tickP50Ms : NaN,
          tickP99Ms: live ? w.tickP99Ms : NaN,
          entities: sum("entities"),
          players: sum("players"),
          ghosts: live ? w.ghosts : 0,
          load: live ? loads.get(w.id) ?? 0 : 0,
          handoffsPerS: live ? handoffsPerS : 0,
        },
      };
    });
    for (const id of this.#handoffs.keys()) if (!seen.has(id)) this.#handoffs.delete(id);
    const events = registry.eventsSince(this.#eventSeq);
    this.#eventSeq = events.at(-1)?.seq ?? this.#eventSeq;
    const list = gateways.list();
    const gatewayRows = list.map((g) => {
      const before = this.#bytes.get(g.id);
      this.#bytes.set(g.id, { count: g.bytesOut, at: now });
      const seconds = before ? (now - before.at) / 1000 : 0;
      // A restarted gateway's counter starts again from 0: no rate for that interval.
      const bytesPerS = before && seconds > 0 && g.bytesOut >= before.count
        ? (g.bytesOut - before.count) / seconds
        : 0;
      return { id: g.id, state: "up", values: { sessions: g.sessions, bytesPerS } };
    });
    for (const id of this.#bytes.keys()) {
      if (!list.some((g) => g.id === id)) this.#bytes.delete(id);
    }
    return {
      workers,
      gateways: gatewayRows,
      cluster: {
        workersUp: workers.filter((w) => w.state !== "down" && w.state !== "fenced").length,
        entities: workers.reduce((n, w) => n + w.values.entities, 0),
        sessions: list.reduce((n, g) => n + g.sessions, 0),
        migrations: events.filter((e) => e.kind === "cell.migrated").length,
      },
    };
  }
}
