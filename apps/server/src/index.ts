export type { CreateApiKeyOptions, KeyStoreLocation } from './api-keys.js';
export { createApiKey, listApiKeys, revokeApiKey } from './api-keys.js';
export { backupServer, restoreServer } from './backup-server.js';
export type { CreateAppOptions } from './create-app.js';
export { createApp } from './create-app.js';
export type { DashboardEvent, DashboardEvents } from './dashboard-events.js';
export { createDashboardEvents } from './dashboard-events.js';
export type {
  DashboardExperiment,
  DashboardExperimentList,
  DashboardServerInfo,
  ExperimentDetails,
  ExperimentMeta,
  MetricSummary,
  RunProblem,
  RunsTable,
  RunsTableRow,
  SegmentDetails,
  TableValue,
} from './dashboard-types.js';
export type { MigrateToPostgresOptions, MigrateToPostgresResult } from './migrate-to-postgres.js';
export { migrateToPostgres } from './migrate-to-postgres.js';
export type { RunningServer, StartServerOptions } from './start-server.js';
export { SERVER_VERSION, startServer } from './start-server.js';
export { DEFAULT_WEB_ROOT } from './static-ui.js';
export type { StorageLocation } from './storage/open-storage.js';
export { openStorage } from './storage/open-storage.js';
export type { OpenPostgresStorageOptions } from './storage/postgres-storage.js';
export { openPostgresStorage } from './storage/postgres-storage.js';
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
export type { CreateWatchAppOptions } from './watch/create-watch-app.js';
export { createWatchApp } from './watch/create-watch-app.js';
export type { RunningWatch, StartWatchOptions } from './watch/start-watch.js';
export { startWatch } from './watch/start-watch.js';
