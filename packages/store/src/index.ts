export type { ChunkPoints } from './chunk-codec.js';
export {
  CHUNK_CODEC_VERSION,
  CHUNK_CODEC_VERSIONS,
  ChunkDecodeError,
  ChunkScratch,
  checkChunk,
  chunkSeqRange,
  decodeChunk,
  encodeChunk,
} from './chunk-codec.js';
export type { CopyRunOptions, CopyRunResult } from './copy-run.js';
export { copyRun } from './copy-run.js';
export type { CreateRunOptions, CreateRunResult } from './create-run.js';
export { createRun } from './create-run.js';
export type { JsonObject } from './deep-merge.js';
export { deepMerge } from './deep-merge.js';
export {
  findRunDir,
  listRunDirs,
  listSwanlabRunDirs,
  resolveRunDir,
  runDirName,
  runIdOfDirName,
} from './find-run.js';
export {
  APPLICATION_ID,
  chunkCodecFor,
  FORMAT_VERSION,
  formatVersionOf,
  READABLE_FORMAT_VERSIONS,
  RUN_FILE,
  WRITERS_DIR,
} from './format.js';
export type {
  ImportBatch,
  ImportedRecord,
  ImportedSessionProgress,
  ImportProgress,
  WriteResult,
} from './imported-session.js';
export {
  ImportedSession,
  readImportProgress,
  recordImportedConfig,
  recordStepOffsets,
} from './imported-session.js';
export type { JournalMode } from './journal-mode.js';
export { fileSystemOf, journalModeFor } from './journal-mode.js';
export { HEARTBEAT_TIMEOUT_MS, isWriterAlive } from './liveness.js';
export type { RequestPurpose } from './request-key.js';
export { syncRequestKey } from './request-key.js';
export { assertRunId, generateRunId } from './run-id.js';
export type { ConfigRevision, RunMeta, RunSource, Segment, Series, SeriesOptions } from './run-reader.js';
export { RunReader } from './run-reader.js';
export type { EndState, RunState, SessionStateInput } from './run-state.js';
export { runState } from './run-state.js';
export type { OpenRunWriterOptions } from './run-writer.js';
export { assertKey, MAX_CHUNK_POINTS, RunWriter } from './run-writer.js';
export type { ReadSyncRecordsOptions, SyncRecord } from './sync-record.js';
export { readSyncRecords, writeSyncRecord } from './sync-record.js';
export type { VerifyReport } from './verify-run.js';
export { verifyRun } from './verify-run.js';
export type { ChunkSummary, RankedPoints, Rewind } from './visible-series.js';
export { buildSeries, lastVisibleStepOf, RewindIndex } from './visible-series.js';
