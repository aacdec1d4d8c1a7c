// The coordinator's /api/instances (src/cluster/instances_api.ts): pages of every live
// instance, private ones too, with mode, seats, worker, owner and age; filters by the indexed
// fields; every bad parameter is 400 with its code and nothing changes in the directory.
import assert from "node:assert/strict";
import { InstanceDirectory } from "../../src/cluster/instance_directory.ts";
import { DEFAULT_INSTANCES_PAGE, instancesResponse } from "../../src/cluster/instances_api.ts";

interface Row {
  id: string;
  mode: string;
  players: number;
  maxPlayers: number;
  users: string[];
  worker: string;
  owner: string;
  private: boolean;
  tags: string[];
  version: string;
  createdAt: number;
  ageMs: number;
  emptyMs: number;
}
interface Page {
  total: number;
  users: number;
  instances: Row[];
  next?: string;
}

function directory() {
  let t = 1_000;
  const d = new InstanceDirectory({ emptyGraceMs: 60_000, now: () => t });
  for (let n = 0; n < 120; n++) {
    const r = d.create({
      mode: n % 3 === 0 ? "duel" : "arena",
      options: {},
      maxPlayers: 2,
      private: n % 10 === 0,
      tags: n % 2 === 0 ? ["eu"] : ["us"],
      version: "1",
      worker: n % 4 === 0 ? "w1" : "w2",
      owner: `u${n}`,
    });
    if (n % 5 !== 4) d.reserve(r.id, `u${n}`, "g1");
    if (n % 6 === 0) d.reserve(r.id, `v${n}`, "g1");
    t += 10;
  }
  return { d, now: t };
}

async function get(d: InstanceDirectory, query: string, now: number): Promise<[number, unknown]> {
  const response = instancesResponse(d, new URL(`http://h/api/instances${query}`), now);
  return [response.status, await response.json()];
}

Deno.test("pages of every instance, private ones too, with seats, worker, owner and age", async () => {
  const { d, now } = directory();
  const seen: Row[] = [];
  let query = "?limit=40";
  for (let pages = 0; pages < 10; pages++) {
    const [status, body] = await get(d, query, now);
    assert.equal(status, 200);
    const page = body as Page;
    assert.equal(page.total, 120);
    assert.equal(page.users, d.users);
    seen.push(...page.instances);
    if (!page.next) break;
    query = `?limit=40&after=${page.next}`;
  }
  assert.deepEqual(seen.map((r) => r.id), [...d.all()].map((r) => r.id), "each once, in order");
  assert.equal(seen.filter((r) => r.private).length, 12, "private instances are listed");
  const first = seen[0];
  assert.deepEqual(first, {
    id: "i1",
    mode: "duel",
    players: 2,
    maxPlayers: 2,
    users: ["u0", "v0"],
    worker: "w1",
    region: "",
    moves: 0,
    owner: "u0",
    private: true,
    tags: ["eu"],
    version: "1",
    createdAt: 1_000,
    ageMs: now - 1_000,
    emptyMs: 0,
  });
  const empty = seen[4]; // n = 4: nobody took a seat
  assert.equal(empty.players, 0);
  assert.equal(empty.emptyMs, now - empty.createdAt);
  const [, defaults] = await get(d, "", now);
  assert.equal((defaults as Page).instances.length, DEFAULT_INSTANCES_PAGE);
});

Deno.test("filters match a brute-force filter of the directory", async () => {
  const { d, now } = directory();
  const all = [...d.all()];
  const cases: Array<[string, (r: (typeof all)[number]) => boolean]> = [
    ["?mode=duel", (r) => r.mode === "duel"],
    ["?worker=w1&tags=eu", (r) => r.worker === "w1" && r.tags.includes("eu")],
    ["?open=true", (r) => r.players.size < r.maxPlayers],
    ["?open=false&mode=duel", (r) => r.players.size >= r.maxPlayers && r.mode === "duel"],
    ["?private=true", (r) => r.private],
    ["?private=false&worker=w2", (r) => !r.private && r.worker === "w2"],
    ["?version=2", () => false],
    ["?mode=nothing", () => false],
  ];
  for (const [query, keep] of cases) {
    const [status, body] = await get(d, `${query}&limit=100`, now);
    assert.equal(status, 200, query);
    const want = all.filter(keep).slice(0, 100).map((r) => r.id);
    assert.deepEqual((body as Page).instances.map((r) => r.id), want, query);
  }
});

Deno.test("every bad parameter is 400 BAD_REQUEST naming it; nothing changes", async () => {
  const { d, now } = directory();
  const before = [...d.all()].map((r) => [r.id, r.players.size]);
  const cases: Array<[string, RegExp]> = [
    ["?limit=0", /limit must be an integer from 1 to 100, got "0"/],
    ["?limit=101", /limit must be an integer from 1 to 100/],
    ["?limit=ten", /limit must be an integer/],
    ["?open=yes", /open must be one of true, false, got "yes"/],
    ["?private=1", /private must be one of true, false/],
    ["?after=zzz", /Bad paging cursor "zzz"/],
    ["?mode=", /mode must be 1 to 64 characters, got 0/],
    [`?worker=${"w".repeat(65)}`, /worker must be 1 to 64 characters, got 65/],
    ["?tags=a,,b", /tags must be 1 to 8 comma-separated tags/],
    ["?tags=1,2,3,4,5,6,7,8,9", /tags must be 1 to 8 comma-separated tags/],
    ["?mode=duel&mode=arena", /Query parameter mode is given more than once/],
    ["?sort=age", /Unknown query parameter "sort" on \/api\/instances; known: mode/],
  ];
  for (const [query, message] of cases) {
    const [status, body] = await get(d, query, now);
    assert.equal(status, 400, query);
    const error = (body as { error: { code: string; message: string } }).error;
    assert.equal(error.code, "BAD_REQUEST", query);
    assert.match(error.message, message, query);
  }
  assert.deepEqual([...d.all()].map((r) => [r.id, r.players.size]), before);
});

Deno.test("the answer has exactly the fields docs/api.md documents", async () => {
  const doc = await Deno.readTextFile(new URL("../../docs/api.md", import.meta.url));
  const start = doc.indexOf("## `GET /api/instances`");
  const section = doc.slice(start, doc.indexOf("\n## ", start));
  const documented = [
    ...section.matchAll(/^\| `([a-zA-Z.[\]]+)` \| (?:integer|string|array|boolean) \|/gm),
  ]
    .map((m) => m[1]);
  const paramTable = section.slice(0, section.indexOf("Each parameter at most once"));
  const params = [...paramTable.matchAll(/^\| `([a-z]+)` +\|/gm)].map((m) => m[1]);
  const { d, now } = directory();
  const [, body] = await get(d, "?limit=2", now);
  const page = body as Page & Record<string, unknown>;
  const fields = [
    ...Object.keys(page),
    ...Object.keys(page.instances[0]).map((k) => `instances[].${k}`),
  ];
  assert.deepEqual(fields.sort(), documented.sort());
  assert.deepEqual(params.sort(), [
    "after",
    "limit",
    "mode",
    "open",
    "private",
    "region",
    "tags",
    "version",
    "worker",
  ]);
});
