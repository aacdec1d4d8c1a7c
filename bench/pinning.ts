// Which cores the processes of a benchmark cluster run on: with taskset (util-linux), each
// worker on a core of its own and the coordinator on the last one, so two workers on this
// 2-core machine never take turns on one core; unpinned, with the reason, when it cannot be.

/** How a benchmark cluster is pinned (stored in results beside what each process was allowed). */
export interface Pinning {
  pinned: boolean;
  cores: number;
  /** Why it is not pinned, when it is not. */
  reason?: string;
}

/**
 * Pins when taskset runs here and there are at least two cores.
 *
 * @example
 * ```ts
 * const pinning = detectPinning();
 * if (!pinning.pinned && !pinning.reason) throw new Error("an unpinned run says why");
 * ```
 */
export function detectPinning(cores = navigator.hardwareConcurrency): Pinning {
  if (cores < 2) return { pinned: false, cores, reason: `only ${cores} core` };
  try {
    const out = new Deno.Command("taskset", {
      args: ["-c", "0", "true"],
      stdout: "null",
      stderr: "piped",
    })
      .outputSync();
    if (!out.success) {
      return {
        pinned: false,
        cores,
        reason: `taskset failed: ${new TextDecoder().decode(out.stderr).trim()}`,
      };
    }
  } catch (error) {
    return { pinned: false, cores, reason: `taskset not available: ${(error as Error).message}` };
  }
  return { pinned: true, cores };
}

/** The core (a taskset list) of worker `n` (from 1): one each, round the cores when more. */
export function workerCores(pinning: Pinning, n: number): string | undefined {
  return pinning.pinned ? String((n - 1) % pinning.cores) : undefined;
}

/** The coordinator's core: the last one (shared with the last worker once workers fill every core). */
export function coordinatorCores(pinning: Pinning): string | undefined {
  return pinning.pinned ? String(pinning.cores - 1) : undefined;
}

/** The cores a running process may use (`Cpus_allowed_list` of /proc/<pid>/status), or "?". */
export function allowedCores(pid: number): string {
  try {
    const status = Deno.readTextFileSync(`/proc/${pid}/status`);
    return /^Cpus_allowed_list:\s+(\S+)$/m.exec(status)?.[1] ?? "?";
  } catch {
    return "?";
  }
}
