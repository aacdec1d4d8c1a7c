// Test helper: parses Prometheus text with a real parser (parse-prometheus-text-format, ported
// from the official Python client's parser; it throws on a malformed line) into typed families.
//
// That parser merges every series of a histogram into one and drops their labels, so histogram
// families are handed to it as untyped: each `_bucket`, `_sum` and `_count` line is then parsed
// with its labels, and the series are put back together here (checking count == +Inf bucket).
import parsePrometheusText from "parse-prometheus-text-format";

/** One sample of a counter or gauge, or one histogram series. */
export interface Sample {
  labels: Record<string, string>;
  value?: number;
  buckets?: Record<string, number>;
  count?: number;
  sum?: number;
}

/** One metric family: type (lower case, as in `# TYPE`), help and its samples. */
export interface Family {
  name: string;
  help: string;
  type: string;
  samples: Sample[];
}

interface Parsed {
  name: string;
  help: string;
  type: string;
  metrics: Array<{ labels?: Record<string, string>; value?: string }>;
}

const labelKey = (labels: Record<string, string>) =>
  JSON.stringify(Object.entries(labels).filter(([k]) => k !== "le").sort());

/** Parses Prometheus text format; throws on a malformed line or histogram. */
export function parseMetrics(text: string): Map<string, Family> {
  const histograms = new Set<string>();
  const helps = new Map<string, string>();
  const untyped = text.replace(/^# TYPE (\S+) histogram$/gm, (_line, name: string) => {
    histograms.add(name);
    return `# TYPE ${name} untyped`;
  });
  const parsed = parsePrometheusText(untyped) as Parsed[];
  const families = new Map<string, Family>();
  const rows = new Map<string, Parsed>();
  for (const p of parsed) {
    rows.set(p.name, p);
    helps.set(p.name, p.help);
  }
  for (const p of parsed) {
    const base = p.name.replace(/_(bucket|sum|count)$/, "");
    if (histograms.has(p.name) || (base !== p.name && histograms.has(base))) continue;
    families.set(p.name, {
      name: p.name,
      help: p.help,
      type: p.type.toLowerCase(),
      samples: p.metrics.map((m) => ({ labels: m.labels ?? {}, value: Number(m.value) })),
    });
  }
  for (const name of histograms) {
    const series = new Map<string, Sample>();
    const get = (labels: Record<string, string>) => {
      const key = labelKey(labels);
      let sample = series.get(key);
      if (!sample) {
        const { le: _le, ...rest } = labels;
        sample = { labels: rest, buckets: {} };
        series.set(key, sample);
      }
      return sample;
    };
    for (const m of rows.get(`${name}_bucket`)?.metrics ?? []) {
      const labels = m.labels ?? {};
      if (labels.le === undefined) throw new Error(`${name}_bucket without le`);
      get(labels).buckets![labels.le] = Number(m.value);
    }
    for (const m of rows.get(`${name}_sum`)?.metrics ?? []) {
      get(m.labels ?? {}).sum = Number(m.value);
    }
    for (const m of rows.get(`${name}_count`)?.metrics ?? []) {
      get(m.labels ?? {}).count = Number(m.value);
    }
    for (const s of series.values()) {
      if (s.count === undefined || s.buckets!["+Inf"] !== s.count) {
        throw new Error(`histogram ${name}${JSON.stringify(s.labels)}: count != +Inf bucket`);
      }
    }
    families.set(name, {
      name,
      help: helps.get(name) ?? "",
      type: "histogram",
      samples: [...series.values()],
    });
  }
  return families;
}

/** The samples of `name` whose labels include `labels`; throws if the family is missing. */
export function samples(
  families: Map<string, Family>,
  name: string,
  labels: Record<string, string> = {},
): Sample[] {
  const family = families.get(name);
  if (!family) throw new Error(`metric ${name} is missing`);
  return family.samples.filter((s) => Object.entries(labels).every(([k, v]) => s.labels[k] === v));
}

/** The value of the one sample of `name` with `labels`; throws unless exactly one matches. */
export function value(
  families: Map<string, Family>,
  name: string,
  labels: Record<string, string> = {},
): number {
  const found = samples(families, name, labels);
  if (found.length !== 1 || found[0].value === undefined) {
    throw new Error(`expected one ${name}${JSON.stringify(labels)}, found ${found.length}`);
  }
  return found[0].value;
}
