export type { CreateApiKeyOptions } from './api-keys.js';
export { createApiKey, listApiKeys, revokeApiKey } from './api-keys.js';
export type { CreateAppOptions } from './create-app.js';
export { createApp } from './create-app.js';
export type { RunningServer, StartServerOptions } from './start-server.js';
export { SERVER_VERSION, startServer } from './start-server.js';
export type { OpenSqliteStorageOptions } from './storage/sqlite-storage.js';
export { openSqliteStorage } from './storage/sqlite-storage.js';
export type {
  ApiKeyRecord,
  ChunkRecord,
  ChunkSummaryRecord,
  ConfigRevisionRecord,
  CreateExperimentInput,
  CreateResult,
  ExperimentRecord,
  ExperimentRef,
  IngestResult,
  IngestSource,
  MaybePromise,
  SourceRecord,
  Storage,
} from './storage/storage.js';
