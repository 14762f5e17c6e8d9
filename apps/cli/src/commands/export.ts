import { resolve } from 'node:path';
import type { ExportTfeventsResult } from '@swanlog/import';
import { encodeValue, SwanlogError } from '@swanlog/protocol';
import { RunReader, resolveRunDir } from '@swanlog/store';

export type ExportFormat = 'jsonl' | 'csv';

export interface ExportOptions {
  cwd: string;
  target: string;
  logdir: string;
  format: string;
  all: boolean;
}

export interface ExportResult {
  dir: string;
  format: ExportFormat;
  /** The export, a few thousand lines per string; read once. */
  chunks: Iterable<string>;
}

/** The run's visible points (all points with `all`), key by key in step order. */
export function exportRun(options: ExportOptions): ExportResult {
  if (options.format !== 'jsonl' && options.format !== 'csv') {
    throw new SwanlogError(
      'INVALID_OPTION',
      `--format ${JSON.stringify(options.format)} is not an export format`,
      {
        hint: 'use --format jsonl, csv, or tfevents (with --out <dir>)',
      },
    );
  }
  const dir = resolveRunDir(options.target, options.logdir, options.cwd);
  const reader = RunReader.open(dir);
  return { dir, format: options.format, chunks: lines(reader, options.format, options.all) };
}

function* lines(reader: RunReader, format: ExportFormat, all: boolean): Generator<string> {
  try {
    if (format === 'csv') yield all ? 'key,step,value,ts,superseded\n' : 'key,step,value,ts\n';
    for (const key of reader.keys()) {
      const s = reader.series(key, { superseded: all });
      const csvKey = csvField(key);
      let out = '';
      for (let i = 0; i < s.steps.length; i++) {
        const value = encodeValue(s.values[i]!);
        const superseded = s.superseded?.[i] === 1;
        if (format === 'jsonl') {
          const point: Record<string, unknown> = { key, step: s.steps[i], value, ts: s.ts[i] };
          if (all) point.superseded = superseded;
          out += `${JSON.stringify(point)}\n`;
        } else {
          out += `${csvKey},${s.steps[i]},${value},${s.ts[i]}${all ? `,${superseded}` : ''}\n`;
        }
        if (out.length > 1 << 16) {
          yield out;
          out = '';
        }
      }
      if (out !== '') yield out;
    }
  } finally {
    reader.close();
  }
}

function csvField(value: string): string {
  return /[",\n\r]|^\s|\s$/.test(value) ? `"${value.replace(/"/g, '""')}"` : value;
}

export interface ExportTfeventsOptions {
  cwd: string;
  target: string;
  logdir: string;
  out: string | undefined;
}

/** `--format tfevents`: the visible series as a TensorBoard event file in the `out` directory. */
export async function exportTfeventsRun(
  options: ExportTfeventsOptions,
): Promise<ExportTfeventsResult & { dir: string }> {
  if (options.out === undefined) {
    throw new SwanlogError('INVALID_OPTION', '--format tfevents writes a directory: --out <dir> is missing', {
      hint: 'e.g. --format tfevents --out tb/my-run, then `tensorboard --logdir tb`',
    });
  }
  const dir = resolveRunDir(options.target, options.logdir, options.cwd);
  const { exportTfevents } = await import('@swanlog/import');
  return { dir, ...exportTfevents(dir, resolve(options.cwd, options.out)) };
}
