import { join } from 'node:path';
import { SwanlogError } from '@swanlog/protocol';
import { type Checkpoint, type InitOptions, init, type Run, resumeFromCheckpoint } from 'swanlog';
import { loadConfig, type TrainConfig } from './load-config.js';
import { createTrainer, type Trainer } from './trainer.js';
import { decodeTrainerState, encodeTrainerState } from './trainer-state.js';

export interface RunTrainingOptions {
  /** The YAML config file. */
  config: string;
  /** Continue the experiment from its latest checkpoint (or start from scratch when it has none). */
  resume: boolean;
  cwd: string;
  env: NodeJS.ProcessEnv;
  /** Receives each line of progress. */
  print: (line: string) => void;
}

export interface TrainingResult {
  runId: string;
  runDir: string | null;
  /** The checkpoint the run resumed from, if any. */
  resumedFrom: number | null;
  epochs: number;
  weightsSha256: string;
}

/**
 * Trains the configured MLP, logging each epoch (step = epoch) to swanlog and saving a checkpoint
 * every `training.checkpoint_interval` epochs and at the last one. With `resume`, restores the
 * experiment's latest checkpoint and resumes its run rewound to that epoch.
 */
export async function runTraining(options: RunTrainingOptions): Promise<TrainingResult> {
  const config = loadConfig(options.config, options.cwd);
  const trainer = createTrainer(config);
  const checkpointDir = join(config.experiment.dir, 'checkpoints');
  const { run, checkpoint } = await openRun(config, checkpointDir, options.resume);
  if (checkpoint !== undefined) await restore(trainer, checkpoint);
  options.print(
    checkpoint === undefined
      ? `started run ${run.id} (${config.experiment.name}) at epoch 1 of ${config.training.epochs}; logging to ${run.dir ?? '(disabled)'}`
      : `resumed run ${run.id} from the checkpoint of epoch ${checkpoint.step} (${checkpoint.path}); ${
          checkpoint.step < config.training.epochs
            ? `continuing at epoch ${checkpoint.step + 1} of ${config.training.epochs}`
            : `all ${config.training.epochs} epochs are done`
        }`,
  );
  if (options.resume && checkpoint === undefined) {
    options.print(`no checkpoint in ${checkpointDir}: started from scratch (epoch 1)`);
  }
  const checkpoints = run.checkpoints({ dir: checkpointDir, keep: config.training.keepCheckpoints });
  const hangAfter = Number(options.env.EXAMPLE_TRAIN_HANG_AFTER_EPOCH ?? Number.NaN);
  while (trainer.epoch < config.training.epochs) {
    const started = performance.now();
    const { epoch, trainLoss, lr } = trainer.trainEpoch();
    const { valLoss, valAcc } = trainer.evaluate();
    const seconds = (performance.now() - started) / 1000;
    run.log(
      {
        'train/loss': trainLoss,
        'val/loss': valLoss,
        'val/acc': valAcc,
        'train/lr': lr,
        'time/epoch_s': seconds,
      },
      epoch,
    );
    // An epoch is worth a commit: once its line is printed, its metrics survive a SIGKILL.
    run.flush();
    options.print(
      `epoch ${epoch} train_loss=${trainLoss.toFixed(6)} val_loss=${valLoss.toFixed(6)} val_acc=${valAcc.toFixed(4)}`,
    );
    if (epoch === hangAfter) hangForever();
    if (epoch % config.training.checkpointInterval === 0 || epoch === config.training.epochs) {
      await checkpoints.save(epoch, encodeTrainerState(trainer.snapshot()));
    }
  }
  await run.finish();
  const weightsSha256 = trainer.weightsHash();
  options.print(`finished run ${run.id}`);
  options.print(`final weights sha256=${weightsSha256}`);
  return {
    runId: run.id,
    runDir: run.dir,
    resumedFrom: checkpoint?.step ?? null,
    epochs: trainer.epoch,
    weightsSha256,
  };
}

async function openRun(
  config: TrainConfig,
  checkpointDir: string,
  resume: boolean,
): Promise<{ run: Run; checkpoint: Checkpoint | undefined }> {
  const s = config.swanlog;
  const initOptions: InitOptions = {
    project: s.project,
    name: config.experiment.name,
    mode: s.mode,
    logdir: join(config.experiment.dir, 'swanlog'),
    flushInterval: s.flushInterval,
    config: runConfig(config),
    // The API key comes from SWANLOG_API_KEY, never from the config file.
    ...(s.host === undefined ? {} : { host: s.host }),
  };
  if (!resume) return { run: await init(initOptions), checkpoint: undefined };
  return resumeFromCheckpoint(checkpointDir, initOptions);
}

async function restore(trainer: Trainer, checkpoint: Checkpoint): Promise<void> {
  const payload = await checkpoint.read();
  if (!(payload instanceof Uint8Array)) {
    throw new SwanlogError(
      'CHECKPOINT_CORRUPT',
      `checkpoint ${checkpoint.path} holds JSON, not a trainer state`,
      {
        hint: 'it was not written by example-train; start without --resume or use another experiment.dir',
      },
    );
  }
  const state = decodeTrainerState(payload, checkpoint.path);
  if (state.epoch !== checkpoint.step) {
    throw new SwanlogError(
      'CHECKPOINT_CORRUPT',
      `checkpoint ${checkpoint.path} is of step ${checkpoint.step} but holds epoch ${state.epoch}`,
      { hint: 'remove it; --resume then uses the checkpoint before it' },
    );
  }
  if (state.layers.join(',') !== trainer.mlp.layers.join(',')) {
    throw new SwanlogError(
      'INVALID_OPTION',
      `checkpoint ${checkpoint.path} has layers [${state.layers.join(', ')}], the config gives [${trainer.mlp.layers.join(', ')}]`,
      { hint: 'resume with the config the experiment started with, or use a new experiment.dir' },
    );
  }
  trainer.restore(state);
}

/** What the run records as its config: the resolved settings (paths and secrets left out). */
function runConfig(config: TrainConfig): Record<string, unknown> {
  const { experiment, swanlog, ...rest } = config;
  return {
    experiment: { name: experiment.name },
    ...rest,
    swanlog: { mode: swanlog.mode, project: swanlog.project },
  };
}

/**
 * Test hook (EXAMPLE_TRAIN_HANG_AFTER_EPOCH=N): after epoch N's line, block like a stuck job, so a
 * test can SIGKILL the process at exactly that point instead of racing the next epoch.
 */
function hangForever(): never {
  const cell = new Int32Array(new SharedArrayBuffer(4));
  for (;;) Atomics.wait(cell, 0, 0);
}
