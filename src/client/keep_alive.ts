// A GameClient's keep-alive: a PING right after each WELCOME and then every `pingMs` (the
// gateway closes after 30 s of silence), each carrying the last round trip so the gateway can
// show it to operators, and the round trip measured from each PONG.
import { MAX_REPORTED_RTT_MS, Op, type PingMessage } from "../protocol/client_protocol.ts";
import type { ClientTimers } from "./reconnect_backoff.ts";

/** The PINGs of one client and its last round trip. */
export class KeepAlive {
  #timers: ClientTimers;
  #pingMs: number;
  #send: (ping: PingMessage) => void;
  #rttMs: number | undefined;
  #cancel: (() => void) | undefined;

  constructor(timers: ClientTimers, pingMs: number, send: (ping: PingMessage) => void) {
    this.#timers = timers;
    this.#pingMs = pingMs;
    this.#send = send;
  }

  /** The last PING round trip, ms. */
  get rttMs(): number | undefined {
    return this.#rttMs;
  }

  /** A round trip right away, then one every pingMs until {@linkcode KeepAlive.stop}. */
  start(): void {
    this.stop();
    const tick = () => {
      const rtt = this.#rttMs === undefined
        ? {}
        : { rtt: Math.min(Math.max(0, this.#rttMs), MAX_REPORTED_RTT_MS) };
      this.#send({ op: Op.PING, t: this.#timers.now(), ...rtt });
      this.#cancel = this.#timers.after(this.#pingMs, tick);
    };
    tick();
  }

  stop(): void {
    this.#cancel?.();
    this.#cancel = undefined;
  }

  /** A PONG echoing `t` came: returns the round trip, ms. */
  pong(t: number): number {
    return this.#rttMs = this.#timers.now() - t;
  }
}
