// Validation of URL query parameters for the HTTP APIs: integers in a range, one of a set of
// words, and no unknown names. Failures are RangeErrors whose message names the parameter.

/**
 * Throws RangeError when `url` has a parameter not in `allowed`, or one given twice.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { checkParams } from "./query.ts";
 * checkParams(new URL("http://h/api/logs?since=3"), ["since", "limit"]);
 * assert.throws(() => checkParams(new URL("http://h/api/logs?sinse=3"), ["since"]), RangeError);
 * ```
 */
export function checkParams(url: URL, allowed: readonly string[]): void {
  const seen = new Set<string>();
  for (const name of url.searchParams.keys()) {
    if (!allowed.includes(name)) {
      const known = allowed.length > 0 ? `; known: ${allowed.join(", ")}` : "";
      throw new RangeError(
        `Unknown query parameter ${JSON.stringify(name.slice(0, 40))} on ${url.pathname}${known}`,
      );
    }
    if (seen.has(name)) throw new RangeError(`Query parameter ${name} is given more than once`);
    seen.add(name);
  }
}

/** Range and default of {@linkcode intParam}. */
export interface IntParamOptions {
  min: number;
  max: number;
  default: number;
}

/**
 * The integer parameter `name` of `url` within [min, max], or the default when absent.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { intParam } from "./query.ts";
 * const url = new URL("http://h/api/entities?max=100");
 * assert.equal(intParam(url, "max", { min: 1, max: 5000, default: 2000 }), 100);
 * assert.throws(() => intParam(new URL("http://h/?max=1e3"), "max", { min: 1, max: 9, default: 1 }));
 * ```
 */
export function intParam(url: URL, name: string, options: IntParamOptions): number {
  const raw = url.searchParams.get(name);
  if (raw === null) return options.default;
  const value = /^-?\d{1,16}$/.test(raw) ? Number(raw) : NaN;
  if (!Number.isSafeInteger(value) || value < options.min || value > options.max) {
    throw new RangeError(
      `${name} must be an integer from ${options.min} to ${options.max}, got ${
        JSON.stringify(raw.slice(0, 40))
      }`,
    );
  }
  return value;
}

/** Allowed values and default of {@linkcode choiceParam}. */
export interface ChoiceParamOptions<T extends string> {
  choices: readonly T[];
  default: T;
}

/**
 * The parameter `name` of `url` if it is one of `choices`, or the default when absent.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { choiceParam } from "./query.ts";
 * const levels = ["debug", "info", "warn", "error"] as const;
 * const url = new URL("http://h/?level=warn");
 * assert.equal(choiceParam(url, "level", { choices: levels, default: "debug" }), "warn");
 * ```
 */
export function choiceParam<T extends string>(
  url: URL,
  name: string,
  options: ChoiceParamOptions<T>,
): T {
  const { choices } = options;
  const raw = url.searchParams.get(name);
  if (raw === null) return options.default;
  if (!(choices as readonly string[]).includes(raw)) {
    throw new RangeError(
      `${name} must be one of ${choices.join(", ")}, got ${JSON.stringify(raw.slice(0, 40))}`,
    );
  }
  return raw as T;
}
