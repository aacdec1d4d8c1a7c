// deploy/grafana/zonescaler.json against a running node: every series its queries reference is
// on the /metrics of a real `--role=all` process (the coordinator's and its workers'), with
// every label its queries group by, and every panel is a well-formed Prometheus time series.
import assert from "node:assert/strict";
import { parseMetrics } from "../../testing/prometheus_text.ts";
import { getJson, NodeProcess, until, writeTestConfig } from "../../testing/node_process.ts";

const DASHBOARD = new URL("../../deploy/grafana/zonescaler.json", import.meta.url);

interface Panel {
  title: string;
  type: string;
  datasource: { type: string };
  targets: Array<{ expr: string; refId: string }>;
}

/** The metric families a PromQL expression reads (histogram series by their family name). */
function seriesOf(expr: string): string[] {
  const names = expr.match(/\b(?:zs|process|nodejs)_[a-z_]+\b/g) ?? [];
  return names.map((n) => n.replace(/_(bucket|sum|count)$/, ""));
}

/** Labels an expression groups by: `by (a, b)`. */
function groupLabels(expr: string): string[] {
  return [...expr.matchAll(/by \(([^)]*)\)/g)].flatMap((m) => m[1].split(",").map((l) => l.trim()));
}

Deno.test("every series the Grafana dashboard queries exists on a running node", async () => {
  const dashboard = JSON.parse(await Deno.readTextFile(DASHBOARD));
  const panels = dashboard.panels as Panel[];
  assert.ok(panels.length >= 10, `${panels.length} panels`);
  for (const panel of panels) {
    assert.equal(panel.type, "timeseries", panel.title);
    assert.equal(panel.datasource.type, "prometheus", panel.title);
    assert.ok(panel.targets.length > 0 && panel.targets.every((t) => seriesOf(t.expr).length > 0));
  }

  const config = writeTestConfig({ role: "all", workers: 2 });
  const node = new NodeProcess("all", ["--config", config, "--port", "0", "--grpc-port", "0"]);
  try {
    const ready = await node.waitFor("all.ready");
    const api = `http://127.0.0.1:${ready.port}`;
    const state = await until("both workers to own entities", async () => {
      const s = await getJson<{ workers: Array<{ httpAddress: string; entities: number }> }>(
        `${api}/api/state`,
      );
      return s.workers.length === 2 && s.workers.every((w) => w.entities > 0) ? s : undefined;
    });
    // One refused request, so the error counter has a series as it would in production.
    const refused = await fetch(`${api}/api/workers/w1/drain`, { method: "POST" });
    assert.equal(refused.status, 401);
    await refused.body?.cancel();
    const scrape = async (url: string) => parseMetrics(await (await fetch(url)).text());
    // The gateway reports its sessions from its first heartbeat on.
    await until(
      "the gateway's first heartbeat",
      async () =>
        ((await scrape(`${api}/metrics`)).get("zs_sessions")?.samples.length ?? 0) > 0 || undefined,
    );
    const families = [
      await scrape(`${api}/metrics`),
      ...await Promise.all(state.workers.map((w) => scrape(`http://${w.httpAddress}/metrics`))),
    ];
    for (const panel of panels) {
      for (const { expr } of panel.targets) {
        for (const name of seriesOf(expr)) {
          const found = families.map((f) => f.get(name)).filter((f) => f !== undefined);
          assert.ok(found.length > 0, `${panel.title}: ${name} is on no node's /metrics`);
          const labels = new Set(
            found.flatMap((f) => f!.samples.flatMap((s) => Object.keys(s.labels))),
          );
          // `instance` and `job` are added by Prometheus when it scrapes; `le` is the histogram's.
          const own = groupLabels(expr).filter((l) => !["le", "instance", "job"].includes(l));
          for (const label of own) {
            assert.ok(labels.has(label), `${panel.title}: ${name} has no label ${label}`);
          }
        }
      }
    }
  } finally {
    await node.kill();
    Deno.removeSync(config);
  }
});
