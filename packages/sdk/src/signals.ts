import type { Run } from './run.js';

const open = new Set<Run>();
let installed = false;

/**
 * Open runs are flushed on SIGINT/SIGTERM and ended on exit. The SDK never changes how the process
 * reacts to a signal: with a handler of the user's, it only flushes; without one, it marks the
 * runs aborted and re-raises the signal, so the process ends as Node would have ended it.
 */
export function trackRun(run: Run): void {
  open.add(run);
  if (installed) return;
  installed = true;
  // First in line, so a user's process.once() handler is still registered when we count handlers.
  process.prependListener('SIGINT', onSignal);
  process.prependListener('SIGTERM', onSignal);
  process.on('exit', onExit);
}

export function untrackRun(run: Run): void {
  open.delete(run);
  if (open.size > 0 || !installed) return;
  installed = false;
  process.off('SIGINT', onSignal);
  process.off('SIGTERM', onSignal);
  process.off('exit', onExit);
}

function onSignal(signal: NodeJS.Signals): void {
  const userHandlers = process.listenerCount(signal) - 1;
  if (userHandlers > 0) {
    for (const run of open) flushQuietly(run);
    return;
  }
  for (const run of [...open]) endQuietly(run, 'aborted');
  process.off('SIGINT', onSignal);
  process.off('SIGTERM', onSignal);
  process.kill(process.pid, signal);
}

function onExit(code: number): void {
  for (const run of [...open]) endQuietly(run, code === 0 ? 'finished' : 'crashed');
}

function flushQuietly(run: Run): void {
  try {
    run.flush();
  } catch (error) {
    process.stderr.write(`swanlog: run ${run.id}: could not flush on signal: ${(error as Error).message}\n`);
  }
}

function endQuietly(run: Run, state: 'finished' | 'aborted' | 'crashed'): void {
  try {
    run.endNow(state);
  } catch (error) {
    process.stderr.write(`swanlog: run ${run.id}: could not end the run: ${(error as Error).message}\n`);
  }
}
