import { describeValue, isPlainObject, isSwanlogError, SwanlogError } from '@swanlog/protocol';
import type { JsonObject, RunWriter } from '@swanlog/store';
import { Checkpointer, type CheckpointsOptions } from './checkpoints.js';
import type { CloudUploader } from './cloud-uploader.js';
import { dropInvalidKeys, flattenLogData, type SkippedKey } from './flatten-log-data.js';
import type { Mode, OnInvalid } from './options.js';
import { trackRun, untrackRun } from './signals.js';

export interface RunInit {
  id: string;
  dir: string | null;
  mode: Mode;
  project: string;
  workspace: string | null;
  name: string | null;
  config: JsonObject;
  resumed: boolean;
  fromStep: number | undefined;
  writer: RunWriter | null;
  /** The run's last step known from elsewhere (the server, or a partial directory's seed). */
  lastStepFloor: number | null;
  onInvalid: OnInvalid;
}

/** What `log()` takes: numbers by key; nested plain objects flatten to `parent/child` keys. */
export interface LogData {
  [key: string]: number | LogData;
}

/**
 * A run handle, returned by `init()`. `log()` is synchronous and cheap: values go into memory
 * buffers that are committed to the run directory at most `flushInterval` ms apart.
 */
export class Run {
  readonly id: string;
  /** The run directory; null in disabled mode. */
  readonly dir: string | null;
  readonly mode: Mode;
  readonly project: string;
  readonly workspace: string | null;
  readonly name: string | null;
  /** True when init() reopened an existing run. */
  readonly resumed: boolean;
  private readonly writer: RunWriter | null;
  private readonly mergedConfig: JsonObject;
  private nextStep: number;
  private highestStep: number;
  private warnOnRewrite: boolean;
  private finishing: Promise<void> | undefined;
  private uploader: CloudUploader | undefined;
  private finishTimeout = 30_000;
  private readonly onInvalid: OnInvalid;
  /** Keys already warned about under onInvalid 'warn': one warning per key per handle. */
  private readonly warnedKeys = new Set<string>();

  constructor(init: RunInit) {
    this.id = init.id;
    this.dir = init.dir;
    this.mode = init.mode;
    this.project = init.project;
    this.workspace = init.workspace;
    this.name = init.name;
    this.resumed = init.resumed;
    this.writer = init.writer;
    this.mergedConfig = init.config;
    this.onInvalid = init.onInvalid;
    const local = init.writer?.lastVisibleStepAtOpen ?? null;
    const last = local === null ? init.lastStepFloor : Math.max(local, init.lastStepFloor ?? local);
    this.nextStep = init.fromStep !== undefined ? init.fromStep + 1 : last === null ? 0 : last + 1;
    this.highestStep = last ?? -1;
    this.warnOnRewrite = init.resumed && init.fromStep === undefined && last !== null;
    if (this.writer !== null) trackRun(this);
  }

  /** The run's config: every revision merged. A copy; changing it changes nothing stored. */
  get config(): JsonObject {
    return structuredClone(this.mergedConfig);
  }

  /** The step the next `log()` without a step will use. */
  get step(): number {
    return this.nextStep;
  }

  /** How many `log()` calls of this handle are durable on disk (survive a SIGKILL). */
  get flushedThrough(): number {
    return this.writer?.flushedThrough ?? 0;
  }

  /** How many `log()` calls this handle has taken. */
  get logged(): number {
    return this.writer?.appended ?? 0;
  }

  /**
   * Logs numbers at `step` (default: the handle's counter, which then advances by one; an explicit
   * step `s` moves the counter to s + 1). `data` is a plain object (an object literal, a
   * `JSON.parse` result or an `Object.create(null)`); its own enumerable string keys are logged,
   * and a nested plain object flattens with "/" (`{ val: { acc: 1 } }` logs `val/acc`). Anything
   * else (a Map, a class instance), a non-number, a bad key or a flattened key that the call also
   * has written out throws INVALID_VALUE, stores nothing of that call and leaves the counter as it
   * was; with `onInvalid: 'warn'` such keys are skipped instead (one warning per key) and the rest
   * is logged. STORAGE_FULL (a flush met a full disk) is thrown after the call was taken: its
   * values wait in memory with every unwritten point, for the next flush.
   */
  log(data: LogData, step?: number): void {
    if (this.writer === null) return;
    const s = step ?? this.nextStep;
    if (!isPlainObject(data)) throw notPlainObject(this.id, data);
    const taken = this.writer.appended;
    let skipped: SkippedKey[] = [];
    try {
      // Symbol keys are own keys too; the writer sees string keys only, so they take the slow path.
      if (Object.getOwnPropertySymbols(data).length > 0) skipped = this.appendChecked(data, s);
      else {
        try {
          // The usual call (flat numbers, known keys) costs no more than the writer's own checks.
          this.writer.append(data as Record<string, number>, s);
        } catch (error) {
          // The writer refuses a call before taking any of it: a nested object or, under
          // onInvalid 'warn', a bad key goes again the slow way. A bad step no flattening mends.
          if (!isSwanlogError(error, 'INVALID_VALUE') || !isStep(s) || this.writer.appended > taken)
            throw error;
          skipped = this.appendChecked(data, s);
        }
      }
    } finally {
      // A STORAGE_FULL from append() comes after it took the call: the counter moves past it too.
      if (this.writer.appended > taken) {
        this.advance(s);
        this.warnSkipped(skipped);
      }
    }
  }

