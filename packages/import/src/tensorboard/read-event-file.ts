import { fromBinary } from '@bufbuild/protobuf';
import { isSwanlogError } from '@swanlog/protocol';
import type { ImportedRecord } from '@swanlog/store';
import {
  type Event,
  EventSchema,
  SessionLog_SessionStatus,
  type Summary_Value,
} from '../gen/tensorboard_pb.js';
import { readTfRecords } from '../read-tf-records.js';
import { scalarOfTensor } from './scalar-of-tensor.js';

/**
 * What a TensorBoard reader carries from one event to the next (and from one file of a run to the
 * next, as TensorBoard's EventAccumulator does): it is saved with the reading position.
 */
export interface EventReaderState {
  /** The last `file_version` seen ("brain.Event:2" → 2); null before any. */
  fileVersion: number | null;
  /** EventAccumulator's `most_recent_step` (-1 before any event): what older files' purges compare with. */
  mostRecentStep: number;
  /** Each tag's plugin, from its first value that carried metadata (later values may omit it). */
  plugins: Record<string, string>;
}

export const INITIAL_EVENT_STATE: EventReaderState = { fileVersion: null, mostRecentStep: -1, plugins: {} };

export interface EventFileChunk {
  records: ImportedRecord[];
  /** Bytes consumed: a record not yet complete at the end is left for the next read. */
  end: number;
  state: EventReaderState;
  /** Events and values not imported, by kind (damaged records, histograms, images, ...). */
  skipped: Record<string, number>;
  /** Wall time of the first record, ms (null when there is none): a session's clock starts there. */
  firstTime: number | null;
  /** Why reading stopped before the end, when a record's framing is damaged (what came before is returned). */
  error?: unknown;
}

/**
 * Reads the scalar events of one event file from `offset`, following TensorBoard's own rules
 * (EventAccumulator with purge_orphaned_data): in a file with file_version ≥ 2 a SessionLog START
 * at step S rewinds to S − 1 (PyTorch's `purge_step`); before that version a summary whose step is
 * below the previous summary's rewinds to its step − 1.
 */
export function readEventFile(
  bytes: Uint8Array,
  offset: number,
  start: EventReaderState,
  file: string,
): EventFileChunk {
  const state: EventReaderState = { ...start, plugins: { ...start.plugins } };
  const records: ImportedRecord[] = [];
  const skipped: Record<string, number> = {};
  const skip = (what: string) => {
    skipped[what] = (skipped[what] ?? 0) + 1;
  };
  let end = offset;
  try {
    for (const record of readTfRecords(bytes, offset, file)) {
      end = record.end;
      if (record.kind === 'damaged') {
        skip('damaged');
        continue;
      }
      let event: Event;
      try {
        event = fromBinary(EventSchema, record.data);
      } catch (error) {
        // A record whose CRC checks out but whose payload is no Event: counted as damaged like a bad CRC.
        if (!(error instanceof Error)) throw error;
        skip('damaged');
        continue;
      }
      readEvent(event, event.wallTime * 1000, state, records, skip);
    }
  } catch (error) {
    if (!isSwanlogError(error, 'SOURCE_CORRUPT')) throw error;
    return { records, end, state, skipped, firstTime: records[0]?.time ?? null, error };
  }
  return { records, end, state, skipped, firstTime: records[0]?.time ?? null };
}

function readEvent(
  event: Event,
  time: number,
  state: EventReaderState,
  records: ImportedRecord[],
  skip: (what: string) => void,
): void {
  const step = Number(event.step);
  const what = event.what;
  if (what.case === 'fileVersion') state.fileVersion = parseFileVersion(what.value);
  const validStep = Number.isSafeInteger(step) && step >= 0;
  // Purging from step S keeps the steps below S: a rewind to S - 1 (-1 hides every step).
  if (state.fileVersion !== null && state.fileVersion >= 2) {
    const start = what.case === 'sessionLog' && what.value.status === SessionLog_SessionStatus.START;
    if (start && validStep) records.push({ kind: 'rewind', step: step - 1, time });
  } else if (what.case === 'summary' && step < state.mostRecentStep) {
    // TensorBoard purges only the event's own tags here, and keeps its most recent step (so each
    // later event below it purges again); a rewind hides every key (docs/decisions.md).
    if (validStep) records.push({ kind: 'rewind', step: step - 1, time });
  } else {
    state.mostRecentStep = step;
  }
  switch (what.case) {
    case 'summary': {
      const values = new Map<string, number>();
      for (const value of what.value.value) readValue(value, state, values, skip);
      if (values.size === 0) return;
      if (!validStep) {
        skip('negativeStep');
        return;
      }
      records.push({ kind: 'point', step, time, values });
      return;
    }
    case 'graphDef':
    case 'metaGraphDef':
      skip('graph');
      return;
    case 'taggedRunMetadata':
      skip('runMetadata');
      return;
    case 'logMessage':
      skip('logMessage');
      return;
    default:
      return;
  }
}

function readValue(
  value: Summary_Value,
  state: EventReaderState,
  values: Map<string, number>,
  skip: (what: string) => void,
): void {
  const tag = value.tag;
  const plugin = value.metadata?.pluginData?.pluginName;
  if (plugin !== undefined && plugin !== '' && state.plugins[tag] === undefined) state.plugins[tag] = plugin;
  const v = value.value;
  switch (v.case) {
    case 'simpleValue':
      values.set(tag, v.value);
      return;
    case 'tensor': {
      if (state.plugins[tag] !== 'scalars') {
        skip(state.plugins[tag] ?? 'tensor');
        return;
      }
      const scalar = scalarOfTensor(v.value);
      if (scalar === undefined) skip('tensor');
      else values.set(tag, scalar);
      return;
    }
    case 'histo':
    case 'obsoleteOldStyleHistogram':
      skip('histogram');
      return;
    case 'image':
      skip('image');
      return;
    case 'audio':
      skip('audio');
      return;
    case undefined:
      return;
  }
}

/** "brain.Event:2" → 2, as TensorBoard parses it (-1 when it cannot). */
function parseFileVersion(text: string): number {
  const token = (text.split('brain.Event:').pop() ?? '').trim();
  const n = Number(token);
  return token !== '' && Number.isFinite(n) ? n : -1;
}
