import { basename } from 'node:path';
import { describeValue, isValidName, SwanlogError } from '@swanlog/protocol';
import { assertRunId, type JsonObject } from '@swanlog/store';

export type Mode = 'offline' | 'local' | 'cloud' | 'disabled';
export type ResumeOption = 'must' | 'allow' | 'never' | boolean;
export type Resume = 'must' | 'allow' | 'never';
export type OnInvalid = 'raise' | 'warn';

export interface InitOptions {
  /** Project name; default SWANLOG_PROJECT, else the current directory's name. */
  project?: string;
  workspace?: string;
  /** Display name of the run. */
  name?: string;
  /** Config of the run; on resume, a new revision deep-merged into the current config (null removes a key). */
  config?: Record<string, unknown>;
  /** offline (default) | local | disabled. */
  mode?: Mode;
  /** Where run directories live; default SWANLOG_LOGDIR, else ./swanlog. */
  logdir?: string;
  /** Run id to resume or create (1-64 of [A-Za-z0-9_-]); needs `resume`. */
  id?: string;
  /** must | allow | never (default) | true (= allow) | false (= never). */
  resume?: ResumeOption;
  /** Rewind: resume and supersede every point with step > fromStep. */
  fromStep?: number;
  /** Milliseconds between flushes to disk; 0 flushes on every log(). Default 1000. */
  flushInterval?: number;
  /**
   * What log() does with a bad key or value: 'raise' (default) throws INVALID_VALUE and stores
   * nothing of the call; 'warn' skips that key with one warning per key per handle and logs the rest.
   */
  onInvalid?: OnInvalid;
  /** Cloud mode: the server's URL; default SWANLOG_HOST. */
  host?: string;
  /** Cloud mode: an API key with write scope; default SWANLOG_API_KEY. */
  apiKey?: string;
  /** Cloud mode: how long finish() waits for the upload to complete, in ms. Default 30000. */
  finishTimeout?: number;
  /**
   * Format version of a run this call creates: 2 (the default; compressed values) or 1, for a run
   * that a swanlog older than format 2 must read. Default SWANLOG_FORMAT_VERSION. A resumed run
   * keeps its own version.
   */
  formatVersion?: 1 | 2;
}

export interface ResolvedOptions {
  mode: Mode;
  resume: Resume;
  id: string | undefined;
  fromStep: number | undefined;
  logdir: string;
  project: string;
  workspace: string | null;
  name: string | null;
  config: JsonObject | undefined;
  flushInterval: number;
  onInvalid: OnInvalid;
  formatVersion: 1 | 2;
  /** Set in cloud mode. */
  cloud: { host: string; apiKey: string; finishTimeout: number } | undefined;
}

const MODES: readonly Mode[] = ['offline', 'local', 'cloud', 'disabled'];
const RESUME_WORDS: Record<string, Resume> = {
  must: 'must',
  allow: 'allow',
  never: 'never',
  true: 'allow',
  false: 'never',
  '1': 'allow',
  '0': 'never',
  yes: 'allow',
  no: 'never',
};

/** Fills what `options` leave unset from the environment, and checks every value. */
export function resolveOptions(options: InitOptions, env: NodeJS.ProcessEnv, cwd: string): ResolvedOptions {
  const mode = resolveMode(options.mode, env);
  const resume = resolveResume(options.resume, env);
  const id = options.id ?? envValue(env, 'SWANLOG_RUN_ID') ?? envValue(env, 'SWANLAB_RUN_ID');
  const idSource =
    options.id !== undefined
      ? 'id'
      : envValue(env, 'SWANLOG_RUN_ID') !== undefined
        ? 'SWANLOG_RUN_ID'
        : 'SWANLAB_RUN_ID';
  if (id !== undefined) assertRunId(id, idSource);
  const fromStep = resolveFromStep(options.fromStep, env);
  if (id !== undefined && resume === 'never') {
    throw new SwanlogError(
      'INVALID_OPTION',
      `${idSource} ${JSON.stringify(id)} is set but resume is 'never'`,
      {
        hint: "use resume: 'allow' (or SWANLOG_RESUME=allow) to resume the run with that id or create it",
      },
    );
  }
  if (id === undefined && resume === 'must') {
    throw new SwanlogError('INVALID_OPTION', "resume: 'must' needs the id of the run to resume", {
      hint: 'pass id (or set SWANLOG_RUN_ID) to the id printed when the run started',
    });
  }
  if (fromStep !== undefined && id === undefined) {
    throw new SwanlogError(
      'INVALID_OPTION',
      `fromStep ${fromStep} rewinds a resumed run, but no run id is given`,
      {
        hint: "pass id and resume: 'must' with fromStep, e.g. from a checkpoint",
      },
    );
  }
  const flushInterval = options.flushInterval ?? 1000;
  if (!Number.isFinite(flushInterval) || flushInterval < 0) {
    throw new SwanlogError(
      'INVALID_OPTION',
      `flushInterval ${flushInterval} is not a number of milliseconds >= 0`,
      {
        hint: 'use 1000 (the default), or 0 to flush on every log()',
      },
    );
  }
  return {
    mode,
    resume,
    id,
    fromStep,
    logdir: options.logdir ?? envValue(env, 'SWANLOG_LOGDIR') ?? './swanlog',
    project: checkName(
      'project',
      options.project ?? envValue(env, 'SWANLOG_PROJECT') ?? (basename(cwd) || 'default'),
    ),
    workspace: nullable('workspace', options.workspace ?? envValue(env, 'SWANLOG_WORKSPACE')),
    name: nullable('name', options.name),
    config: options.config === undefined ? undefined : toJsonConfig(options.config),
    flushInterval,
    onInvalid: resolveOnInvalid(options.onInvalid),
    formatVersion: resolveFormatVersion(options.formatVersion, env),
    cloud: mode === 'cloud' ? resolveCloud(options, env) : undefined,
  };
}

