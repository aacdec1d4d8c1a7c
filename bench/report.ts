// Benchmark reports on disk and as text: JSON files in the results directory, Markdown tables
// for the terminal, and the generated part of docs/benchmarks.md (between two markers, so the
// hand-written introduction and analysis around it survive regeneration).
import { bool, num, object, str } from "./json_fields.ts";
import { type Machine, machineLine } from "./machine.ts";
import type { Report, Scenario, Table } from "./scenario.ts";

import { GENERATED_END, GENERATED_START } from "../testing/bench_docs.ts";

/** File name of a scenario's report; quick runs never overwrite a full run's numbers. */
export function reportFile(scenario: string, quick: boolean): string {
  return quick ? `${scenario}.quick.json` : `${scenario}.json`;
}

/** Writes a report as pretty JSON into `dir` and returns its path. */
export function writeReport(dir: string, report: Report): string {
  Deno.mkdirSync(dir, { recursive: true });
  const path = `${dir}/${reportFile(report.scenario, report.quick)}`;
  Deno.writeTextFileSync(path, JSON.stringify(report, null, 2) + "\n");
  return path;
}

/** Reads and checks a stored report. */
export function parseReport(text: string, where: string): Report {
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (error) {
    throw new SyntaxError(`Cannot read ${where}: not JSON (${(error as Error).message})`);
  }
  const r = object(raw, where);
  const m = object(r.machine, `${where} machine`);
  const machine: Machine = {
    cpuModel: str(m, "cpuModel"),
    cores: num(m, "cores"),
    memoryMb: num(m, "memoryMb"),
    os: str(m, "os"),
    deno: str(m, "deno"),
    v8: str(m, "v8"),
    commit: str(m, "commit"),
    dirty: bool(m, "dirty"),
  };
  return {
    scenario: str(r, "scenario"),
    title: str(r, "title"),
    target: str(r, "target"),
    quick: bool(r, "quick"),
    machine,
    command: str(r, "command"),
    timestamp: str(r, "timestamp"),
    durationS: num(r, "durationS"),
    loadAverage: Array.isArray(r.loadAverage)
      ? r.loadAverage.filter((v): v is number => typeof v === "number")
      : [],
    parameters: object(r.parameters, `${where} parameters`),
    results: object(r.results, `${where} results`),
    ...(typeof r.error === "string" ? { error: r.error } : {}),
  };
}

/** The report to show for a scenario: the full run if there is one, else the quick run. */
export function loadReport(dir: string, scenario: string): Report | undefined {
  for (const quick of [false, true]) {
    const path = `${dir}/${reportFile(scenario, quick)}`;
    let text: string;
    try {
      text = Deno.readTextFileSync(path);
    } catch (error) {
      if (error instanceof Deno.errors.NotFound) continue;
      throw error;
    }
    return parseReport(text, path);
  }
  return undefined;
}

/** A Markdown table with padded columns (readable in a terminal as well). */
export function markdownTable(table: Table): string {
  const widths = table.columns.map((c, i) =>
    Math.max(c.length, ...table.rows.map((r) => (r[i] ?? "").length), 3)
  );
  const line = (cells: string[]) =>
    `| ${
      cells.map((c, i) => (i === 0 ? c.padEnd(widths[i]) : c.padStart(widths[i]))).join(" | ")
    } |`;
  const rule = `|${
    widths.map((w, i) => (i === 0 ? ` ${"-".repeat(w)} ` : ` ${"-".repeat(w - 1)}: `)).join("|")
  }|`;
  return [line(table.columns), rule, ...table.rows.map(line)].join("\n");
}

/** One scenario's section: heading, target, provenance, table, summary. */
export function renderSection(scenario: Scenario, report: Report): string {
  const lines = [`### ${scenario.name}: ${scenario.title}`, ""];
  lines.push(`Target: ${scenario.target}.`, "");
  lines.push(
    `Measured ${report.timestamp.slice(0, 16).replace("T", " ")} UTC on ${
      machineLine(report.machine)
    }; \`${report.command}\`${
      report.quick ? " (**quick mode**: smoke test, not a result)" : ""
    }; ` +
      `took ${Math.round(report.durationS)} s.`,
  );
  if (report.machine.cores <= 2) {
    lines.push(
      "",
      `Only ${report.machine.cores} cores: the coordinator, every worker and the harness share them.`,
    );
  }
  if (report.loadAverage.length > 0) {
    lines.push("", `Load average when the run started: ${report.loadAverage.join(", ")}.`);
  }
  lines.push("");
  if (report.error) lines.push(`**The run failed:** ${report.error}`, "");
  try {
    const { table, summary } = scenario.render(report.results);
    if (table.rows.length > 0) lines.push(markdownTable(table), "");
    for (const s of summary) lines.push(`- ${s}`);
  } catch (error) {
    lines.push(`(cannot render the stored results: ${(error as Error).message})`);
  }
  return lines.join("\n");
}

/** The generated section for every scenario that has a report in `dir`. */
export function generatedSection(scenarios: readonly Scenario[], dir: string): string {
  const sections: string[] = [];
  for (const scenario of scenarios) {
    const report = loadReport(dir, scenario.name);
    if (report) sections.push(renderSection(scenario, report));
    else sections.push(`### ${scenario.name}: ${scenario.title}\n\nNot run yet.`);
  }
  return sections.join("\n\n");
}

const SKELETON = `# Benchmarks

Results of \`npm run bench\`. Everything between the two markers below is regenerated from
the JSON files in bench/results/ by \`npm run bench -- --report\`; the rest is written by hand.

`;

/**
 * Replaces the generated section of the Markdown file at `path` (created when missing; the
 * markers are appended when absent), keeping everything outside the markers.
 */
export function updateDocs(path: string, generated: string): void {
  let text: string;
  try {
    text = Deno.readTextFileSync(path);
  } catch (error) {
    if (!(error instanceof Deno.errors.NotFound)) throw error;
    text = SKELETON;
  }
  const block = `${GENERATED_START}\n\n${generated}\n\n${GENERATED_END}`;
  const start = text.indexOf(GENERATED_START);
  const end = text.indexOf(GENERATED_END);
  if (start >= 0 && end > start) {
    text = text.slice(0, start) + block + text.slice(end + GENERATED_END.length);
  } else {
    text = `${text.trimEnd()}\n\n${block}\n`;
  }
  Deno.writeTextFileSync(path, text);
}
