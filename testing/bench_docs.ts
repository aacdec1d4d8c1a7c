// What bench/ writes into docs/benchmarks.md and tests read back: the markers around its
// generated section (the hand-written text around them survives regeneration).

/** Start of the generated section of docs/benchmarks.md. */
export const GENERATED_START = "<!-- bench:generated:start (npm run bench -- --report) -->";
/** End of the generated section of docs/benchmarks.md. */
export const GENERATED_END = "<!-- bench:generated:end -->";
