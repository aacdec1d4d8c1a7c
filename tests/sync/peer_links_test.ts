import assert from "node:assert/strict";
import { PeerLinks } from "../../src/sync/peer_links.ts";
import { Logger } from "../../src/observe/log.ts";

const log = new Logger({ role: "test", node: "a", level: "error" });

Deno.test("a full queue drops ghost-only batches, never those carrying handoffs or mirrors", () => {
  const links = new PeerLinks({ self: "a", secret: "", log, onPayload: () => {}, maxQueue: 10 });
  try {
    // "b" is not connected: everything queues, in order.
    for (let n = 0; n < 30; n++) links.send("b", new Uint8Array([n]), n % 2 === 0);
    assert.equal(links.dropped, 15, "every droppable batch beyond the bound went");
    assert.equal(links.queued("b"), 15, "all 15 batches that must be kept are still queued");
    for (let n = 0; n < 5; n++) links.send("b", new Uint8Array([n]), true);
    assert.equal(links.queued("b"), 20, "kept batches may exceed the bound; none is lost");
    links.discardQueued();
    assert.equal(links.queued("b"), 0);
  } finally {
    links.close();
  }
});
