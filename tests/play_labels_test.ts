// The /play page's entity labels (static/play/world_canvas.js); its DIFF handling is the SDK's
// ClientWorld, tested in tests/client/client_world_test.ts.
import assert from "node:assert/strict";
import { labelOf } from "../static/play/world_canvas.js";

Deno.test("players are labelled by name, or by id without one", () => {
  assert.equal(labelOf({ id: 4, data: { name: "Bo" } }), "Bo");
  assert.equal(labelOf({ id: 4, data: undefined }), "#4");
});
