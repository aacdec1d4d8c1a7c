// Stable error codes shared by logs, HTTP bodies, gRPC statuses and the client protocol,
// plus the few error classes that callers catch by type.

/**
 * Every error that crosses a process boundary carries one of these codes.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * assert.equal(ErrorCode.STALE_EPOCH, "STALE_EPOCH");
 * ```
 */
export const ErrorCode = {
  CONFIG_INVALID: "CONFIG_INVALID",
  BAD_BATCH: "BAD_BATCH",
  BAD_FRAME: "BAD_FRAME",
  UNAUTHENTICATED: "UNAUTHENTICATED",
  STALE_EPOCH: "STALE_EPOCH",
  NOT_OWNER: "NOT_OWNER",
  NOT_FOUND: "NOT_FOUND",
  RATE_LIMITED: "RATE_LIMITED",
  METHOD_NOT_ALLOWED: "METHOD_NOT_ALLOWED",
  UNAVAILABLE: "UNAVAILABLE",
  INTERNAL: "INTERNAL",
  // Coordinator control API (cell moves, drains).
  CONFLICT: "CONFLICT",
  NO_CAPACITY: "NO_CAPACITY",
  /** The coordinator's state file (or a log stream from the active) cannot be read back. */
  STATE_INVALID: "STATE_INVALID",
  /** This coordinator is the standby: ask the active one (named in the message). */
  STANDBY: "STANDBY",
  // Session gateway: client protocol, login and sessions (docs/protocol.md).
  BAD_REQUEST: "BAD_REQUEST",
  TOO_BIG: "TOO_BIG",
  UNSUPPORTED_PROTOCOL: "UNSUPPORTED_PROTOCOL",
  TOKEN_EXPIRED: "TOKEN_EXPIRED",
  RESUME_FAILED: "RESUME_FAILED",
  BAD_CREDENTIALS: "BAD_CREDENTIALS",
  USERNAME_TAKEN: "USERNAME_TAKEN",
  IDLE_TIMEOUT: "IDLE_TIMEOUT",
  SLOW_CONSUMER: "SLOW_CONSUMER",
  SESSION_TAKEN_OVER: "SESSION_TAKEN_OVER",
  /** An INPUT's application payload was refused; the input is dropped, the session goes on. */
  BAD_INPUT: "BAD_INPUT",
  /** Game code threw in one of its hooks (logged with its stack; the tick went on). */
  GAME_ERROR: "GAME_ERROR",
  /** The gateway is shutting down: resume on another one. */
  GOING_AWAY: "GOING_AWAY",
  /** The worker simulating the player sent nothing for too long: resume. */
  WORLD_STALLED: "WORLD_STALLED",
  // Rooms (instances): refusals of CREATE, SEARCH, JOIN, LEAVE, DESTROY; the session goes on.
  INSTANCE_NOT_FOUND: "INSTANCE_NOT_FOUND",
  INSTANCE_FULL: "INSTANCE_FULL",
  WRONG_VERSION: "WRONG_VERSION",
  NOT_ALLOWED: "NOT_ALLOWED",
  UNKNOWN_MODE: "UNKNOWN_MODE",
  BAD_OPTIONS: "BAD_OPTIONS",
  /** An operator ended the session (diagnostics kick). */
  KICKED: "KICKED",
} as const;

/** One of the stable error codes in {@linkcode ErrorCode}. */
export type ErrorCode = typeof ErrorCode[keyof typeof ErrorCode];

/**
 * Base for errors that carry a stable code, so a transport can map any of them
 * to its own status without knowing the subclass.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * const error = new CodedError(ErrorCode.NOT_FOUND, "no such entity");
 * assert.equal(error.code, "NOT_FOUND");
 * ```
 */
export class CodedError extends Error {
  /** Stable code for logs, HTTP bodies, gRPC details and protocol error frames. */
  readonly code: ErrorCode;

  constructor(code: ErrorCode, message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = "CodedError";
    this.code = code;
  }
}

/**
 * A configuration value (file key or flag) is missing, unknown, of the wrong type
 * or impossible. The message is one line: `CONFIG_INVALID: <field>: <problem>`.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * const error = new ConfigError("port", "expected an integer in 0..65535, got 70000");
 * assert.equal(error.message, "CONFIG_INVALID: port: expected an integer in 0..65535, got 70000");
 * assert.equal(error.field, "port");
 * ```
 */
export class ConfigError extends CodedError {
  /** Dotted path of the offending key ("world.cellSize") or the flag ("--port"). */
  readonly field: string;

  constructor(field: string, problem: string, options?: ErrorOptions) {
    super(ErrorCode.CONFIG_INVALID, `${ErrorCode.CONFIG_INVALID}: ${field}: ${problem}`, options);
    this.name = "ConfigError";
    this.field = field;
  }
}

/** A batch of ghost/sync records between workers could not be decoded or applied. */
export class BatchError extends CodedError {
  constructor(message: string, options?: ErrorOptions) {
    super(ErrorCode.BAD_BATCH, message, options);
    this.name = "BatchError";
  }
}

/** A message was stamped with a partition-map epoch older than the receiver's. */
export class StaleEpochError extends CodedError {
  constructor(message: string, options?: ErrorOptions) {
    super(ErrorCode.STALE_EPOCH, message, options);
    this.name = "StaleEpochError";
  }
}

/** A request reached a worker that does not own the cell or entity it names. */
export class NotOwnerError extends CodedError {
  constructor(message: string, options?: ErrorOptions) {
    super(ErrorCode.NOT_OWNER, message, options);
    this.name = "NotOwnerError";
  }
}
