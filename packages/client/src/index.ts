export type { ClientOptions, MetricsQuery, RetryEvent, SwanlogClient } from './create-client.js';
export { createClient } from './create-client.js';
export type { BatchBudget, KeyChunks, PendingChunk } from './cut-batches.js';
export { cutBatches, nextBatchEnd } from './cut-batches.js';
export type { RequestPurpose } from './request-key.js';
export { syncRequestKey } from './request-key.js';
export type { SyncAction, SyncProgress, SyncResult, SyncRunDirOptions, SyncTarget } from './sync-run-dir.js';
export { syncRunDir } from './sync-run-dir.js';
