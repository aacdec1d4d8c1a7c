// What a set of links (src/sync/peer_links.ts) is configured with: who it is, what it does with
// payloads, which service it dials and who dials whom, its queue bound and payload version.
import type { Logger } from "../observe/log.ts";

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
   * Every side dials every peer and writes only on the stream the peer dialed, so payloads
   * always travel on a response body: what a dialer writes on its request body leaves the
   * process only when the HTTP/2 connection next reads from the other side (Deno's fetch), which
   * delays it by up to the peer's next write (bench/stream_latency.ts). Worker links use it.
   */
  sendOnAccepted?: boolean;
  /**
   * Version of the payloads these links carry (worker links: BATCH_VERSION). A dialer names it
   * in {@linkcode VERSION_METADATA}; an acceptor refuses a dialer of another version (or none)
   * with FAILED_PRECONDITION, so two builds that cannot read each other's batches never link.
   */
  version?: number;
}
