// A bounded wait on in-process state (a fake server's counters, a client's fields): polls the
// probe until it yields a value, or fails naming what it waited for. For state behind HTTP use
// node_process.ts `until`, which also rides out failing requests.

/**
 * Resolves with the probe's first value other than undefined and false.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * let n = 0;
 * assert.equal(await waitUntil("n to reach 3", () => ++n >= 3), true);
 * ```
 */
export async function waitUntil<T>(
  what: string,
  probe: () => T | undefined | false,
  timeoutMs = 10_000,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = probe();
    if (value !== undefined && value !== false) return value;
    if (Date.now() > deadline) throw new Error(`Timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}
