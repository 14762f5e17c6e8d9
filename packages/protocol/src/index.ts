export type { EncodedValue } from './encode-value.js';
export { decodeValue, encodeValue } from './encode-value.js';
export type { ErrorCode } from './error-codes.js';
export { ERROR_CODES, ERROR_STATUS, httpStatusOf, isErrorCode } from './error-codes.js';
export type { SwanlogErrorOptions } from './swanlog-error.js';
export { isSwanlogError, SwanlogError } from './swanlog-error.js';
