// Worker-to-worker links: exactly one gRPC bidi Sync stream per pair of workers (the worker
// with the smaller id dials), reconnecting while the peer is in the map, with outbound batches
// queued in order while a link is down or its peer is not reading (the stream's back-pressure),
// so a slow peer costs a queue in which only droppable batches are ever dropped. Channels to a peer
// that left are kept (idle) rather than closed: closing one sends GOAWAY, which can abort the
// peer's process under Deno 2.9 (denoland/deno#36788) when it is paused or leaving.
import type { Logger } from "../observe/log.ts";
import { type TrafficCounts, trafficCounts } from "../observe/metrics.ts";
import { type CloseOptions, grpc, rpcClient, type WorkerInfo } from "../net/rpc.ts";

/** Metadata key naming the dialing worker on a Sync stream. */
export const NODE_METADATA = "zs-node";
/** Metadata key carrying the version of the payloads the dialer sends and reads. */
export const VERSION_METADATA = "zs-version";

type Duplex = grpc.ClientDuplexStream<{ payload: Uint8Array }, { payload: Uint8Array }>;
type ServerDuplex = grpc.ServerDuplexStream<{ payload: Uint8Array }, { payload: Uint8Array }>;

interface Link {
  peer: string;
  address: string;
  stream?: Duplex | ServerDuplex;
  client?: grpc.Client;
  queue: Queued[];
  retry?: ReturnType<typeof setTimeout>;
  dialer: boolean;
  /** The peer refused our dial (another payload version): logged once until it sends to us. */
  refused?: boolean;
  /**
   * The stream's write queue is full (write() said false): batches wait in `queue`, under its
   * bound, until the stream drains, instead of piling up in the stream until its call fails.
   */
  blocked?: boolean;
}

/** A payload waiting for its link; `keep` ones (handoffs, transfers, mirrors) are never dropped. */
interface Queued {
  payload: Uint8Array;
  keep: boolean;
}

/** Options of {@linkcode PeerLinks}. */
export interface PeerLinksOptions {
  self: string;
  secret: string;
  log: Logger;
  /** Called with each payload received from a peer (not yet decoded). */
  onPayload: (payload: Uint8Array, peer: string) => void;
  /** Called when a peer leaves the map (its ghosts should go). */
  onPeerRemoved?: (peer: string) => void;
  /**
   * Most batches queued per peer while its link is down; beyond, the oldest droppable one
   * (ghost updates only) goes. Batches sent with `keep` are never dropped.
   */
  maxQueue?: number;
  retryMs?: number;
  /**
   * The bidi method links use: worker↔worker "Peer.Sync" (default; the smaller id dials), or
   * gateway→worker "Sessions.Attach" (the gateway dials every worker).
   */
  link?: { service: "Peer"; method: "Sync" } | { service: "Sessions"; method: "Attach" };
  /** Whether this node dials `peer` (default: when its id sorts first). */
  dials?: (self: string, peer: string) => boolean;
  /**
   * Version of the payloads these links carry (worker links: BATCH_VERSION). A dialer names it
   * in {@linkcode VERSION_METADATA}; an acceptor refuses a dialer of another version (or none)
   * with FAILED_PRECONDITION, so two builds that cannot read each other's batches never link.
   */
  version?: number;
}

/** The set of links of one worker. */
export class PeerLinks {
  #links = new Map<string, Link>();
  /** Channels by address, reused when a peer comes back (never closed before close()). */
  #clients = new Map<string, grpc.Client>();
  #options: PeerLinksOptions;
  #closed = false;
  /** Peers whose link is cut on purpose (fault injection): no stream to them until healed. */
  #cut = new Set<string>();
  /** Batches dropped because a queue overflowed (counted, logged). */
  dropped = 0;
  /** Batches and payload bytes received from and written to peers (exported as metrics). */
  readonly traffic: TrafficCounts = trafficCounts();

  constructor(options: PeerLinksOptions) {
    this.#options = options;
  }

