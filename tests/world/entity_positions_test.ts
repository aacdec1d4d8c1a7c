import assert from "node:assert/strict";

const FIXTURE = new URL("./fixtures/slot_reuse.ts", import.meta.url).pathname;

Deno.test("a collected record's position slot is reused, never one of a live record", async () => {
  const output = await new Deno.Command(Deno.execPath(), {
    args: ["run", "--v8-flags=--expose-gc", "--allow-read", FIXTURE],
    stdout: "piped",
    stderr: "piped",
  }).output();
  const stderr = new TextDecoder().decode(output.stderr);
  assert.equal(output.code, 0, stderr);
  const result = JSON.parse(new TextDecoder().decode(output.stdout).trim().split("\n").at(-1)!);
  assert.ok(result.reused > 0, "slots of collected records were handed out again");
  assert.equal(result.clashes, 0, "no new record took the slot of a live one");
  assert.equal(result.keptIntact, true, "live records kept their positions");
  assert.equal(result.freshIntact, true, "new records hold what they were given");
  assert.equal(result.distinct, true, "every live record has a slot of its own");
});
