// Tick durations over a measurement window, from two scrapes of a worker's
// `zs_tick_duration_seconds` histogram: the difference holds exactly the ticks run in between.
//
// The worker's own ring (p50/p99 in /api/state) covers its last 1024 ticks, 51 s at 20 Hz,
// which would mix warm-up into a 15 s window; the histogram does not. Its buckets are coarse
// (0.1 … 50 ms), so percentiles are interpolated inside a bucket, but the share of ticks over
// 20 ms is exact because 20 ms is a bucket bound.
import { parseMetrics } from "../testing/prometheus_text.ts";
import { round } from "./stats.ts";
import { array, cell, num, object } from "./json_fields.ts";
import { TICK_PHASES } from "../src/observe/tick_phases.ts";

/** The p99 budget of every target (one tick at 20 Hz is 50 ms; the targets ask for 20). */
export const TICK_BUDGET_MS = 20;

/** One scrape of a worker's tick histogram. */
export interface TickHistogram {
  /** Finite upper bounds in ms, ascending. */
  boundsMs: number[];
  /** Cumulative counts per finite bound. */
  cumulative: number[];
  count: number;
  sumMs: number;
  /**
   * Milliseconds of ticks by phase (`zs_tick_phase_seconds_total`), summed since the worker
   * started; absent from a worker that does not export it.
   */
  phasesMs?: Record<string, number>;
}

/** Tick statistics over a window. */
export interface TickWindow {
  ticks: number;
  ticksPerS: number;
  meanMs: number;
  /** Interpolated within a bucket; null when beyond the last finite bound. */
  p50Ms: number | null;
  p99Ms: number | null;
  /** Share of ticks longer than {@linkcode TICK_BUDGET_MS}, in percent (exact). */
  over20MsPct: number;
  /** The last finite bucket bound (quantiles past it are reported as null). */
  maxBoundMs: number;
  /** Mean ms per tick in each phase (src/observe/tick_phases.ts), when both scrapes had them. */
  phaseMeanMs?: Record<string, number>;
}

/** Reads the tick histogram of worker `node` from a /metrics text. */
export function tickHistogramOf(text: string, node: string): TickHistogram {
  const families = parseMetrics(text);
  const family = families.get("zs_tick_duration_seconds");
  const sample = family?.samples.find((s) => s.labels.node === node && s.labels.role === "worker");
  if (!sample?.buckets || sample.count === undefined || sample.sum === undefined) {
    throw new TypeError(`Cannot read ticks: no zs_tick_duration_seconds series for ${node}`);
  }
  const bounds = Object.entries(sample.buckets)
    .filter(([le]) => le !== "+Inf")
    .map(([le, n]) => ({ ms: round(Number(le) * 1000, 6), n }))
    .sort((a, b) => a.ms - b.ms);
  const phases = families.get("zs_tick_phase_seconds_total")?.samples.filter((s) =>
    s.labels.node === node && s.labels.role === "worker"
  );
  return {
    boundsMs: bounds.map((b) => b.ms),
    cumulative: bounds.map((b) => b.n),
    count: sample.count,
    sumMs: sample.sum * 1000,
    ...(phases?.length
      ? { phasesMs: Object.fromEntries(phases.map((s) => [s.labels.phase, (s.value ?? 0) * 1000])) }
      : {}),
  };
}

/**
 * Scrapes a worker's /metrics. An overloaded worker runs up to five late ticks back to back
 * before it serves HTTP again, so the answer may take seconds.
 */
export async function scrapeTicks(
  httpAddress: string,
  node: string,
  timeoutMs = 30_000,
): Promise<TickHistogram> {
  const url = `http://${httpAddress}/metrics`;
  let response: Response;
  try {
    response = await fetch(url, { signal: AbortSignal.timeout(timeoutMs) });
  } catch (error) {
    throw new Error(`Cannot scrape ${node}: GET ${url} failed (${(error as Error).message})`, {
      cause: error,
    });
  }
  if (!response.ok) {
    await response.body?.cancel();
    throw new Error(`Cannot scrape ${node}: GET ${url} answered ${response.status}`);
  }
  return tickHistogramOf(await response.text(), node);
}

/**
 * The q-quantile of a cumulative histogram, linear within its bucket (as Prometheus'
 * histogram_quantile); null when it lies beyond the last finite bound.
 */
export function histogramQuantile(
  q: number,
  boundsMs: readonly number[],
  cumulative: readonly number[],
  count: number,
): number | null {
  if (count === 0) return 0;
  const rank = q * count;
  let lower = 0, below = 0;
  for (let i = 0; i < boundsMs.length; i++) {
    if (cumulative[i] >= rank) {
      const inBucket = cumulative[i] - below;
      const fraction = inBucket > 0 ? (rank - below) / inBucket : 1;
      return lower + (boundsMs[i] - lower) * fraction;
    }
    lower = boundsMs[i];
    below = cumulative[i];
  }
  return null;
}

/** Tick statistics of the ticks run between two scrapes taken `seconds` apart. */
export function tickWindow(
  before: TickHistogram,
  after: TickHistogram,
  seconds: number,
): TickWindow {
  if (before.boundsMs.join() !== after.boundsMs.join()) {
    throw new RangeError("Cannot compare tick histograms with different buckets");
  }
  const budget = after.boundsMs.indexOf(TICK_BUDGET_MS);
  if (budget < 0) {
    throw new RangeError(`Cannot judge ticks: ${TICK_BUDGET_MS} ms is not a histogram bound`);
  }
  const cumulative = after.cumulative.map((n, i) => n - before.cumulative[i]);
  const ticks = after.count - before.count;
  const quantile = (q: number) => {
    const v = histogramQuantile(q, after.boundsMs, cumulative, ticks);
    return v === null ? null : round(v, 2);
  };
  const window: TickWindow = {
    ticks,
    ticksPerS: round(ticks / seconds, 1),
    meanMs: round(ticks > 0 ? (after.sumMs - before.sumMs) / ticks : 0, 2),
    p50Ms: quantile(0.5),
    p99Ms: quantile(0.99),
    over20MsPct: round(ticks > 0 ? ((ticks - cumulative[budget]) / ticks) * 100 : 0, 2),
    maxBoundMs: after.boundsMs[after.boundsMs.length - 1],
  };
  const was = before.phasesMs, is = after.phasesMs;
  if (was && is && ticks > 0) {
    window.phaseMeanMs = Object.fromEntries(
      Object.entries(is).map(([phase, ms]) => [phase, round((ms - (was[phase] ?? 0)) / ticks, 3)]),
    );
  }
  return window;
}

/**
 * Where each worker's mean tick went, by phase (zs_tick_phase_seconds_total over the window);
 * undefined for a row from before the phases were exported or with a worker not read.
 */
export function phaseLine(label: string, window: Record<string, unknown>): string | undefined {
  const parts: string[] = [];
  for (const w of array(window.workers, "window.workers").map((w) => object(w, "worker"))) {
    if (w.tick === null) return undefined;
    const tick = object(w.tick, "worker.tick");
    if (tick.phaseMeanMs === undefined) return undefined;
    const means = object(tick.phaseMeanMs, "worker.tick.phaseMeanMs");
    const each = TICK_PHASES.map((phase) => `${phase} ${cell(num(means, phase), 2)}`);
    parts.push(`${String(w.id)} (mean ${cell(num(tick, "meanMs"), 2)}): ${each.join(", ")}`);
  }
  return `Mean ms per tick by phase at ${label}: ${parts.join("; ")}.`;
}
