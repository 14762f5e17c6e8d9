import type { ErrorCode } from './error-codes.js';

export interface SwanlogErrorOptions {
  hint?: string;
  cause?: unknown;
}

/**
 * The one error class of swanlog. `code` is from a closed set (see `ERROR_STATUS`), the message
 * names the run id, key or path involved, `hint` says what to do about it.
 */
export class SwanlogError extends Error {
  override readonly name = 'SwanlogError';
  readonly code: ErrorCode;
  readonly hint: string | undefined;

  constructor(code: ErrorCode, message: string, options: SwanlogErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.code = code;
    this.hint = options.hint;
  }

  toJSON(): { code: ErrorCode; message: string; hint?: string } {
    return this.hint === undefined
      ? { code: this.code, message: this.message }
      : { code: this.code, message: this.message, hint: this.hint };
  }
}

export function isSwanlogError(error: unknown, code?: ErrorCode): error is SwanlogError {
  return error instanceof SwanlogError && (code === undefined || error.code === code);
}
