import { fromBinary } from '@bufbuild/protobuf';
import { isSwanlogError } from '@swanlog/protocol';
import type { ImportedRecord } from '@swanlog/store';
import { RecordSchema, type Record as SwanlabRecord, type Timestamp } from '../gen/swanlab_pb.js';
import { readLevelDbLog, readLogHeader } from '../read-leveldb-log.js';
import { parsePythonJson } from '../wandb/parse-python-json.js';

/** SwanLab's file header: ":SWL", magic 0xE1D6; version 2 holds protobuf records, 0 and 1 JSON. */
const SWANLAB_HEADER = { ident: ':SWL', magic: 0xe1d6 };
const HEADER_BYTES = 7;

/** What reading a `.swanlab` file carries from one import to the next. */
export interface SwanlabReaderState {
  /** The header's version (null before the header was read). */
  version: number | null;
  /** How the run ended as far as the file tells: null while no finish record was read. */
  finish: 'finished' | 'crashed' | null;
}

export const INITIAL_SWANLAB_STATE: SwanlabReaderState = { version: null, finish: null };

export interface SwanlabRunInfo {
  id: string | null;
  project: string | null;
  name: string | null;
  /** ms */
  startTime: number | null;
}

export interface SwanlabFileChunk {
  records: ImportedRecord[];
  end: number;
  state: SwanlabReaderState;
  run: SwanlabRunInfo;
  skipped: Record<string, number>;
  error?: unknown;
}

/**
 * Reads the scalars of one SwanLab run file from absolute offset `offset` (`bytes` holds the file
 * from `base` on): `run-<id>.swanlab` (SwanLab >= 0.8, protobuf records) or `backup.swanlab`
 * (0.6-0.7, JSON records). Scalars of one step that follow each other become one record; media,
 * logs, columns and other records are counted by kind and skipped.
 */
export function readSwanlabFile(options: {
  bytes: Uint8Array;
  base: number;
  offset: number;
  state: SwanlabReaderState;
  file: string;
}): SwanlabFileChunk {
  const state = { ...options.state };
  const records: ImportedRecord[] = [];
  const skipped: Record<string, number> = {};
  const skip = (what: string) => {
    skipped[what] = (skipped[what] ?? 0) + 1;
  };
  const run: SwanlabRunInfo = { id: null, project: null, name: null, startTime: null };
  let end = options.offset;
  const add = (step: number, time: number, key: string, value: number) => {
    const last = records.at(-1);
    if (last?.kind === 'point' && last.step === step && !last.values.has(key)) {
      last.values.set(key, value);
      if (!Number.isFinite(last.time)) last.time = time;
      return;
    }
    records.push({ kind: 'point', step, time, values: new Map([[key, value]]) });
  };
  try {
    if (options.offset === 0) {
      const header = readLogHeader(options.bytes, options.file, SWANLAB_HEADER);
      if (header === undefined) return { records, end: 0, state, run, skipped };
      state.version = header.version;
      end = HEADER_BYTES;
    }
    const read = state.version === 2 ? readProtobufRecord : readJsonRecord;
    for (const r of readLevelDbLog(options.bytes, options.base, end)) {
      end = r.end;
      if (r.kind === 'damaged') skip('damaged');
      else read(r.data, { state, run, skip, add });
    }
  } catch (error) {
    if (!isSwanlogError(error, 'SOURCE_CORRUPT')) throw error;
    return { records, end, state, run, skipped, error };
  }
  return { records, end, state, run, skipped };
}

interface RecordSink {
  state: SwanlabReaderState;
  run: SwanlabRunInfo;
  skip: (what: string) => void;
  add: (step: number, time: number, key: string, value: number) => void;
}

/** SwanLab >= 0.8: a `swanlab.record.v1.Record` (start, finish, column, scalar, media, log, save). */
function readProtobufRecord(data: Uint8Array, sink: RecordSink): void {
  let record: SwanlabRecord;
  try {
    record = fromBinary(RecordSchema, data);
  } catch (error) {
    if (!(error instanceof Error)) throw error;
    sink.skip('damaged');
    return;
  }
  const what = record.recordType;
  switch (what.case) {
    case 'start': {
      const s = what.value;
      if (s.id !== '') sink.run.id = s.id;
      if (s.project !== '') sink.run.project = s.project;
      if (s.name !== '') sink.run.name = s.name;
      sink.run.startTime = msOf(s.startedAt) ?? msOf(record.timestamp) ?? sink.run.startTime;
      return;
    }
    case 'finish':
      // RUN_STATE_FINISHED = 1; CRASHED = 2 and ABORTED = 3 did not end well.
      sink.state.finish = what.value.state === 1 ? 'finished' : 'crashed';
      return;
    case 'scalar': {
      const s = what.value;
      const step = Number(s.step);
      if (s.key === '' || !Number.isSafeInteger(step) || step < 0) {
        sink.skip('invalidScalar');
        return;
      }
      sink.add(step, msOf(s.timestamp) ?? msOf(record.timestamp) ?? Number.NaN, s.key, s.value?.number ?? 0);
      return;
    }
    case 'media':
      sink.skip('media');
      return;
    case undefined:
      sink.skip('unknown');
      return;
    default:
      // Columns, console logs and saved files carry no metric values.
      return;
  }
}

/** SwanLab 0.6-0.7: `{"model_type": ..., "data": ...}` + newline. */
function readJsonRecord(data: Uint8Array, sink: RecordSink): void {
  const text = Buffer.from(data).toString('utf8');
  const parsed = parsePythonJson(text) as { model_type?: unknown; data?: unknown } | undefined;
  if (typeof parsed !== 'object' || parsed === null || typeof parsed.model_type !== 'string') {
    sink.skip('damaged');
    return;
  }
  const body = (typeof parsed.data === 'object' && parsed.data !== null ? parsed.data : {}) as Record<
    string,
    unknown
  >;
  switch (parsed.model_type) {
    case 'PROJECT':
      if (typeof body.name === 'string' && body.name !== '') sink.run.project = body.name;
      return;
    case 'EXPERIMENT':
      if (typeof body.name === 'string' && body.name !== '') sink.run.name = body.name;
      return;
    case 'Header':
      sink.run.startTime ??= isoMs(body.create_time);
      return;
    case 'SCALAR': {
      const metric = (typeof body.metric === 'object' && body.metric !== null ? body.metric : {}) as Record<
        string,
        unknown
      >;
      const step = typeof body.step === 'number' ? body.step : metric.index;
      const value = metric.data;
      if (
        typeof body.key !== 'string' ||
        typeof step !== 'number' ||
        !Number.isSafeInteger(step) ||
        step < 0
      ) {
        sink.skip('invalidScalar');
        return;
      }
      if (typeof value !== 'number') {
        sink.skip('nonNumeric');
        return;
      }
      sink.add(step, isoMs(metric.create_time) ?? Number.NaN, body.key, value);
      return;
    }
    case 'MEDIA':
      sink.skip('media');
      return;
    default:
      // COLUMN, LOG, RUNTIME: no metric values.
      return;
  }
}

function msOf(t: Timestamp | undefined): number | null {
  if (t === undefined) return null;
  return Number(t.seconds) * 1000 + Math.floor(t.nanos / 1e6);
}

/**
 * SwanLab writes `create_time` as an ISO 8601 string; one without an offset is the writing
 * machine's local time, read here as this machine's local time (what Date.parse does).
 */
function isoMs(value: unknown): number | null {
  if (typeof value !== 'string') return null;
  const ms = Date.parse(value);
  return Number.isFinite(ms) ? ms : null;
}