  /** Commits every buffered point now. */
  flush(): void {
    this.writer?.flush();
  }

  /**
   * Flushes everything and marks the run finished. Safe to call twice. A storage failure
   * (STORAGE_FULL) leaves the run running with every unwritten point in memory: `log()` still
   * takes values, and `finish()` may be called again once there is space.
   */
  finish(): Promise<void> {
    this.finishing ??= this.end('finished').catch((error: unknown) => {
      this.finishing = undefined;
      throw error;
    });
    return this.finishing;
  }

  /** Ends the run in `state` without waiting (exit and signal handlers); uploads stay local for `swanlog sync`. */
  endNow(state: 'finished' | 'aborted' | 'crashed'): void {
    if (this.writer === null || this.writer.isClosed) return;
    untrackRun(this);
    this.uploader?.stop();
    this.writer.close(state);
  }

  /**
   * Checkpoints of this run in `dir` (the experiment's directory): `save(step, data)` first makes
   * every point logged so far durable, then writes the file atomically.
   */
  checkpoints(options: CheckpointsOptions): Checkpointer {
    return new Checkpointer(this, options);
  }

  /** Cloud mode: the background upload of this run directory. */
  attachUploader(uploader: CloudUploader, finishTimeout: number): void {
    this.uploader = uploader;
    this.finishTimeout = finishTimeout;
  }

  private async end(state: 'finished' | 'aborted'): Promise<void> {
    if (this.writer === null) return;
    untrackRun(this);
    try {
      await this.writer.finish(state);
    } catch (error) {
      // Still open: the exit and signal handlers end it if the process stops before a retry.
      if (!this.writer.isClosed) trackRun(this);
      throw error;
    }
    if (this.uploader === undefined) return;
    const result = await this.uploader.drain(this.finishTimeout);
    if (!result.complete) {
      const why =
        result.error === null
          ? 'the upload did not complete'
          : `${result.error.code}: ${result.error.message}`;
      process.stderr.write(
        `swanlog: run ${this.id} is finished and safe on disk, but not fully uploaded (${why}).\n` +
          `swanlog: finish the upload with: swanlog sync ${this.dir}\n`,
      );
    }
  }

  /** Flattens the call and checks every key; under onInvalid 'warn' logs what is left and says what was skipped. */
  private appendChecked(data: Record<string, unknown>, step: number): SkippedKey[] {
    const writer = this.writer!;
    const warn = this.onInvalid === 'warn';
    const flat = flattenLogData(this.id, data, warn);
    if (!warn) {
      writer.append(flat.values, step);
      return [];
    }
    const kept = dropInvalidKeys(flat.values);
    writer.append(kept.values, step);
    return flat.skipped.concat(kept.skipped);
  }

  private warnSkipped(skipped: SkippedKey[]): void {
    for (const { key, reason } of skipped) {
      if (this.warnedKeys.has(key)) continue;
      this.warnedKeys.add(key);
      const warning = new Error(
        `run ${this.id}: log() skipped key ${JSON.stringify(key)}: ${reason}. ` +
          "Later calls skip it without a warning (onInvalid: 'warn').",
      );
      warning.name = 'SwanlogWarning';
      process.emitWarning(Object.assign(warning, { code: 'SWANLOG_INVALID_SKIPPED', key }));
    }
  }

  private advance(s: number): void {
    if (s <= this.highestStep && this.warnOnRewrite) this.warnRewrite(s);
    if (s > this.highestStep) this.highestStep = s;
    this.nextStep = s + 1;
  }

  private warnRewrite(step: number): void {
    this.warnOnRewrite = false;
    process.emitWarning(
      `run ${this.id}: step ${step} is at or below the run's last step ${this.highestStep}; the new value supersedes the old one. ` +
        'If you restored an older checkpoint, resume with fromStep: <checkpoint step> so every later point is superseded too.',
      { code: 'SWANLOG_STEP_REWRITE' },
    );
  }
}

function isStep(step: number): boolean {
  return Number.isSafeInteger(step) && step >= 0;
}

function notPlainObject(runId: string, data: unknown): SwanlogError {
  const isMap = data instanceof Map;
  return new SwanlogError(
    'INVALID_VALUE',
    `run ${runId}: log() takes a plain object of key → number, got ${describeValue(data)}`,
    {
      hint: isMap
        ? 'pass Object.fromEntries(map) instead of the Map'
        : 'pass an object literal, e.g. run.log({ loss: 0.25, acc: 0.91 }); copy other objects with { ...obj }',
    },
  );
}
