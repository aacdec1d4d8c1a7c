// The coordinator's directory of session gateways: registration, heartbeats with session
// counts, expiry, and the list clients check in with (newest version first).

/** What the coordinator knows of one gateway. */
export interface GatewayRecord {
  id: string;
  httpAddress: string;
  version: string;
  sessions: number;
  /** Bytes it wrote to its clients since it started (its counter, as reported). */
  bytesOut: number;
  lastHeartbeat: number;
}

/** Compares dotted versions numerically ("0.10.0" > "0.9.1"). */
export function compareVersions(a: string, b: string): number {
  const pa = a.split(/[.+-]/).map((p) => Number.parseInt(p, 10) || 0);
  const pb = b.split(/[.+-]/).map((p) => Number.parseInt(p, 10) || 0);
  for (let i = 0; i < Math.max(pa.length, pb.length); i++) {
    const d = (pa[i] ?? 0) - (pb[i] ?? 0);
    if (d !== 0) return d;
  }
  return 0;
}

/**
 * Least silence before a gateway counts as gone. Workers treat a gone gateway's players as
 * disconnected (they expire after the resume grace), so a gateway is given longer than a
 * worker, whose death is survived without loss: 1 s of a loaded machine must not end sessions.
 */
export const MIN_GATEWAY_TIMEOUT_MS = 5_000;

/** Live gateways; a gateway silent for `timeoutMs` (at least MIN_GATEWAY_TIMEOUT_MS) is dropped. */
export class GatewayDirectory {
  readonly gateways = new Map<string, GatewayRecord>();
  #timeoutMs: number;
  #now: () => number;
  #next = 1;

  constructor(options: { timeoutMs: number; now?: () => number }) {
    this.#timeoutMs = Math.max(options.timeoutMs, MIN_GATEWAY_TIMEOUT_MS);
    this.#now = options.now ?? Date.now;
  }

  /** Registers (or re-registers) a gateway; returns its id. */
  register(request: { nodeId: string; httpAddress: string; version: string }): GatewayRecord {
    let id = request.nodeId;
    if (!id) {
      while (this.gateways.has(`g${this.#next}`)) this.#next++;
      id = `g${this.#next++}`;
    }
    const record: GatewayRecord = {
      id,
      httpAddress: request.httpAddress,
      version: request.version,
      sessions: this.gateways.get(id)?.sessions ?? 0,
      bytesOut: this.gateways.get(id)?.bytesOut ?? 0,
      lastHeartbeat: this.#now(),
    };
    this.gateways.set(id, record);
    return record;
  }

  /** Records a heartbeat; false for an unknown gateway (it must register again). */
  heartbeat(id: string, sessions: number, bytesOut = 0): boolean {
    const record = this.gateways.get(id);
    if (!record) return false;
    record.sessions = sessions;
    record.bytesOut = bytesOut;
    record.lastHeartbeat = this.#now();
    return true;
  }

  /** Drops gateways whose heartbeats stopped; returns their ids. */
  sweep(): string[] {
    const now = this.#now();
    const gone: string[] = [];
    for (const [id, record] of this.gateways) {
      if (now - record.lastHeartbeat > this.#timeoutMs) {
        this.gateways.delete(id);
        gone.push(id);
      }
    }
    return gone;
  }

  /** Live gateways, newest version first, then fewest sessions. */
  list(): GatewayRecord[] {
    return [...this.gateways.values()].sort((a, b) =>
      compareVersions(b.version, a.version) || a.sessions - b.sessions || (a.id < b.id ? -1 : 1)
    );
  }
}
