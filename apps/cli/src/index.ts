export { buildProgram, main } from './cli.js';
export type { ExportOptions, ExportResult } from './commands/export.js';
export { exportRun } from './commands/export.js';
export type { LsEntry, LsOptions } from './commands/ls.js';
export { ls } from './commands/ls.js';
export type { ShowOptions } from './commands/show.js';
export { show } from './commands/show.js';
export type { RunDetails, RunListing } from './summarize-run.js';