function resolveFormatVersion(option: unknown, env: NodeJS.ProcessEnv): 1 | 2 {
  const raw = option ?? envValue(env, 'SWANLOG_FORMAT_VERSION');
  if (raw === undefined) return 2;
  if (raw === 1 || raw === '1') return 1;
  if (raw === 2 || raw === '2') return 2;
  const source = option === undefined ? 'SWANLOG_FORMAT_VERSION' : 'formatVersion';
  const shown =
    typeof raw === 'string'
      ? JSON.stringify(raw)
      : typeof raw === 'number'
        ? String(raw)
        : describeValue(raw);
  throw new SwanlogError('INVALID_OPTION', `${source} ${shown} is not a run-directory format version`, {
    hint: 'use 2 (the default) or 1 (for runs an older swanlog must read)',
  });
}

function resolveOnInvalid(option: unknown): OnInvalid {
  if (option === undefined || option === 'raise') return 'raise';
  if (option === 'warn') return 'warn';
  const shown = typeof option === 'string' ? JSON.stringify(option) : describeValue(option);
  throw new SwanlogError('INVALID_OPTION', `onInvalid ${shown} is not a choice`, {
    hint: "use 'raise' (the default: a bad key or value throws) or 'warn' (it is skipped with a warning)",
  });
}

function resolveCloud(options: InitOptions, env: NodeJS.ProcessEnv): ResolvedOptions['cloud'] {
  const host = options.host ?? envValue(env, 'SWANLOG_HOST');
  const apiKey = options.apiKey ?? envValue(env, 'SWANLOG_API_KEY');
  if (host === undefined || !/^https?:\/\/\S+$/.test(host)) {
    throw new SwanlogError(
      'INVALID_OPTION',
      `cloud mode needs the server's URL; host is ${JSON.stringify(host)}`,
      {
        hint: 'pass host (or set SWANLOG_HOST), e.g. http://swanlog.internal:5090',
      },
    );
  }
  if (apiKey === undefined) {
    throw new SwanlogError('INVALID_OPTION', 'cloud mode needs an API key with write scope', {
      hint: 'pass apiKey (or set SWANLOG_API_KEY); create one with `swanlog server key create`',
    });
  }
  const finishTimeout = options.finishTimeout ?? 30_000;
  if (!Number.isFinite(finishTimeout) || finishTimeout < 0) {
    throw new SwanlogError(
      'INVALID_OPTION',
      `finishTimeout ${finishTimeout} is not a number of milliseconds >= 0`,
      {
        hint: 'the default is 30000',
      },
    );
  }
  return { host: host.replace(/\/+$/, ''), apiKey, finishTimeout };
}

function envValue(env: NodeJS.ProcessEnv, name: string): string | undefined {
  const v = env[name];
  return v === undefined || v === '' ? undefined : v;
}

function resolveMode(option: Mode | undefined, env: NodeJS.ProcessEnv): Mode {
  const raw = option ?? envValue(env, 'SWANLOG_MODE') ?? 'offline';
  const mode = (option === undefined ? raw.toLowerCase() : raw) as Mode;
  const source = option === undefined ? 'SWANLOG_MODE' : 'mode';
  if (!MODES.includes(mode)) {
    throw new SwanlogError('INVALID_OPTION', `${source} ${JSON.stringify(raw)} is not a mode`, {
      hint: 'use offline, local, cloud or disabled',
    });
  }
  return mode;
}

