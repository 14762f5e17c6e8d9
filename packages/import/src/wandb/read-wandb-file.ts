import { fromBinary } from '@bufbuild/protobuf';
import { isSwanlogError } from '@swanlog/protocol';
import type { ImportedRecord, JsonObject } from '@swanlog/store';
import {
  type ConfigItem,
  type HistoryRecord,
  RecordSchema,
  type Record as WandbRecord,
} from '../gen/wandb_pb.js';
import { readLevelDbLog, readLogHeader } from '../read-leveldb-log.js';
import { parsePythonJson } from './parse-python-json.js';

/** W&B's file header: ":W&B", magic 0xBEE1 (version 0). */
const WANDB_HEADER = { ident: ':W&B', magic: 0xbee1 };
const HEADER_BYTES = 7;
/** History items that are W&B's bookkeeping, not metrics. */
const NOT_METRICS = new Set(['_step', '_runtime', '_timestamp', '_wandb']);

/** What reading a `.wandb` file carries from one import to the next. */
export interface WandbReaderState {
  /** The last step read (after the offset), null before any history row. */
  lastStep: number | null;
  /** Added to every step of this file: set at its first history row (see importWandb). */
  stepOffset: number | null;
  exitCode: number | null;
}

export const INITIAL_WANDB_STATE: WandbReaderState = { lastStep: null, stepOffset: null, exitCode: null };

export interface WandbRunInfo {
  id: string;
  project: string;
  name: string | null;
  config: JsonObject;
  /** ms */
  startTime: number | null;
}

export interface WandbFileChunk {
  records: ImportedRecord[];
  end: number;
  state: WandbReaderState;
  run: WandbRunInfo | null;
  /** The config changes the run made after it started (`wandb.config.update`), in file order. */
  configUpdates: JsonObject[];
  skipped: Record<string, number>;
  error?: unknown;
}

/**
 * Reads the history rows of one `.wandb` file from absolute offset `offset` (`bytes` holds the file
 * from `base` on). `firstStepOffset` decides the file's step offset at its first history row, from
 * that row's own step (W&B's offline mode ignores `resume`, so a continued run may restart at 0).
 */
export function readWandbFile(options: {
  bytes: Uint8Array;
  base: number;
  offset: number;
  state: WandbReaderState;
  file: string;
  firstStepOffset: (firstStep: number) => number;
}): WandbFileChunk {
  const state = { ...options.state };
  const records: ImportedRecord[] = [];
  const skipped: Record<string, number> = {};
  const skip = (what: string) => {
    skipped[what] = (skipped[what] ?? 0) + 1;
  };
  let run: WandbRunInfo | null = null;
  const configUpdates: JsonObject[] = [];
  let end = options.offset;
  try {
    if (options.offset === 0) {
      if (readLogHeader(options.bytes, options.file, WANDB_HEADER) === undefined) {
        return { records, end: 0, state, run, configUpdates, skipped };
      }
      end = HEADER_BYTES;
    }
    for (const r of readLevelDbLog(options.bytes, options.base, end)) {
      end = r.end;
      if (r.kind === 'damaged') {
        skip('damaged');
        continue;
      }
      let record: WandbRecord;
      try {
        record = fromBinary(RecordSchema, r.data);
      } catch (error) {
        if (!(error instanceof Error)) throw error;
        skip('damaged');
        continue;
      }
      const what = record.recordType;
      if (what.case === 'run') run = runInfo(what.value);
      else if (what.case === 'config') {
        const update = configOf(what.value.update);
        if (Object.keys(update).length > 0) configUpdates.push(update);
      } else if (what.case === 'exit') state.exitCode = what.value.exitCode;
      else if (what.case === 'history') {
        const row = historyRow(what.value, state, skip);
        if (row === undefined) continue;
        state.stepOffset ??= options.firstStepOffset(row.step);
        const step = row.step + state.stepOffset;
        state.lastStep = step;
        if (row.values.size > 0) records.push({ kind: 'point', step, time: row.time, values: row.values });
      }
    }
  } catch (error) {
    if (!isSwanlogError(error, 'SOURCE_CORRUPT')) throw error;
    return { records, end, state, run, configUpdates, skipped, error };
  }
  return { records, end, state, run, configUpdates, skipped };
}

