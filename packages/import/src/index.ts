export type { Source } from './find-sources.js';
export { findSources, isEventFile } from './find-sources.js';
export type { ImportAction, ImportOptions, ImportResult } from './import-sources.js';
export { importSources } from './import-sources.js';
export { frameTfRecord, readTfRecords } from './read-tf-records.js';
export type { ExportTfeventsResult } from './tensorboard/export-tfevents.js';
export { exportTfevents } from './tensorboard/export-tfevents.js';
export type { SwanlabTestRecord } from './write-source-files.js';
export { encodeScalarEvent, encodeSwanlabFile, encodeWandbFile } from './write-source-files.js';