  /** Peers with an open stream. */
  connected(): string[] {
    return [...this.#links.values()].filter((l) => l.stream).map((l) => l.peer);
  }

  /** Follows the map's worker list: dial new peers we should dial, drop removed ones. */
  update(workers: readonly WorkerInfo[]): void {
    if (this.#closed) return;
    const present = new Set<string>();
    for (const w of workers) {
      if (w.id === this.#options.self || !w.grpcAddress) continue;
      if (w.state === "down" || w.state === "fenced") continue;
      present.add(w.id);
      let link = this.#links.get(w.id);
      if (!link) {
        link = { peer: w.id, address: w.grpcAddress, queue: [], dialer: this.#dials(w.id) };
        this.#links.set(w.id, link);
      } else if (link.address !== w.grpcAddress && link.dialer) {
        link.address = w.grpcAddress;
        this.#drop(link, "address changed");
      }
      if (link.dialer && !link.stream && link.retry === undefined) this.#dial(link);
    }
    for (const [peer, link] of this.#links) {
      if (present.has(peer)) continue;
      this.#links.delete(peer);
      this.#drop(link, "peer left the map");
      if (link.retry !== undefined) clearTimeout(link.retry);
      this.#options.onPeerRemoved?.(peer);
    }
  }

  /**
   * Sends one encoded batch to a peer, or queues it until the link is up and its stream drained.
   * `keep`: it carries state that must not be lost (handoffs, transfers, acks, mirror ops).
   */
  send(peer: string, payload: Uint8Array, keep = false): void {
    let link = this.#links.get(peer);
    if (!link) {
      // Not in our map yet (a batch can race the map update): hold it for when it appears.
      link = { peer, address: "", queue: [], dialer: this.#dials(peer) };
      this.#links.set(peer, link);
    }
    if (link.stream && !link.stream.done && link.queue.length === 0 && !link.blocked) {
      if (!this.#write(link.stream, payload)) this.#block(link);
      return;
    }
    link.queue.push({ payload, keep });
    const max = this.#options.maxQueue ?? 400;
    if (link.queue.length > max) {
      const at = link.queue.findIndex((q) => !q.keep);
      if (at >= 0) {
        link.queue.splice(at, 1);
        this.dropped++;
        if (this.dropped % 100 === 1) this.#options.log.warn("link.queue_overflow", { peer, max });
      }
    }
  }

  /**
   * Cuts the link to `peer` as a partition would: its stream ends, this side neither dials it
   * nor accepts its dials, and batches for it queue as for any link that is down, until
   * {@linkcode heal}.
   */
  cut(peer: string): void {
    this.#cut.add(peer);
    const link = this.#links.get(peer);
    if (!link) return;
    if (link.retry !== undefined) clearTimeout(link.retry);
    link.retry = undefined;
    this.#drop(link, "cut");
  }

  /** Ends a {@linkcode cut}: the link comes back up and its queue is flushed. */
  heal(peer: string): void {
    if (!this.#cut.delete(peer)) return;
    const link = this.#links.get(peer);
    if (link?.dialer && !link.stream && link.retry === undefined) this.#dial(link);
  }

  /** Peers whose link is cut. */
  get cutPeers(): string[] {
    return [...this.#cut];
  }

  /** Batches queued for `peer` while its link is down or its stream full. */
  queued(peer: string): number {
    return this.#links.get(peer)?.queue.length ?? 0;
  }

  /** Forgets every queued batch (a fenced worker's are stale). */
  discardQueued(): void {
    for (const link of this.#links.values()) link.queue = [];
  }

  /** Server side of Sync: the dialing peer's stream becomes our link to it. */
  accept(call: ServerDuplex): void {
    const values = call.metadata.get(NODE_METADATA);
    const peer = typeof values[0] === "string" ? values[0] : "";
    call.on("error", (error) => this.#options.log.debug("link.error", { peer, error }));
    if (!peer || peer === this.#options.self || this.#closed) {
      call.emit("error", {
        code: grpc.status.INVALID_ARGUMENT,
        details: `Sync needs the ${NODE_METADATA} metadata naming another worker`,
      });
      return;
    }
    if (this.#cut.has(peer)) {
      call.emit("error", { code: grpc.status.UNAVAILABLE, details: `the link to ${peer} is cut` });
      return;
    }
    const version = this.#options.version;
    if (version !== undefined) {
      const theirs = call.metadata.get(VERSION_METADATA)[0];
      if (theirs !== String(version)) {
        const details = `${peer} sends payload version ${
          typeof theirs === "string" ? theirs : "(none)"
        }; ${this.#options.self} reads version ${version} only`;
        this.#options.log.error("link.refused", { peer, details });
        call.emit("error", { code: grpc.status.FAILED_PRECONDITION, details });
        return;
      }
    }
    let link = this.#links.get(peer);
    if (!link) {
      link = { peer, address: "", queue: [], dialer: false };
      this.#links.set(peer, link);
    }
    if (link.stream && link.stream !== call) this.#drop(link, "replaced by a new stream");
    this.#attach(link, call);
  }

  /**
   * Ends every stream and stops reconnecting. With `exiting`, channels are left for the OS to
   * close: closing them sends GOAWAY, which can abort the peer's process (see CloseOptions).
   */
  close(options: CloseOptions = {}): void {
    this.#closed = true;
    for (const link of this.#links.values()) {
      if (link.retry !== undefined) clearTimeout(link.retry);
      this.#drop(link, "closing");
    }
    if (!options.exiting) { for (const client of this.#clients.values()) client.close(); }
    this.#clients.clear();
    this.#links.clear();
  }

  #dials(peer: string): boolean {
    const self = this.#options.self;
    return this.#options.dials ? this.#options.dials(self, peer) : self < peer;
  }

  #dial(link: Link): void {
    if (this.#closed || !link.address || this.#cut.has(link.peer)) return;
    const { service, method } = this.#options.link ?? { service: "Peer", method: "Sync" };
    let client = this.#clients.get(link.address);
    if (!client) {
      client = rpcClient(service, link.address, this.#options.secret);
      this.#clients.set(link.address, client);
    }
    link.client = client;
    const metadata = new grpc.Metadata();
    metadata.set(NODE_METADATA, this.#options.self);
    if (this.#options.version !== undefined) {
      metadata.set(VERSION_METADATA, String(this.#options.version));
    }
    const call = (link.client as unknown as Record<string, (m: grpc.Metadata) => Duplex>)[method](
      metadata,
    );
    call.on("error", (error: { code?: number; details?: string }) => {
      // A refusal is a deployment mistake (two builds that cannot talk): say so loudly, once
      // per link until it comes up; anything else is a link going down, retried quietly.
      if (error?.code === grpc.status.FAILED_PRECONDITION && !link.refused) {
        link.refused = true;
        this.#options.log.error("link.refused", { peer: link.peer, details: error.details });
      } else this.#options.log.debug("link.error", { peer: link.peer, error });
    });
    this.#attach(link, call);
  }

  #attach(link: Link, stream: Duplex | ServerDuplex): void {
    link.stream = stream;
    link.blocked = false;
    stream.on("drain", () => {
      if (link.stream !== stream || !link.blocked) return;
      link.blocked = false;
      this.#options.log.info("link.drained", { peer: link.peer, queued: link.queue.length });
      this.#flush(link, stream);
    });
    this.#options.log.info("link.up", { peer: link.peer, dialer: link.dialer });
    stream.on("data", (message: { payload?: unknown }) => {
      const payload = message?.payload;
      if (!(payload instanceof Uint8Array)) return;
      link.refused = false;
      this.traffic.messagesIn++;
      this.traffic.bytesIn += payload.byteLength;
      this.#options.onPayload(payload, link.peer);
    });
    const lost = () => {
      if (link.stream !== stream) return;
      link.stream = undefined;
      this.#options.log.info("link.down", { peer: link.peer });
      if (link.dialer && !this.#closed && this.#links.get(link.peer) === link) {
        link.retry = setTimeout(() => {
          link.retry = undefined;
          if (this.#links.get(link.peer) === link && !link.stream) this.#dial(link);
        }, this.#options.retryMs ?? 500);
      }
    };
    stream.on("end", lost);
    stream.on("close", lost);
    stream.on("error", lost);
    // Flush what was queued while the link was down, in order.
    this.#flush(link, stream);
  }

  /**
   * Writes queued batches in order until the queue is empty or the stream is full. A finished
   * stream takes nothing: its batches wait for the next one (its end brings the link down).
   */
  #flush(link: Link, stream: Duplex | ServerDuplex): void {
    let n = 0;
    while (n < link.queue.length && !link.blocked && !stream.done) {
      if (!this.#write(stream, link.queue[n++].payload)) this.#block(link);
    }
    link.queue.splice(0, n);
  }

  /** The stream took the last write but is full: queue from now on until it drains. */
  #block(link: Link): void {
    link.blocked = true;
    this.#options.log.warn("link.blocked", { peer: link.peer, queued: link.queue.length });
  }

  /** Writes one payload; false when the stream's queue is full (wait for "drain"). */
  #write(stream: Duplex | ServerDuplex, payload: Uint8Array): boolean {
    this.traffic.messagesOut++;
    this.traffic.bytesOut += payload.byteLength;
    return stream.write({ payload });
  }

  #drop(link: Link, why: string): void {
    const stream = link.stream;
    if (!stream) return;
    link.stream = undefined;
    this.#options.log.debug("link.closed", { peer: link.peer, why });
    try {
      if ("cancel" in stream && link.dialer) (stream as Duplex).cancel();
      else stream.end();
    } catch (error) {
      this.#options.log.debug("link.close_error", { peer: link.peer, error });
    }
  }
}
