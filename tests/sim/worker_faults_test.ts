import assert from "node:assert/strict";
import { CodedError } from "../../src/errors.ts";
import { applyFault, type FaultTarget, readFault } from "../../src/sim/worker_faults.ts";

const post = (body: string) => new Request("http://w/api/faults", { method: "POST", body });

Deno.test("a fault body names an action, and a peer exactly for cut and heal", async () => {
  assert.deepEqual(await readFault(post('{"action":"kill"}')), { action: "kill" });
  assert.deepEqual(await readFault(post('{"action":"cut","peer":"w2"}')), {
    action: "cut",
    peer: "w2",
  });
  const bad: Array<[string, RegExp]> = [
    ["", /"action" must be one of kill, pause, resume, cut, heal, got undefined/],
    ['{"action":"explode"}', /got "explode"/],
    ['{"action":3}', /got 3/],
    ['{"action":"cut"}', /"peer" must be the id of another worker/],
    ['{"action":"heal","peer":""}', /"peer" must be/],
    ['{"action":"pause","peer":"w2"}', /"peer" is only for cut and heal/],
    ['{"action":"kill","signal":9}', /signal/],
    ["[1]", /expected a JSON object/],
    ["{", /not valid JSON/],
  ];
  for (const [body, message] of bad) {
    await assert.rejects(readFault(post(body)), (error: unknown) => {
      assert.ok(error instanceof CodedError, body);
      assert.equal(error.code, "BAD_REQUEST", body);
      assert.match(error.message, message, body);
      return true;
    });
  }
});

Deno.test("applying a fault calls the target; a kill comes after the 202 answer", async () => {
  const calls: string[] = [];
  const killed = Promise.withResolvers<void>();
  const target: FaultTarget = {
    id: "w1",
    pause: () => calls.push("pause"),
    resume: () => calls.push("resume"),
    cut: (peer) => calls.push(`cut ${peer}`),
    heal: (peer) => calls.push(`heal ${peer}`),
    kill: () => {
      calls.push("kill");
      killed.resolve();
    },
  };
  for (const fault of [{ action: "pause" }, { action: "resume" }] as const) {
    assert.equal(applyFault(fault, target).status, 202);
  }
  const cut = applyFault({ action: "cut", peer: "w2" }, target);
  assert.deepEqual(await cut.json(), { worker: "w1", action: "cut", peer: "w2" });
  applyFault({ action: "heal", peer: "w2" }, target);
  assert.throws(() => applyFault({ action: "cut", peer: "w1" }, target), /a link to itself/);
  const kill = applyFault({ action: "kill" }, target);
  assert.equal(kill.status, 202);
  assert.ok(!calls.includes("kill"), "not killed before the answer is out");
  await killed.promise;
  assert.deepEqual(calls, ["pause", "resume", "cut w2", "heal w2", "kill"]);
});
