export type {
  ConfigRevisionsRequest,
  CopyExperimentRequest,
  CreateExperimentRequest,
  CreateExperimentResponse,
  ErrorBody,
  ExperimentInfo,
  ExperimentList,
  IngestResponse,
  KeyScope,
  MetricPoint,
  MetricSeries,
  ProjectList,
  RunState,
  ServerInfo,
  SessionInfo,
  SyncStatus,
} from './api-types.js';
export {
  API_PREFIX,
  BATCH_CONTENT_TYPE,
  MAX_BATCH_HEADER_BYTES,
  MAX_BATCH_HEADER_DEPTH,
  MAX_BATCH_HEADER_VALUES,
  MAX_BODY_BYTES,
  MAX_JSON_BYTES,
} from './api-types.js';
export { hasControlCharacters } from './control-characters.js';
export { describeValue } from './describe-value.js';
export type { EncodedValue } from './encode-value.js';
export { decodeValue, encodeValue } from './encode-value.js';
export type { ErrorCode } from './error-codes.js';
export { ERROR_CODES, ERROR_STATUS, httpStatusOf, isErrorCode } from './error-codes.js';
export type { BatchChunk, BatchHeader, BatchSource, DecodedBatch } from './ingest-batch.js';
export {
  BATCH_PREFIX_BYTES,
  BatchFormatError,
  batchHeaderLength,
  decodeBatch,
  encodeBatch,
  sliceBlobs,
} from './ingest-batch.js';
export { isPlainObject } from './is-plain-object.js';
export type { JsonMeasure } from './measure-json.js';
export { measureJson } from './measure-json.js';
export type { SwanlogErrorOptions } from './swanlog-error.js';
export { isSwanlogError, SwanlogError } from './swanlog-error.js';
export { isValidName, MAX_NAME_LENGTH } from './valid-name.js';
