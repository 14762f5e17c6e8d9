import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { SwanlogError } from '@swanlog/protocol';
import { parse, YAMLParseError } from 'yaml';
import type { ScheduleKind } from './lr-scheduler.js';
import type { Activation } from './mlp.js';

export type SwanlogMode = 'offline' | 'local' | 'cloud' | 'disabled';

/** The trainer's configuration, every default filled in. */
export interface TrainConfig {
  experiment: { name: string; dir: string };
  data: {
    kind: 'spirals' | 'blobs';
    classes: number;
    trainSize: number;
    valSize: number;
    noise: number;
    seed: number;
  };
  model: { hidden: number[]; activation: Activation };
  optimizer: { lr: number; beta1: number; beta2: number; eps: number; weightDecay: number };
  scheduler: { kind: ScheduleKind; minLr: number; warmupEpochs: number; stepEpochs: number; gamma: number };
  training: {
    epochs: number;
    checkpointInterval: number;
    batchesPerEpoch: number;
    batchSize: number;
    seed: number;
    keepCheckpoints: number;
  };
  swanlog: { mode: SwanlogMode; project: string; host: string | undefined; flushInterval: number };
}

/** Reads and validates a YAML config file; `experiment.dir` is resolved against `cwd`. */
export function loadConfig(path: string, cwd: string): TrainConfig {
  let text: string;
  try {
    text = readFileSync(resolve(cwd, path), 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
    throw new SwanlogError('NOT_FOUND', `config file ${resolve(cwd, path)} does not exist`, {
      hint: 'pass --config <file.yaml>, e.g. apps/example-train/configs/test.yaml',
      cause: error,
    });
  }
  return parseConfig(text, path, cwd);
}

/** Validates a YAML config text: a missing key, a wrong type or an unknown key is INVALID_OPTION naming it. */
export function parseConfig(text: string, source: string, cwd: string): TrainConfig {
  let doc: unknown;
  try {
    doc = parse(text);
  } catch (error) {
    if (!(error instanceof YAMLParseError)) throw error;
    throw new SwanlogError('INVALID_OPTION', `config ${source} is not valid YAML: ${error.message}`, {
      hint: 'check the indentation and the colons near the line named',
      cause: error,
    });
  }
  const root = new Section(doc ?? {}, '', source);
  const experiment = root.section('experiment', true);
  const training = root.section('training', true);
  const epochs = training.int('epochs', { min: 1 });
  const batchesPerEpoch = training.int('batches_per_epoch', { min: 1 });
  const seed = training.int('seed', { min: 0 });
  const swanlog = root.section('swanlog', true);
  const mode = swanlog.choice('mode', ['offline', 'local', 'cloud', 'disabled'] as const);
  const data = root.section('data', false);
  const model = root.section('model', false);
  const optimizer = root.section('optimizer', false);
  const scheduler = root.section('scheduler', false);
  const config: TrainConfig = {
    experiment: {
      name: experiment.string('name'),
      dir: resolve(cwd, experiment.string('dir')),
    },
    data: {
      kind: data.choice('kind', ['spirals', 'blobs'] as const, 'spirals'),
      classes: data.int('classes', { min: 2, max: 255 }, 3),
      trainSize: data.int('train_size', { min: 1 }, 600),
      valSize: data.int('val_size', { min: 1 }, 300),
      noise: data.number('noise', { min: 0 }, 0.05),
      seed: data.int('seed', { min: 0 }, seed),
    },
    model: {
      hidden: model.intList('hidden', [32, 32]),
      activation: model.choice('activation', ['tanh', 'relu'] as const, 'tanh'),
    },
    optimizer: {
      lr: optimizer.number('lr', { min: 0, exclusiveMin: true }, 0.01),
      beta1: optimizer.number('beta1', { min: 0, max: 0.999999 }, 0.9),
      beta2: optimizer.number('beta2', { min: 0, max: 0.999999 }, 0.999),
      eps: optimizer.number('eps', { min: 0, exclusiveMin: true }, 1e-8),
      weightDecay: optimizer.number('weight_decay', { min: 0 }, 0),
    },
    scheduler: {
      kind: scheduler.choice('kind', ['cosine', 'step', 'constant'] as const, 'cosine'),
      minLr: scheduler.number('min_lr', { min: 0 }, 0.0005),
      warmupEpochs: scheduler.int('warmup_epochs', { min: 0 }, 0),
      stepEpochs: scheduler.int('step_epochs', { min: 1 }, 10),
      gamma: scheduler.number('gamma', { min: 0, exclusiveMin: true }, 0.5),
    },
    training: {
      epochs,
      checkpointInterval: training.int('checkpoint_interval', { min: 1 }),
      batchesPerEpoch,
      batchSize: training.int('batch_size', { min: 1 }, 32),
      seed,
      keepCheckpoints: training.int('keep_checkpoints', { min: 1 }, 3),
    },
    swanlog: {
      mode,
      project: swanlog.string('project'),
      host: mode === 'cloud' ? swanlog.string('host') : swanlog.optionalString('host'),
      flushInterval: swanlog.int('flush_interval', { min: 0 }, 1000),
    },
  };
  for (const s of [root, experiment, training, swanlog, data, model, optimizer, scheduler]) s.rejectUnknown();
  return config;
}

interface Range {
  min?: number;
  max?: number;
  exclusiveMin?: boolean;
}

/** One mapping of the YAML document; remembers the keys read so unknown ones can be reported. */
class Section {
  private readonly values: Record<string, unknown>;
  private readonly read = new Set<string>();

  constructor(
    value: unknown,
    private readonly path: string,
    private readonly source: string,
  ) {
    if (typeof value !== 'object' || value === null || Array.isArray(value)) {
      throw this.fail(path || '(root)', 'must be a mapping of key: value', 'indent its keys under it', value);
    }
    this.values = value as Record<string, unknown>;
  }

  section(key: string, required: boolean): Section {
    const value = this.get(key, required ? undefined : {});
    return new Section(value, this.name(key), this.source);
  }

  string(key: string): string {
    const value = this.get(key, undefined);
    if (typeof value !== 'string' || value.length === 0) {
      throw this.fail(this.name(key), 'must be a non-empty string', `e.g. ${key}: my-value`, value);
    }
    return value;
  }

  optionalString(key: string): string | undefined {
    this.read.add(key);
    return this.values[key] === undefined || this.values[key] === null ? undefined : this.string(key);
  }

  number(key: string, range: Range, fallback?: number): number {
    const value = this.get(key, fallback);
    if (typeof value !== 'number' || !Number.isFinite(value) || !inRange(value, range)) {
      throw this.fail(
        this.name(key),
        `must be a number ${describe(range)}`,
        `e.g. ${key}: ${fallback ?? range.min ?? 1}`,
        value,
      );
    }
    return value;
  }

  int(key: string, range: Range, fallback?: number): number {
    const value = this.get(key, fallback);
    if (typeof value !== 'number' || !Number.isSafeInteger(value) || !inRange(value, range)) {
      throw this.fail(
        this.name(key),
        `must be an integer ${describe(range)}`,
        `e.g. ${key}: ${fallback ?? range.min ?? 1}`,
        value,
      );
    }
    return value;
  }

  intList(key: string, fallback: number[]): number[] {
    const value = this.get(key, fallback);
    if (!Array.isArray(value) || value.some((v) => !Number.isSafeInteger(v) || (v as number) < 1)) {
      throw this.fail(this.name(key), 'must be a list of positive integers', `e.g. ${key}: [32, 32]`, value);
    }
    return value as number[];
  }

  choice<T extends string>(key: string, allowed: readonly T[], fallback?: T): T {
    const value = this.get(key, fallback);
    if (!allowed.includes(value as T)) {
      throw this.fail(
        this.name(key),
        `must be one of ${allowed.join(', ')}`,
        `use ${allowed.join(', ')}`,
        value,
      );
    }
    return value as T;
  }

  rejectUnknown(): void {
    const unknown = Object.keys(this.values).filter((k) => !this.read.has(k));
    if (unknown.length === 0) return;
    const known = [...this.read].join(', ');
    throw new SwanlogError('INVALID_OPTION', `config ${this.source}: unknown key ${this.name(unknown[0]!)}`, {
      hint: `the keys of ${this.path || 'the top level'} are: ${known} (see apps/example-train/configs/default.yaml)`,
    });
  }

  private get(key: string, fallback: unknown): unknown {
    this.read.add(key);
    const value = this.values[key];
    if (value !== undefined && value !== null) return value;
    if (fallback !== undefined) return fallback;
    throw new SwanlogError('INVALID_OPTION', `config ${this.source}: missing key ${this.name(key)}`, {
      hint: `add ${this.name(key)} (see apps/example-train/configs/default.yaml)`,
    });
  }

  private name(key: string): string {
    return this.path === '' ? key : `${this.path}.${key}`;
  }

  private fail(name: string, rule: string, hint: string, value: unknown): SwanlogError {
    return new SwanlogError(
      'INVALID_OPTION',
      `config ${this.source}: ${name} ${rule}, got ${JSON.stringify(value)}`,
      {
        hint,
      },
    );
  }
}

function inRange(value: number, r: Range): boolean {
  if (r.min !== undefined && (r.exclusiveMin ? value <= r.min : value < r.min)) return false;
  return r.max === undefined || value <= r.max;
}

function describe(r: Range): string {
  const parts: string[] = [];
  if (r.min !== undefined) parts.push(`${r.exclusiveMin ? '>' : '>='} ${r.min}`);
  if (r.max !== undefined) parts.push(`<= ${r.max}`);
  return parts.join(' and ');
}
