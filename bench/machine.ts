// The machine and source a benchmark ran on (CPU, cores, memory, Deno, commit), read from
// /proc and git so every report says where its numbers come from.

/** Where a report's numbers were measured. */
export interface Machine {
  cpuModel: string;
  cores: number;
  memoryMb: number;
  os: string;
  deno: string;
  v8: string;
  /** git HEAD, or "unknown" outside a repository. */
  commit: string;
  /** True when the working tree had uncommitted changes (besides bench/results and docs/benchmarks.md). */
  dirty: boolean;
}

const ROOT = new URL("../", import.meta.url).pathname;

function readText(path: string): string {
  try {
    return Deno.readTextFileSync(path);
  } catch {
    return "";
  }
}

function git(args: string[]): string | undefined {
  try {
    const out = new Deno.Command("git", { args, cwd: ROOT, stdout: "piped", stderr: "null" })
      .outputSync();
    return out.success ? new TextDecoder().decode(out.stdout).trim() : undefined;
  } catch {
    return undefined;
  }
}

/** Describes this machine and the checked-out source. */
export function describeMachine(): Machine {
  const cpuinfo = readText("/proc/cpuinfo");
  const cpuModel = /^model name\s*:\s*(.+)$/m.exec(cpuinfo)?.[1]?.trim() ?? Deno.build.arch;
  const memKb = Number(/^MemTotal:\s+(\d+) kB$/m.exec(readText("/proc/meminfo"))?.[1] ?? 0);
  // The benchmark's own outputs do not count: a run of several scenarios writes the first one's
  // result and this page before the next one starts, and the source is still the commit's.
  const status = git([
    "status",
    "--porcelain",
    "--",
    ".",
    ":!bench/results",
    ":!docs/benchmarks.md",
  ]);
  return {
    cpuModel,
    cores: navigator.hardwareConcurrency,
    memoryMb: Math.round(memKb / 1024),
    os: `${Deno.build.os} ${Deno.osRelease()}`,
    deno: Deno.version.deno,
    v8: Deno.version.v8,
    commit: git(["rev-parse", "HEAD"]) ?? "unknown",
    dirty: status !== undefined && status !== "",
  };
}

/** One line for a table caption: "AMD EPYC, 2 cores, 23.5 GiB, Deno 2.9.6, commit 52b900f+". */
export function machineLine(m: Machine): string {
  const commit = m.commit === "unknown" ? "unknown commit" : `commit ${m.commit.slice(0, 7)}`;
  return `${m.cpuModel}, ${m.cores} cores, ${(m.memoryMb / 1024).toFixed(1)} GiB, ` +
    `Deno ${m.deno}, ${commit}${m.dirty ? " with uncommitted changes" : ""}`;
}