function resolveResume(option: ResumeOption | undefined, env: NodeJS.ProcessEnv): Resume {
  if (option !== undefined) {
    if (option === true) return 'allow';
    if (option === false) return 'never';
    if (option === 'must' || option === 'allow' || option === 'never') return option;
    throw new SwanlogError('INVALID_OPTION', `resume ${JSON.stringify(option)} is not a resume value`, {
      hint: "use 'must', 'allow', 'never', true or false",
    });
  }
  for (const name of ['SWANLOG_RESUME', 'SWANLAB_RESUME']) {
    const raw = envValue(env, name);
    if (raw === undefined) continue;
    const value = RESUME_WORDS[raw.trim().toLowerCase()];
    if (value === undefined) {
      throw new SwanlogError('INVALID_OPTION', `${name}=${JSON.stringify(raw)} is not a resume value`, {
        hint: 'use must, allow, never, true, false, 1, 0, yes or no (any case)',
      });
    }
    return value;
  }
  return 'never';
}

function resolveFromStep(option: number | undefined, env: NodeJS.ProcessEnv): number | undefined {
  if (option !== undefined) {
    if (!Number.isSafeInteger(option) || option < 0) {
      throw new SwanlogError('INVALID_OPTION', `fromStep ${option} is not a step`, {
        hint: 'fromStep is a non-negative integer: the step saved with the checkpoint you restored',
      });
    }
    return option;
  }
  const raw = envValue(env, 'SWANLOG_RESUME_FROM_STEP');
  if (raw === undefined) return undefined;
  const value = Number(raw.trim());
  if (!/^\d+$/.test(raw.trim()) || !Number.isSafeInteger(value)) {
    throw new SwanlogError(
      'INVALID_OPTION',
      `SWANLOG_RESUME_FROM_STEP=${JSON.stringify(raw)} is not a step`,
      {
        hint: 'set it to a non-negative integer, the step of the checkpoint you restored',
      },
    );
  }
  return value;
}

function checkName(label: string, value: unknown): string {
  if (typeof value !== 'string' || !isValidName(value)) {
    const shown = typeof value === 'string' ? JSON.stringify(value) : describeValue(value);
    throw new SwanlogError('INVALID_OPTION', `${label} ${shown} is not a valid ${label}`, {
      hint: `a ${label} is 1-255 characters of well-formed text (no lone surrogate) without control characters`,
    });
  }
  return value;
}

function nullable(label: string, value: unknown): string | null {
  return value === undefined || value === null ? null : checkName(label, value);
}

/**
 * The config as stored: plain JSON. Non-finite numbers, non-JSON values and strings or keys that
 * are not well-formed UTF-16 are INVALID_VALUE.
 */
export function toJsonConfig(config: unknown): JsonObject {
  if (typeof config !== 'object' || config === null || Array.isArray(config)) {
    throw new SwanlogError('INVALID_VALUE', `config must be an object, got ${describeValue(config)}`, {
      hint: 'pass config as { key: value, ... }',
    });
  }
  const text = JSON.stringify(config, function (this: unknown, key: string, value: unknown) {
    const at = key === '' ? 'config' : `config.${key}`;
    if (!key.isWellFormed()) {
      throw new SwanlogError('INVALID_VALUE', `config key ${JSON.stringify(key)} is not well-formed text`, {
        hint: 'a lone surrogate (half of an emoji, say) would be shown as U+FFFD; fix or drop the key',
      });
    }
    if (typeof value === 'string' && !value.isWellFormed()) {
      throw new SwanlogError(
        'INVALID_VALUE',
        `${at} is ${describeValue(value)}, which is not well-formed text`,
        { hint: 'a lone surrogate (half of an emoji, say) would be shown as U+FFFD; fix or drop it' },
      );
    }
    if (typeof value === 'number' && !Number.isFinite(value)) {
      throw new SwanlogError('INVALID_VALUE', `${at} is ${value}, which JSON cannot hold`, {
        hint: 'store it as a string, e.g. "NaN", or leave it out',
      });
    }
    if (typeof value === 'bigint' || typeof value === 'function' || typeof value === 'symbol') {
      throw new SwanlogError('INVALID_VALUE', `${at} is ${describeValue(value)}, which JSON cannot hold`, {
        hint: 'config values are strings, numbers, booleans, null, arrays and objects',
      });
    }
    return value;
  });
  return JSON.parse(text) as JsonObject;
}
