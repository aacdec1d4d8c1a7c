// The application payload of an INPUT (`intent.data`): any plain msgpack/JSON value up to a
// bounded size, handed to the game's onInput. A bad payload is refused with BAD_INPUT and the
// session goes on (docs/protocol.md, INPUT).
import { ErrorCode } from "../errors.ts";
import { FrameError } from "./frame_reader.ts";
import { plainDataProblem } from "./input_reader.ts";
import { encode } from "./msgpack.ts";

/** Largest `intent.data` of an INPUT, in bytes of its msgpack encoding (JSON frames too). */
export const MAX_INPUT_DATA_BYTES = 1024;

/**
 * Checks an INPUT's payload; throws a BAD_INPUT {@linkcode FrameError} when it is not plain
 * data or is over {@linkcode MAX_INPUT_DATA_BYTES}.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * checkInputData({ jump: true, aim: [0.5, 1] });
 * assert.throws(() => checkInputData("x".repeat(2000)), /BAD_INPUT|more than the maximum of 1024/);
 * ```
 */
export function checkInputData(value: unknown): void {
  const problem = plainDataProblem(value);
  if (problem) {
    throw new FrameError(
      ErrorCode.BAD_INPUT,
      `Cannot accept input: INPUT.intent.data contains ${problem}; the input was dropped`,
    );
  }
  const bytes = encode(value).length;
  if (bytes > MAX_INPUT_DATA_BYTES) {
    throw new FrameError(
      ErrorCode.BAD_INPUT,
      `Cannot accept input: INPUT.intent.data is ${bytes} bytes, more than the maximum of ${MAX_INPUT_DATA_BYTES}; the input was dropped`,
    );
  }
}

/**
 * True when the only part of a decoded frame that is not plain data is an INPUT's
 * `intent.data`, so the frame reader can refuse just the input (BAD_INPUT) and not the frame.
 */
export function onlyInputDataIsBad(raw: unknown): boolean {
  if (typeof raw !== "object" || raw === null || Array.isArray(raw)) return false;
  const frame = raw as Record<string, unknown>;
  const intent = frame.intent as Record<string, unknown> | undefined;
  if (frame.op !== 2 || typeof intent !== "object" || intent === null) return false;
  if (!Object.hasOwn(intent, "data")) return false;
  const { data: _data, ...rest } = intent;
  return plainDataProblem({ ...frame, intent: rest }) === undefined;
}
