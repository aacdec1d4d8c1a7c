// Typed reads of stored benchmark JSON: each throws a TypeError naming the field, so a report
// edited by hand or written by an older harness fails with one clear line.

/** A JSON object, else a TypeError naming `where`. */
export function object(value: unknown, where: string): Record<string, unknown> {
  if (typeof value === "object" && value !== null && !Array.isArray(value)) {
    return value as Record<string, unknown>;
  }
  throw new TypeError(`Cannot read ${where}: expected an object, got ${JSON.stringify(value)}`);
}

/** A JSON array, else a TypeError. */
export function array(value: unknown, where: string): unknown[] {
  if (Array.isArray(value)) return value;
  throw new TypeError(`Cannot read ${where}: expected an array, got ${JSON.stringify(value)}`);
}

/** A number field. */
export function num(record: Record<string, unknown>, key: string): number {
  const value = record[key];
  if (typeof value === "number" && Number.isFinite(value)) return value;
  throw new TypeError(`Cannot read ${key}: expected a number, got ${JSON.stringify(value)}`);
}

/** A number field that may be null. */
export function numOrNull(record: Record<string, unknown>, key: string): number | null {
  return record[key] === null ? null : num(record, key);
}

/** A boolean field. */
export function bool(record: Record<string, unknown>, key: string): boolean {
  const value = record[key];
  if (typeof value === "boolean") return value;
  throw new TypeError(`Cannot read ${key}: expected true or false, got ${JSON.stringify(value)}`);
}

/** A string field. */
export function str(record: Record<string, unknown>, key: string): string {
  const value = record[key];
  if (typeof value === "string") return value;
  throw new TypeError(`Cannot read ${key}: expected a string, got ${JSON.stringify(value)}`);
}

/** Formats a number for a table cell; "–" for null, with a fixed number of decimals. */
export function cell(value: number | null, digits = 1, overflow?: string): string {
  if (value === null) return overflow ?? "–";
  return value.toLocaleString("en-US", {
    minimumFractionDigits: digits,
    maximumFractionDigits: digits,
  });
}