function runInfo(r: NonNullable<Extract<WandbRecord['recordType'], { case: 'run' }>['value']>): WandbRunInfo {
  const start =
    r.startTime === undefined ? null : Number(r.startTime.seconds) * 1000 + r.startTime.nanos / 1e6;
  return {
    id: r.runId,
    project: r.project,
    name: r.displayName === '' ? null : r.displayName,
    config: configOf(r.config?.update ?? []),
    startTime: start,
  };
}

/** The config a run record or config record carries, nested keys as nested objects. */
function configOf(items: ConfigItem[]): JsonObject {
  const config: JsonObject = {};
  for (const item of items) {
    const path = item.key !== '' ? [item.key] : item.nestedKey;
    const value = parsePythonJson(item.valueJson);
    // `_wandb` is W&B's own bookkeeping (versions, telemetry), not the run's config.
    if (path.length === 0 || value === undefined || path[0] === '_wandb') continue;
    let at: JsonObject = config;
    for (const part of path.slice(0, -1)) {
      const next = at[part];
      if (typeof next !== 'object' || next === null || Array.isArray(next)) at[part] = {};
      at = at[part] as JsonObject;
    }
    // W&B stores each config entry as {value, desc}: the value is what the run was given.
    at[path.at(-1)!] = unwrapConfigValue(value) as JsonObject[string];
  }
  return config;
}

function unwrapConfigValue(value: unknown): unknown {
  if (typeof value === 'object' && value !== null && !Array.isArray(value) && 'value' in value) {
    return (value as { value: unknown }).value;
  }
  return value;
}

/** One history row: its step (HistoryRecord.step, else the `_step` item), time and numeric values. */
function historyRow(
  h: HistoryRecord,
  state: WandbReaderState,
  skip: (what: string) => void,
): { step: number; time: number; values: Map<string, number> } | undefined {
  const values = new Map<string, number>();
  let step: number | undefined = h.step === undefined ? undefined : Number(h.step.num);
  let time = Number.NaN;
  const items = h.item.map((item) => ({
    path: item.key !== '' ? [item.key] : item.nestedKey,
    value: parsePythonJson(item.valueJson),
  }));
  // wandb-core writes media (histograms, images) as one item per field: `hist/_type`, `hist/values`.
  const media = new Map<string, string>();
  for (const { path, value } of items) {
    if (path.length > 1 && path.at(-1) === '_type' && typeof value === 'string')
      media.set(path.slice(0, -1).join('/'), value);
  }
  for (const type of media.values()) skip(type);
  for (const { path, value } of items) {
    const key = path.join('/');
    if (key === '_step') {
      if (typeof value === 'number' && step === undefined) step = value;
      continue;
    }
    if (key === '_timestamp') {
      if (typeof value === 'number') time = value * 1000;
      continue;
    }
    if (NOT_METRICS.has(path[0] ?? '') || inMedia(path, media)) continue;
    flatten(key, value, values, skip);
  }
  if (step === undefined) step = state.lastStep === null ? 0 : state.lastStep - (state.stepOffset ?? 0) + 1;
  if (!Number.isSafeInteger(step) || step < 0) {
    skip('invalidStep');
    return undefined;
  }
  return { step, time, values };
}

function inMedia(path: string[], media: Map<string, string>): boolean {
  for (let i = 1; i < path.length; i++) if (media.has(path.slice(0, i).join('/'))) return true;
  return false;
}

/** Nested dicts become keys joined by `/`; media and other non-numbers are counted and skipped. */
function flatten(key: string, value: unknown, out: Map<string, number>, skip: (what: string) => void): void {
  if (typeof value === 'number') {
    out.set(key, value);
    return;
  }
  if (typeof value === 'object' && value !== null && !Array.isArray(value)) {
    const type = (value as { _type?: unknown })._type;
    if (typeof type === 'string') {
      skip(type);
      return;
    }
    for (const [k, v] of Object.entries(value)) flatten(`${key}/${k}`, v, out, skip);
    return;
  }
  skip('nonNumeric');
}
