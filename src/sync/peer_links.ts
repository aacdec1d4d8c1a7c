// Links between nodes over gRPC bidi streams: one per pair of workers (Peer.Sync) or per worker
// a gateway attaches to (Sessions.Attach), reconnecting while the peer is in the map. Workers
// dial each other and write only on the stream the peer dialed (see sendOnAccepted). Outbound
// payloads queue in order while a link is down or its peer is not reading (back-pressure), and
// only droppable ones are ever dropped. Channels to a peer that left are kept (idle), not closed:
// closing one sends GOAWAY, which can abort the peer under Deno 2.9 (denoland/deno#36788).
import { type TrafficCounts, trafficCounts } from "../observe/metrics.ts";
import { type CloseOptions, grpc, rpcClient, type WorkerInfo } from "../net/rpc.ts";
import type { PeerLinksOptions } from "./peer_link_options.ts";

export type { PeerLinksOptions } from "./peer_link_options.ts";

/** Metadata key naming the dialing worker on a Sync stream. */
export const NODE_METADATA = "zs-node";
/** Metadata key carrying the version of the payloads the dialer sends and reads. */
export const VERSION_METADATA = "zs-version";

/**
 * Why a dialer's payload version (its {@linkcode VERSION_METADATA}) cannot be read here, or
 * undefined when it is `version`; the details of a FAILED_PRECONDITION refusal.
 */
export function versionMismatch(
  metadata: grpc.Metadata,
  version: number,
  peer: string,
  self: string,
): string | undefined {
  const theirs = metadata.get(VERSION_METADATA)[0];
  if (theirs === String(version)) return undefined;
  return `${peer} sends payload version ${
    typeof theirs === "string" ? theirs : "(none)"
  }; ${self} reads version ${version} only`;
}

type Duplex = grpc.ClientDuplexStream<{ payload: Uint8Array }, { payload: Uint8Array }>;
type ServerDuplex = grpc.ServerDuplexStream<{ payload: Uint8Array }, { payload: Uint8Array }>;

interface Link {
  peer: string;
  address: string;
  /** The stream batches to the peer are written on. */
  stream?: Duplex | ServerDuplex;
  /** With `sendOnAccepted`: the stream this side dialed, read only (the peer's batches). */
  inbound?: Duplex;
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
        // A link made by a send or an accept before the map named the peer has no address yet.
        if (link.address) this.#drop(link, "address changed");
        link.address = w.grpcAddress;
      }
      if (this.#needsDial(link)) this.#dial(link);
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
    if (link && this.#needsDial(link)) this.#dial(link);
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
    const details = version === undefined
      ? undefined
      : versionMismatch(call.metadata, version, peer, this.#options.self);
    if (details) {
      this.#options.log.error("link.refused", { peer, details });
      call.emit("error", { code: grpc.status.FAILED_PRECONDITION, details });
      return;
    }
    let link = this.#links.get(peer);
    if (!link) {
      // Known only from its dial so far: with sendOnAccepted this side dials it back.
      link = { peer, address: "", queue: [], dialer: this.#options.sendOnAccepted === true };
      this.#links.set(peer, link);
    }
    if (link.stream && link.stream !== call) this.#dropStream(link, "replaced by a new stream");
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
    if (this.#options.sendOnAccepted) return true;
    return this.#options.dials ? this.#options.dials(self, peer) : self < peer;
  }

  /** Whether this side should dial the link now (it dials, has no dialed stream, no retry due). */
  #needsDial(link: Link): boolean {
    const dialed = this.#options.sendOnAccepted ? link.inbound : link.stream;
    return link.dialer && !dialed && link.retry === undefined;
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
    if (this.#options.sendOnAccepted) this.#attachInbound(link, call);
    else this.#attach(link, call);
  }

  /** A dialed stream that only reads (sendOnAccepted): the peer's batches come on it. */
  #attachInbound(link: Link, stream: Duplex): void {
    link.inbound = stream;
    this.#options.log.info("link.inbound_up", { peer: link.peer });
    this.#read(link, stream);
    const lost = () => {
      if (link.inbound !== stream) return;
      link.inbound = undefined;
      this.#options.log.info("link.inbound_down", { peer: link.peer });
      this.#retry(link);
    };
    stream.on("end", lost);
    stream.on("close", lost);
    stream.on("error", lost);
  }

  /** Reads payloads from a stream of `link` (either one). */
  #read(link: Link, stream: Duplex | ServerDuplex): void {
    stream.on("data", (message: { payload?: unknown }) => {
      const payload = message?.payload;
      if (!(payload instanceof Uint8Array)) return;
      link.refused = false;
      this.traffic.messagesIn++;
      this.traffic.bytesIn += payload.byteLength;
      this.#options.onPayload(payload, link.peer);
    });
  }

  /** Dials the link again after a pause, while its peer is in the map. */
  #retry(link: Link): void {
    if (!link.dialer || this.#closed || this.#links.get(link.peer) !== link) return;
    link.retry = setTimeout(() => {
      link.retry = undefined;
      if (this.#links.get(link.peer) === link && this.#needsDial(link)) this.#dial(link);
    }, this.#options.retryMs ?? 500);
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
    this.#read(link, stream);
    const lost = () => {
      if (link.stream !== stream) return;
      link.stream = undefined;
      this.#options.log.info("link.down", { peer: link.peer });
      // The dialer redials its own stream; an accepted one comes back when the peer redials.
      if (!this.#options.sendOnAccepted) this.#retry(link);
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

  /** Ends both of the link's streams (the one written and, with sendOnAccepted, the dialed one). */
  #drop(link: Link, why: string): void {
    const inbound = link.inbound;
    if (inbound) {
      link.inbound = undefined;
      try {
        inbound.cancel();
      } catch (error) {
        this.#options.log.debug("link.close_error", { peer: link.peer, error });
      }
    }
    this.#dropStream(link, why);
  }

  /** Ends the stream batches are written on: a dialed one is cancelled, an accepted one ended. */
  #dropStream(link: Link, why: string): void {
    const stream = link.stream;
    if (!stream) return;
    link.stream = undefined;
    this.#options.log.debug("link.closed", { peer: link.peer, why });
    try {
      const dialed = link.dialer && !this.#options.sendOnAccepted;
      if (dialed) (stream as Duplex).cancel();
      else stream.end();
    } catch (error) {
      this.#options.log.debug("link.close_error", { peer: link.peer, error });
    }
  }
}
