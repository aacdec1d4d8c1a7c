// The benchmark scenario contract: what a scenario is given (mode, deadline, cleanup) and what
// it hands back (parameters, results, a table), so new scenarios slot into the registry.
import type { Machine } from "./machine.ts";

/** A rendered table: header cells and rows of already formatted cells. */
export interface Table {
  columns: string[];
  rows: string[][];
}

/** What a scenario's run produces; stored under `parameters` and `results` of its report. */
export interface ScenarioOutput {
  parameters: Record<string, unknown>;
  results: Record<string, unknown>;
}

/** One JSON file in bench/results/: a scenario run with the machine and command it ran with. */
export interface Report {
  scenario: string;
  title: string;
  target: string;
  quick: boolean;
  machine: Machine;
  command: string;
  timestamp: string;
  durationS: number;
  /** /proc/loadavg (1, 5, 15 minutes) when the run started: other load skews results. */
  loadAverage: number[];
  parameters: Record<string, unknown>;
  results: Record<string, unknown>;
  /** Set when the run failed or ran out of time; results then hold what was measured. */
  error?: string;
}

/** A benchmark scenario as listed in the registry (bench/scenarios.ts). */
export interface Scenario {
  /** Command-line name and results file name, e.g. "worker-tick". */
  name: string;
  title: string;
  /** The target from SPEC.md this scenario checks, in one line. */
  target: string;
  /** Upper bound on one run; the runner aborts and cleans up after it. */
  budgetMs(quick: boolean): number;
  run(context: ScenarioContext): Promise<ScenarioOutput>;
  /** Renders a stored report's results (read back from JSON: validate, do not trust). */
  render(results: unknown): { table: Table; summary: string[] };
}

/** Something a scenario started and the runner must be able to stop. */
export interface Closable {
  close(): Promise<void>;
}

/**
 * What a running scenario gets: the mode, an abort signal for its deadline, progress output,
 * and an owner for every process it starts so the runner can stop them even after a failure.
 */
export class ScenarioContext {
  readonly quick: boolean;
  readonly signal: AbortSignal;
  /** Measurements so far, written to the report if the run fails part way. */
  partial: Record<string, unknown> = {};
  #owned = new Set<Closable>();
  #progress: (line: string) => void;

  constructor(
    options: { quick: boolean; signal: AbortSignal; progress?: (line: string) => void },
  ) {
    this.quick = options.quick;
    this.signal = options.signal;
    this.#progress = options.progress ?? ((line) => console.error(line));
  }

  /** Prints a progress line (stderr), so stdout keeps only the result tables. */
  progress(line: string): void {
    this.#progress(line);
  }

  /** Registers something to close when the scenario ends, however it ends. */
  own<T extends Closable>(closable: T): T {
    this.#owned.add(closable);
    return closable;
  }

  /** Closes `closable` now and forgets it. */
  async release(closable: Closable): Promise<void> {
    this.#owned.delete(closable);
    await closable.close();
  }

  /** Closes everything still owned (called by the runner). */
  async closeAll(): Promise<void> {
    const owned = [...this.#owned];
    this.#owned.clear();
    const results = await Promise.allSettled(owned.map((c) => c.close()));
    for (const r of results) {
      if (r.status === "rejected") this.progress(`cleanup failed: ${String(r.reason)}`);
    }
  }

  /** Waits `ms`, or rejects as soon as the scenario is aborted. */
  sleep(ms: number): Promise<void> {
    return new Promise((resolve, reject) => {
      if (this.signal.aborted) return reject(this.signal.reason);
      const onAbort = () => (clearTimeout(timer), reject(this.signal.reason));
      const timer = setTimeout(() => {
        this.signal.removeEventListener("abort", onAbort);
        resolve();
      }, ms);
      this.signal.addEventListener("abort", onAbort, { once: true });
    });
  }

  /** Throws the abort reason when the scenario was aborted. */
  checkAborted(): void {
    this.signal.throwIfAborted();
  }
}
