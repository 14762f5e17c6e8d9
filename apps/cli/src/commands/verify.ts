import { resolve } from 'node:path';
import { type VerifyReport, verifyRun } from '@swanlog/store';

export interface VerifyOptions {
  cwd: string;
  target: string;
}

/** Checks a run directory end to end; throws its first problem. */
export function verify(options: VerifyOptions): VerifyReport {
  return verifyRun(resolve(options.cwd, options.target));
}
