export type { ErrorCode } from '@swanlog/protocol';
export { isSwanlogError, SwanlogError } from '@swanlog/protocol';
export type { Checkpoint, CheckpointData, CheckpointsOptions, ListOptions } from './checkpoints.js';
export {
  Checkpointer,
  checkpointFileName,
  latestCheckpoint,
  listCheckpoints,
  resumeFromCheckpoint,
} from './checkpoints.js';
export { init, initSync } from './init.js';
export type { InitOptions, Mode, OnInvalid, ResumeOption } from './options.js';
export { type LogData, Run } from './run.js';
