/**
 * The closed set of error codes and the HTTP status each one maps to. Codes with `null` are local
 * failures (storage, format) that never travel as an HTTP answer of their own; a server that meets
 * one answers 500.
 */
export const ERROR_STATUS = {
  INVALID_OPTION: 400,
  INVALID_RUN_ID: 400,
  INVALID_VALUE: 400,
  BAD_REQUEST: 400,
  UNAUTHORIZED: 401,
  FORBIDDEN: 403,
  /** `swanlog watch`: the local dashboard changes nothing. */
  READ_ONLY: 403,
  RUN_NOT_FOUND: 404,
  NOT_FOUND: 404,
  RUN_EXISTS: 409,
  RUN_DIVERGED: 409,
  RUN_FINISHED: 409,
  CONFLICT: 409,
  /** The experiment was deleted on the server (`swanlog server delete`); its id is not given again. */
  EXPERIMENT_DELETED: 410,
  PAYLOAD_TOO_LARGE: 413,
  RUN_DIR_CORRUPT: null,
  UNSUPPORTED_FORMAT: null,
  CHECKPOINT_CORRUPT: null,
  STORAGE_FULL: null,
  STORAGE_READ_ONLY: null,
  SERVER_UNREACHABLE: null,
  /** `swanlog sync` was given log directories that hold no run directory. */
  NO_RUNS: null,
  /** `swanlog import`: another tracker's file that cannot be read at all (damaged framing, not that format). */
  SOURCE_CORRUPT: null,
  SERVER_ERROR: 500,
} as const satisfies Record<string, number | null>;

export type ErrorCode = keyof typeof ERROR_STATUS;

export const ERROR_CODES = Object.keys(ERROR_STATUS) as ErrorCode[];

/** HTTP status for a code; local-only codes answer 500. */
export function httpStatusOf(code: ErrorCode): number {
  return ERROR_STATUS[code] ?? 500;
}

export function isErrorCode(value: unknown): value is ErrorCode {
  return typeof value === 'string' && Object.hasOwn(ERROR_STATUS, value);
}
