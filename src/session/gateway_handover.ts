// A draining gateway's hand-over (a deploy replaced its version): once the map flags it
// draining, it sends its live sessions, at a bounded rate, a REDIRECT to the live version's
// gateways (fewest sessions first) and closes them with 1001 so they resume there; once it holds
// no session it reports itself empty, and the role stops (exit 0).
import type { GatewayInfo } from "../net/rpc.ts";
import type { SessionHub } from "./hub.ts";

/** Options of {@linkcode GatewayHandover}. */
export interface HandoverOptions {
  /** This gateway's id in the map's gateway list. */
  self: string;
  hub: SessionHub;
  /** Sessions handed over per second. */
  sessionsPerSecond: number;
  /** Gateways serve HTTPS: redirect to wss://. */
  secure: boolean;
  /** Called once, when draining and no session is left. */
  onEmpty: () => void;
}

/** Rounds of hand-over per second: the rate is spread over them. */
const ROUNDS_PER_SECOND = 10;

/** Follows the map's gateway list; runs the hand-over while this gateway is draining. */
export class GatewayHandover {
  #o: HandoverOptions;
  #targets: GatewayInfo[] = [];
  #timer: ReturnType<typeof setInterval> | undefined;
  #next = 0;
  #emptyRounds = 0;

  constructor(options: HandoverOptions) {
    this.#o = options;
  }

  /** True once the map flagged this gateway draining. */
  get draining(): boolean {
    return this.#timer !== undefined;
  }

  /** The map's gateway list changed. */
  update(gateways: readonly GatewayInfo[]): void {
    const self = gateways.find((g) => g.id === this.#o.self);
    this.#targets = gateways.filter((g) => !g.draining && g.id !== this.#o.self)
      .sort((a, b) => a.sessions - b.sessions);
    if (self?.draining && this.#targets.length > 0 && this.#timer === undefined) {
      this.#timer = setInterval(() => this.#round(), 1000 / ROUNDS_PER_SECOND);
    }
  }

  /** Stops the hand-over timer. */
  close(): void {
    clearInterval(this.#timer);
  }

  #round(): void {
    const { hub } = this.#o;
    if (hub.sessions.size === 0) {
      // Empty for a whole round: the last REDIRECTs' closing handshakes had a round to finish.
      if (this.#emptyRounds++ === 1) {
        this.close();
        this.#o.onEmpty();
      }
      return;
    }
    this.#emptyRounds = 0;
    if (this.#targets.length === 0) return;
    const count = Math.max(1, Math.round(this.#o.sessionsPerSecond / ROUNDS_PER_SECOND));
    // Spread each round over the targets, one session at a time, round robin.
    for (let n = 0; n < count; n++) {
      const target = this.#targets[this.#next++ % this.#targets.length];
      const url = `${this.#o.secure ? "wss" : "ws"}://${target.httpAddress}/ws`;
      if (hub.redirect(url, 1) === 0) break;
    }
  }
}
