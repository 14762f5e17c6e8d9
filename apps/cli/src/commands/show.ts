import { RunReader, resolveRunDir } from '@swanlog/store';
import { describeRun, type RunDetails } from '../summarize-run.js';

export interface ShowOptions {
  cwd: string;
  target: string;
  logdir: string;
}

/** Everything about one run, given as a directory or an id under the logdir. */
export function show(options: ShowOptions): RunDetails {
  const dir = resolveRunDir(options.target, options.logdir, options.cwd);
  const reader = RunReader.open(dir);
  try {
    return describeRun(reader);
  } finally {
    reader.close();
  }
}
