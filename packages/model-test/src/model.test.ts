import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  CopyCommand,
  FinishCommand,
  KillCommand,
  LogCommand,
  NewRunCommand,
  ResumeCommand,
  SyncCommand,
} from './commands.js';
import { formatFailure, runModel, runSequence } from './run-model.js';

// Found by the model test (seed 1, path 0:4:6:5:4:4:3:3 before the fix): a copy carried the
// original's sync records, so syncing the resumed copy continued the ORIGINAL experiment.
test('copy × sync: a resumed copy syncs into its own experiment, the original is untouched', async () => {
  await runSequence([
    new NewRunCommand('inproc', false, { lr: 0.1 }),
    new LogCommand(0, 10, ['loss'], null),
    new FinishCommand(0),
    new SyncCommand(0, 'auto'),
    new CopyCommand(0),
    new ResumeCommand(1, 'must', 3, { lr: 0.01 }, 'inproc'),
    new LogCommand(0, 5, ['loss', 'acc'], null),
    new FinishCommand(0),
    new SyncCommand(1, 'auto'),
    new SyncCommand(0, 'auto'),
  ]);
});

// Found by the model test (seed 2, path 2:5:5:2 before the fix): a killed writer left as a zombie
// counted as alive, so the run said running, and after a resume and finish it never said finished.
test('zombie × resume: a killed, unreaped writer is dead; resumed and finished, the run is finished', async () => {
  await runSequence([
    new NewRunCommand('child-zombie', false, null),
    new LogCommand(0, 20, ['loss'], null),
    new KillCommand(0),
    new SyncCommand(0, 'auto'),
    new ResumeCommand(0, true, null, null, 'inproc'),
    new LogCommand(0, 5, ['loss'], null),
    new FinishCommand(0),
    new SyncCommand(0, 'auto'),
  ]);
});

// Found by the model test after the first trust fixes (seed 777, path
// 248:9:6:7:10:10:12:12:9:9:9:9:10:10): copyRun ended every open session as crashed at the copy's
// time, a dead one included, which moved its death after every later session's start. The
// original was finished (the killed writer's death was followed by the resumed writer that
// finished); its copy said crashed.
test('copy of a finished run whose killed writer a later session took over from is finished too', async () => {
  await runSequence([
    new NewRunCommand('child', false, null),
    new LogCommand(0, 5, ['loss'], null),
    new ResumeCommand(0, 'allow', null, null, 'inproc'),
    new KillCommand(0),
    new FinishCommand(0),
    new SyncCommand(0, 'auto'),
    new CopyCommand(0),
  ]);
});

// A fixed budget of random sequences (about two minutes on the 2-core CI machine); soak with
// `pnpm test:model --runs N` (a random seed each time, printed for replay).
test('random user workflows: what ls/show/export and the server answer equals the model', async () => {
  const seed = Number(process.env.SWANLOG_MODEL_SEED ?? 20261202);
  const runs = Number(process.env.SWANLOG_MODEL_RUNS ?? 80);
  const report = await runModel({ seed, runs });
  assert.equal(report.failure, undefined, formatFailure(report));
});
