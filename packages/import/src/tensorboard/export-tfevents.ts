import { closeSync, mkdirSync, openSync, writeSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { create, toBinary } from '@bufbuild/protobuf';
import { RunReader } from '@swanlog/store';
import { EventSchema, type Summary_Value, Summary_ValueSchema } from '../gen/tensorboard_pb.js';
import { frameTfRecord } from '../read-tf-records.js';
import { DT } from './scalar-of-tensor.js';

export interface ExportTfeventsResult {
  /** The event file written. */
  file: string;
  /** Visible points written. */
  points: number;
}

interface Point {
  key: string;
  step: number;
  value: number;
  ts: number;
}

/**
 * Writes the visible series of the run at `runDir` as one TensorBoard event file in `outDir`:
 * each value a DT_DOUBLE scalar tensor of plugin `scalars` (so it round-trips exactly, where
 * `simple_value` is float32), the plugin metadata on a tag's first value as TensorFlow writes it,
 * events in clock order (wall_time = ts / 1000), values of one call (same ts and step) in one event.
 */
export function exportTfevents(runDir: string, outDir: string): ExportTfeventsResult {
  const points = visiblePoints(runDir);
  const first = points[0]?.ts ?? 0;
  mkdirSync(resolve(outDir), { recursive: true });
  // The name is the run's first time (not now), so exporting a run twice writes the same file.
  const file = join(resolve(outDir), `events.out.tfevents.${Math.floor(first / 1000)}.swanlog`);
  const fd = openSync(file, 'w');
  try {
    const seen = new Set<string>();
    const write = (bytes: Uint8Array) => writeSync(fd, bytes);
    write(event({ wallTime: first / 1000, what: { case: 'fileVersion', value: 'brain.Event:2' } }));
    let batch: Summary_Value[] = [];
    for (let i = 0; i < points.length; i++) {
      const p = points[i]!;
      batch.push(scalarValue(p, !seen.has(p.key)));
      seen.add(p.key);
      const next = points[i + 1];
      if (next !== undefined && next.ts === p.ts && next.step === p.step) continue;
      write(
        event({
          wallTime: p.ts / 1000,
          step: BigInt(p.step),
          what: { case: 'summary', value: { value: batch } },
        }),
      );
      batch = [];
    }
  } finally {
    closeSync(fd);
  }
  return { file, points: points.length };
}

function event(init: Parameters<typeof create<typeof EventSchema>>[1]): Uint8Array {
  return frameTfRecord(toBinary(EventSchema, create(EventSchema, init)));
}

function scalarValue(p: Point, withMetadata: boolean): Summary_Value {
  const content = new Uint8Array(8);
  new DataView(content.buffer).setFloat64(0, p.value, true);
  return create(Summary_ValueSchema, {
    tag: p.key,
    ...(withMetadata ? { metadata: { pluginData: { pluginName: 'scalars' } } } : {}),
    value: { case: 'tensor', value: { dtype: DT.DOUBLE, tensorShape: {}, tensorContent: content } },
  });
}

/** Every visible point of the run, in clock order (ts, then key, then step). */
function visiblePoints(runDir: string): Point[] {
  const reader = RunReader.open(runDir);
  const out: Point[] = [];
  try {
    for (const key of reader.keys()) {
      const s = reader.series(key);
      for (let i = 0; i < s.steps.length; i++) {
        out.push({ key, step: s.steps[i]!, value: s.values[i]!, ts: s.ts[i]! });
      }
    }
  } finally {
    reader.close();
  }
  return out.sort((a, b) => a.ts - b.ts || a.step - b.step || (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
}
