import { resolve } from 'node:path';
import { SwanlogError } from '@swanlog/protocol';
import { createRun, deepMerge, findRunDir, generateRunId, RunReader, RunWriter } from '@swanlog/store';
import { resolveCloudTarget } from './cloud-init.js';
import { CloudUploader } from './cloud-uploader.js';
import { type InitOptions, type ResolvedOptions, resolveOptions } from './options.js';
import { Run } from './run.js';

/**
 * Starts a run, or resumes one by id:
 *
 * | resume | run with this id exists | does not exist |
 * |---|---|---|
 * | must | reopen it | RUN_NOT_FOUND |
 * | allow | reopen it | new run with that id |
 * | never (default) | an id is INVALID_OPTION | new run, fresh id |
 *
 * Options left unset come from SWANLOG_* environment variables (SWANLAB_RESUME and SWANLAB_RUN_ID
 * are aliases). In cloud mode the run is also uploaded live, and resuming looks on the server.
 */
export async function init(options: InitOptions = {}): Promise<Run> {
  const o = resolveOptions(options, process.env, process.cwd());
  if (o.cloud === undefined) return openResolved(o);
  const { host, apiKey, finishTimeout } = o.cloud;
  const target = await resolveCloudTarget(o, host, apiKey);
  const run = openRun(o, target, { minClock: target.minClock, lastStepFloor: target.serverLastStep });
  run.attachUploader(new CloudUploader({ dir: target.dir, host, apiKey }), finishTimeout);
  return run;
}

/** `init()` without the promise, for scripts that cannot await (not for cloud mode). */
export function initSync(options: InitOptions = {}, env: NodeJS.ProcessEnv = process.env): Run {
  const o = resolveOptions(options, env, process.cwd());
  if (o.cloud !== undefined) {
    throw new SwanlogError('INVALID_OPTION', 'cloud mode talks to the server: it needs `await init()`', {
      hint: 'use await init({ mode: "cloud", ... }), or initSync with mode offline and `swanlog sync` later',
    });
  }
  return openResolved(o);
}

function openResolved(o: ResolvedOptions): Run {
  if (o.mode === 'disabled') return disabledRun(o);
  return openRun(o, locateRun(o, resolve(o.logdir)), { minClock: 0, lastStepFloor: null });
}

function openRun(
  o: ResolvedOptions,
  target: { dir: string; created: boolean },
  extra: { minClock: number; lastStepFloor: number | null },
): Run {
  const writer = RunWriter.open({
    dir: target.dir,
    resumed: !target.created,
    ...(o.fromStep !== undefined && !target.created ? { fromStep: o.fromStep } : {}),
    ...(o.config !== undefined && !target.created ? { configPatch: o.config } : {}),
    flushIntervalMs: o.flushInterval,
    minClock: extra.minClock,
  });
  const reader = RunReader.open(target.dir);
  let config: Record<string, unknown>;
  let meta: RunReader['meta'];
  try {
    config = reader.config();
    meta = reader.meta;
  } finally {
    reader.close();
  }
  return new Run({
    id: meta.id,
    dir: target.dir,
    mode: o.mode,
    project: meta.project,
    workspace: meta.workspace,
    name: meta.name,
    config,
    resumed: !target.created,
    fromStep: o.fromStep,
    writer,
    lastStepFloor: maxOrNull(meta.seedLastStep, extra.lastStepFloor),
    onInvalid: o.onInvalid,
  });
}

function maxOrNull(a: number | null, b: number | null): number | null {
  if (a === null) return b;
  if (b === null) return a;
  return Math.max(a, b);
}

function locateRun(o: ResolvedOptions, logdir: string): { dir: string; created: boolean } {
  if (o.id !== undefined) {
    const existing = findRunDir(logdir, o.id);
    if (existing !== undefined) return { dir: existing, created: false };
    if (o.resume === 'must') {
      throw new SwanlogError('RUN_NOT_FOUND', `no run with id ${o.id} under ${logdir}`, {
        hint: "check the id and the logdir (SWANLOG_LOGDIR), or use resume: 'allow' to create the run",
      });
    }
  }
  return createRun({
    logdir,
    id: o.id ?? generateRunId(),
    project: o.project,
    workspace: o.workspace,
    name: o.name,
    formatVersion: o.formatVersion,
    ...(o.config !== undefined ? { config: o.config } : {}),
  });
}

function disabledRun(o: ResolvedOptions): Run {
  return new Run({
    id: o.id ?? generateRunId(),
    dir: null,
    mode: 'disabled',
    project: o.project,
    workspace: o.workspace,
    name: o.name,
    config: o.config === undefined ? {} : deepMerge({}, o.config),
    resumed: false,
    fromStep: undefined,
    writer: null,
    lastStepFloor: null,
    onInvalid: o.onInvalid,
  });
}
