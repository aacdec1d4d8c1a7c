// The suite's lanes (testing/run_tests.ts): every integration test runs in exactly one lane,
// and the light lane names only files that exist (a renamed file would silently move).
import assert from "node:assert/strict";
import { LIGHT, suiteStages } from "../testing/run_tests.ts";

Deno.test("every integration test file runs in exactly one lane; LIGHT names existing files", () => {
  const files = [...Deno.readDirSync("tests/integration")]
    .filter((e) => e.isFile && e.name.endsWith("_test.ts"))
    .map((e) => e.name);
  for (const name of LIGHT) assert.ok(files.includes(name), `${name} is in tests/integration`);
  const lanes = suiteStages(files).flat().filter((l) => l.name !== "unit");
  const ran = lanes.flatMap((l) => l.args.filter((a) => a.startsWith("tests/integration/")));
  assert.deepEqual(ran.sort(), files.map((f) => `tests/integration/${f}`).sort());
  assert.equal(new Set(ran).size, ran.length, "no file in two lanes");
});
