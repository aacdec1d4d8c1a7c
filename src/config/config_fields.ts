// The config style of the input reader kit: CONFIG_INVALID errors naming the key or flag, with
// the bad value rendered as JSON, for config files, node flags and the bots' flags alike.
import { ConfigError } from "../errors.ts";
import { inputReader, type InputStyle } from "../protocol/input_reader.ts";

/** Config errors: `CONFIG_INVALID: <field>: expected <expected>, got <value>`. */
export const CONFIG_STYLE: InputStyle = {
  mismatch(field, expected, value) {
    throw new ConfigError(field, `expected ${expected}, got ${show(value)}`);
  },
  problem(field, problem, cause) {
    throw new ConfigError(field, problem, cause === undefined ? undefined : { cause });
  },
};

/** The field readers of config files and flags (bots' flags too). */
export const configFields = inputReader(CONFIG_STYLE);

export function fail(field: string, problem: string): never {
  return CONFIG_STYLE.problem(field, problem);
}

/** Renders a bad value for a one-line message: JSON where possible, cut to a readable length. */
export function show(value: unknown): string {
  if (typeof value === "number" || value === undefined) return String(value);
  let text: string;
  try {
    text = JSON.stringify(value) ?? String(value);
  } catch {
    text = String(value);
  }
  return text.length > 60 ? `${text.slice(0, 57)}...` : text;
}

/** An own, defined value of `key`, else `fallback`; JSON `null` is a value, and a wrong one. */
export function pick(raw: Record<string, unknown>, key: string, fallback: unknown): unknown {
  return Object.hasOwn(raw, key) && raw[key] !== undefined ? raw[key] : fallback;
}
