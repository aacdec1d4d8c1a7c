// Configuration from the environment: every config key has a `ZS_*` variable (camelCase and
// nesting become UPPER_SNAKE: gateway.tokenTtlMs → ZS_GATEWAY_TOKEN_TTL_MS), parsed by the
// type of the key's default, so secrets never need to be in a file. Flags still win.
import { fail, show } from "./config_fields.ts";
import { DEFAULTS } from "./schema.ts";

/** Prefix of every configuration variable. */
export const ENV_PREFIX = "ZS_";

/** Variables that are not derived from a key name: the documented spelling of a few keys. */
export const ENV_ALIASES: Readonly<Record<string, string>> = Object.freeze({
  ZS_STORAGE_URL: "storage",
});

/** Keys whose variables the table and tests know; nested keys joined with ".". */
export interface EnvVariable {
  name: string;
  key: string;
  type: "string" | "number" | "boolean" | "json";
}

/** The environment variable name of a config key path (`gateway.tokenTtlMs`). */
export function envNameOf(key: string): string {
  return ENV_PREFIX +
    key.split(".").map((part) =>
      part.replace(/([a-z0-9])([A-Z])/g, "$1_$2").replace(/[^A-Za-z0-9]/g, "_").toUpperCase()
    ).join("_");
}

/** Every variable, in the order of the config keys. */
export function envVariables(): EnvVariable[] {
  const out: EnvVariable[] = [];
  const walk = (object: Record<string, unknown>, prefix: string) => {
    for (const [key, value] of Object.entries(object)) {
      const path = prefix + key;
      const isObject = typeof value === "object" && value !== null && !Array.isArray(value);
      if (isObject && path !== "game.hotspot") walk(value as Record<string, unknown>, `${path}.`);
      else {
        const type = typeof value === "number"
          ? "number"
          : typeof value === "boolean"
          ? "boolean"
          : typeof value === "string"
          ? "string"
          : "json";
        out.push({ name: envNameOf(path), key: path, type });
      }
    }
  };
  walk(DEFAULTS as unknown as Record<string, unknown>, "");
  for (const [name, key] of Object.entries(ENV_ALIASES)) {
    out.push({ name, key, type: "string" });
  }
  return out;
}

/**
 * Overrides shaped like the config file from the `ZS_*` variables of `env`. An unknown
 * `ZS_*` variable or a value of the wrong type is a ConfigError naming the variable.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * const overrides = envOverrides({ ZS_PORT: "9000", ZS_GATEWAY_TOKEN_TTL_MS: "60000", HOME: "/" });
 * assert.deepEqual(overrides, { port: 9000, gateway: { tokenTtlMs: 60000 } });
 * ```
 */
export function envOverrides(env: Readonly<Record<string, string>>): Record<string, unknown> {
  const byName = new Map(envVariables().map((v) => [v.name, v]));
  const overrides: Record<string, unknown> = {};
  // The documented aliases (ZS_STORAGE_URL) win over the derived names (ZS_STORAGE).
  const names = Object.keys(env).filter((n) => n.startsWith(ENV_PREFIX))
    .sort((a, b) => Number(a in ENV_ALIASES) - Number(b in ENV_ALIASES));
  for (const name of names) {
    const text = env[name];
    const variable = byName.get(name);
    if (!variable) fail(name, "unknown configuration variable (see docs/operations.md)");
    let value: unknown = text;
    if (variable.type === "number") {
      value = Number(text);
      if (text.trim() === "" || !Number.isFinite(value)) {
        fail(name, `expected a number, got ${show(text)}`);
      }
    } else if (variable.type === "boolean") {
      if (text !== "true" && text !== "false") {
        fail(name, `expected true or false, got ${show(text)}`);
      }
      value = text === "true";
    } else if (variable.type === "json") {
      try {
        value = JSON.parse(text);
      } catch {
        fail(name, `expected JSON, got ${show(text)}`);
      }
    }
    const parts = variable.key.split(".");
    let at = overrides;
    for (const part of parts.slice(0, -1)) {
      at[part] ??= {};
      at = at[part] as Record<string, unknown>;
    }
    at[parts.at(-1)!] = value;
  }
  return overrides;
}
