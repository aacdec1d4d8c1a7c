// CPU time and resident memory of processes, read from /proc (Linux) without dependencies.

/** CPU seconds used so far (user + system, all threads) and resident memory of one process. */
export interface ProcSample {
  cpuSeconds: number;
  rssBytes: number;
  /** performance.now() when taken. */
  atMs: number;
}

let clockTicks: number | undefined;

/** USER_HZ, the unit of the times in /proc/<pid>/stat (100 on nearly every Linux). */
function ticksPerSecond(): number {
  if (clockTicks !== undefined) return clockTicks;
  clockTicks = 100;
  try {
    const out = new Deno.Command("getconf", { args: ["CLK_TCK"], stdout: "piped", stderr: "null" })
      .outputSync();
    const value = Number(new TextDecoder().decode(out.stdout).trim());
    if (out.success && Number.isInteger(value) && value > 0) clockTicks = value;
  } catch {
    // no getconf: keep the Linux default
  }
  return clockTicks;
}

/**
 * Reads /proc/<pid>/stat and /proc/<pid>/status; undefined when the process is gone.
 * utime and stime are fields 14 and 15; the command name (field 2) may hold spaces and
 * parentheses, so fields are counted from the last ")".
 */
export function sampleProcess(pid: number): ProcSample | undefined {
  let stat: string, status: string;
  try {
    stat = Deno.readTextFileSync(`/proc/${pid}/stat`);
    status = Deno.readTextFileSync(`/proc/${pid}/status`);
  } catch {
    return undefined;
  }
  const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  const ticks = Number(fields[11]) + Number(fields[12]);
  const rssKb = Number(/^VmRSS:\s+(\d+) kB$/m.exec(status)?.[1] ?? 0);
  return { cpuSeconds: ticks / ticksPerSecond(), rssBytes: rssKb * 1024, atMs: performance.now() };
}

/** Share of one core used between two samples, in percent (200 = two cores busy). */
export function cpuPercent(before: ProcSample, after: ProcSample): number {
  const wall = (after.atMs - before.atMs) / 1000;
  return wall > 0 ? ((after.cpuSeconds - before.cpuSeconds) / wall) * 100 : 0;
}

/** Jiffies of the whole machine from the first line of /proc/stat. */
export interface MachineCpuSample {
  busy: number;
  steal: number;
  total: number;
}

/** Reads the machine-wide CPU counters (all cores). */
export function sampleMachineCpu(): MachineCpuSample {
  const line = Deno.readTextFileSync("/proc/stat").split("\n")[0];
  const [user, nice, system, idle, iowait, irq, softirq, steal] = line.trim().split(/\s+/)
    .slice(1).map(Number);
  const total = user + nice + system + idle + iowait + irq + softirq + (steal || 0);
  return { busy: total - idle - iowait, steal: steal || 0, total };
}

/**
 * Machine-wide CPU use between two samples, in percent of one core (so 200 means two cores
 * busy): busy and stolen by the hypervisor.
 */
export function machineCpuPercent(
  before: MachineCpuSample,
  after: MachineCpuSample,
  cores: number,
): { busyPct: number; stealPct: number } {
  const total = after.total - before.total;
  if (total <= 0) return { busyPct: 0, stealPct: 0 };
  return {
    busyPct: ((after.busy - before.busy) / total) * cores * 100,
    stealPct: ((after.steal - before.steal) / total) * cores * 100,
  };
}

/** The 1, 5 and 15 minute load averages. */
export function loadAverage(): number[] {
  try {
    return Deno.readTextFileSync("/proc/loadavg").split(" ").slice(0, 3).map(Number);
  } catch {
    return [];
  }
}
