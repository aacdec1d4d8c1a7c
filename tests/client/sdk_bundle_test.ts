// static/play/sdk.js is the browser build of the client SDK that /play imports: committed, so the
// page needs no build step, and checked here against a fresh bundle of src/client/sdk.ts.
import assert from "node:assert/strict";
import { bundleSdk, SDK_BUNDLE } from "../../scripts/build_sdk.ts";

Deno.test("the committed browser SDK (static/play/sdk.js) is a fresh bundle of src/client/sdk.ts", async () => {
  const fresh = await bundleSdk();
  const committed = await Deno.readTextFile(SDK_BUNDLE);
  assert.ok(
    committed === fresh,
    "static/play/sdk.js is stale: run `npm run build:sdk` and commit the result",
  );
  // The browser copy carries the whole protocol, msgpack included, and imports nothing.
  assert.doesNotMatch(fresh, /^import /m);
  assert.match(fresh, /node_modules\/msgpackr\/unpack\.js/);
  assert.match(fresh, /export \{[^}]*\bGameClient\b/);
});
