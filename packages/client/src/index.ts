export type { RequestPurpose } from '@swanlog/store';
export { syncRequestKey } from '@swanlog/store';
export type { ClientOptions, MetricsQuery, RetryEvent, SwanlogClient } from './create-client.js';
export { createClient } from './create-client.js';
export type { BatchBudget, KeyChunks, PendingChunk } from './cut-batches.js';
export { cutBatches, nextBatchEnd } from './cut-batches.js';
export type { SyncAction, SyncProgress, SyncResult, SyncRunDirOptions, SyncTarget } from './sync-run-dir.js';
export { syncRunDir } from './sync-run-dir.js';
