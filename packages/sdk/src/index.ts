export type { ErrorCode } from '@swanlog/protocol';
export { isSwanlogError, SwanlogError } from '@swanlog/protocol';
export { init, initSync } from './init.js';
export type { InitOptions, Mode, ResumeOption } from './options.js';
export { Run } from './run.js';
