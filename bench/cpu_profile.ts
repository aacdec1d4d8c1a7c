// CPU profiles of a running Deno process through its inspector (Chrome DevTools Protocol):
// record a sampling profile for a while, and summarize where the time went by function.

/** A V8 CPU profile as returned by Profiler.stop (the .cpuprofile format). */
export interface CpuProfile {
  nodes: Array<{
    id: number;
    callFrame: { functionName: string; url: string; lineNumber: number };
    hitCount?: number;
    children?: number[];
  }>;
  startTime: number;
  endTime: number;
  samples?: number[];
  timeDeltas?: number[];
}

/** Time attributed to one function (name and source location). */
export interface FunctionTime {
  name: string;
  location: string;
  /** Time in the function itself, percent of the busy (non-idle) samples. */
  selfPct: number;
  /** Time in the function and everything it called, percent of busy samples. */
  totalPct: number;
}

/** Records a CPU profile of the process whose inspector listens at `wsUrl`. */
export async function recordProfile(
  wsUrl: string,
  options: { ms: number; intervalUs?: number },
): Promise<CpuProfile> {
  const socket = new WebSocket(wsUrl);
  const pending = new Map<number, PromiseWithResolvers<unknown>>();
  let nextId = 0;
  socket.onmessage = (message) => {
    const reply = JSON.parse(String(message.data)) as {
      id?: number;
      result?: unknown;
      error?: { message: string };
    };
    const waiter = reply.id === undefined ? undefined : pending.get(reply.id);
    if (!waiter) return;
    pending.delete(reply.id!);
    if (reply.error) waiter.reject(new Error(`inspector: ${reply.error.message}`));
    else waiter.resolve(reply.result);
  };
  await new Promise<void>((resolve, reject) => {
    socket.onopen = () => resolve();
    socket.onerror = () => reject(new Error(`Cannot connect to the inspector at ${wsUrl}`));
  });
  const call = (method: string, params: Record<string, unknown> = {}) => {
    const id = ++nextId;
    const waiter = Promise.withResolvers<unknown>();
    pending.set(id, waiter);
    socket.send(JSON.stringify({ id, method, params }));
    return waiter.promise;
  };
  try {
    await call("Profiler.enable");
    await call("Profiler.setSamplingInterval", { interval: options.intervalUs ?? 200 });
    await call("Profiler.start");
    await new Promise((resolve) => setTimeout(resolve, options.ms));
    const result = await call("Profiler.stop") as { profile: CpuProfile };
    return result.profile;
  } finally {
    socket.close();
  }
}

const IDLE = new Set(["(idle)", "(program)"]);

/**
 * Self and total time per function, sorted by total time. Percentages are of busy samples
 * (everything but idle); "(garbage collector)" appears as a function of its own.
 */
export function summarizeProfile(
  profile: CpuProfile,
): { busyMs: number; functions: FunctionTime[] } {
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const keyOf = (id: number) => {
    const f = byId.get(id)!.callFrame;
    const file = f.url.replace(/^file:\/\/.*?\/(src|roles|node_modules|bench)\//, "$1/");
    return {
      name: f.functionName || "(anonymous)",
      location: f.url ? `${file}:${f.lineNumber + 1}` : "",
    };
  };
  // Sample time per node from the sample stream (more exact than hitCount × interval).
  const selfUs = new Map<number, number>();
  const samples = profile.samples ?? [], deltas = profile.timeDeltas ?? [];
  for (let i = 0; i < samples.length; i++) {
    const dt = deltas[i + 1] ?? 0;
    selfUs.set(samples[i], (selfUs.get(samples[i]) ?? 0) + dt);
  }
  let busyUs = 0;
  for (const [id, us] of selfUs) if (!IDLE.has(byId.get(id)!.callFrame.functionName)) busyUs += us;
  const self = new Map<string, number>(), total = new Map<string, number>();
  const names = new Map<string, { name: string; location: string }>();
  // Depth-first from the root; a function counts once per stack for its total time.
  const walk = (id: number, onStack: Set<string>): number => {
    const node = byId.get(id)!;
    const key = keyOf(id);
    const k = `${key.name} ${key.location}`;
    names.set(k, key);
    let us = selfUs.get(id) ?? 0;
    if (!IDLE.has(node.callFrame.functionName)) self.set(k, (self.get(k) ?? 0) + us);
    const nested = onStack.has(k);
    onStack.add(k);
    for (const child of node.children ?? []) us += walk(child, onStack);
    if (!nested) {
      onStack.delete(k);
      if (!IDLE.has(node.callFrame.functionName)) total.set(k, (total.get(k) ?? 0) + us);
    }
    return us;
  };
  const childIds = new Set(profile.nodes.flatMap((n) => n.children ?? []));
  for (const n of profile.nodes) if (!childIds.has(n.id)) walk(n.id, new Set());
  const pct = (us: number) => Math.round((us / Math.max(1, busyUs)) * 1000) / 10;
  const functions = [...names.entries()]
    .filter(([k, v]) => v.name !== "(root)" && (total.get(k) ?? 0) > 0)
    .map(([k, v]) => ({ ...v, selfPct: pct(self.get(k) ?? 0), totalPct: pct(total.get(k) ?? 0) }))
    .sort((a, b) => b.totalPct - a.totalPct);
  return { busyMs: Math.round(busyUs / 1000), functions };
}
