import { once } from 'node:events';
import { createWriteStream, openSync } from 'node:fs';
import type { Writable } from 'node:stream';
import type { ImportResult } from '@swanlog/import';
import { SwanlogError } from '@swanlog/protocol';
import type { CopyRunResult, VerifyReport } from '@swanlog/store';
import type { CleanResult } from './commands/clean.js';
import type { LsEntry } from './commands/ls.js';
import type { SyncEntry } from './commands/sync-command.js';
import type { RunDetails } from './summarize-run.js';

/** `{code, message}` of any error, as JSON output carries it. */
export function errorJson(error: unknown): { code: string; message: string; hint?: string } {
  if (error instanceof SwanlogError)
    return error.hint === undefined
      ? { code: error.code, message: error.message }
      : { code: error.code, message: error.message, hint: error.hint };
  return { code: 'SERVER_ERROR', message: error instanceof Error ? error.message : String(error) };
}

/** `error[CODE]: message` and `hint: ...` for our errors; the stack for anything else. */
export function printError(error: unknown): void {
  if (error instanceof SwanlogError) {
    process.stderr.write(`error[${error.code}]: ${error.message}\n`);
    if (error.hint !== undefined) process.stderr.write(`hint: ${error.hint}\n`);
    return;
  }
  process.stderr.write(`${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
}

export function printJson(data: unknown): void {
  process.stdout.write(`${JSON.stringify(data, null, 2)}\n`);
}

/** Writes chunks to `out` (a file path) or stdout, honouring backpressure. */
export async function writeChunks(chunks: Iterable<string>, out: string | undefined): Promise<void> {
  const stream: Writable = out === undefined ? process.stdout : createWriteStream('', { fd: openOut(out) });
  for (const chunk of chunks) {
    if (!stream.write(chunk)) await once(stream, 'drain');
  }
  if (out !== undefined) {
    stream.end();
    await once(stream, 'finish');
  }
}

function openOut(path: string): number {
  try {
    return openSync(path, 'w');
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code ?? 'unknown';
    throw new SwanlogError('INVALID_OPTION', `--out ${path} cannot be written (${code})`, {
      hint: 'choose a file in an existing directory you can write to',
      cause: error,
    });
  }
}

export function formatLs(entries: LsEntry[], logdir: string): string {
  if (entries.length === 0) return `no runs under ${logdir}\n`;
  const rows = [['ID', 'STATE', 'PROJECT', 'NAME', 'LAST STEP', 'KEYS', 'SYNC', 'CREATED', 'DIR']];
  const broken: string[] = [];
  const foreign: string[] = [];
  for (const e of entries) {
    if ('error' in e) {
      broken.push(`${e.dir}: error[${e.error.code}]: ${e.error.message}`);
      continue;
    }
    if ('kind' in e) {
      const imported = e.importedAs === null ? 'not imported' : `imported as run ${e.importedAs}`;
      foreign.push(`${e.dir}: SwanLab run ${e.id} (${imported})`);
      continue;
    }
    rows.push([
      e.id,
      e.copiedFrom === null ? e.state : `${e.state} (copy of ${e.copiedFrom})`,
      e.project,
      e.name ?? '-',
      e.lastStep === null ? '-' : String(e.lastStep),
      String(e.keyCount),
      syncLabel(e.sync),
      e.createdAt.replace('T', ' ').slice(0, 19),
      e.dir,
    ]);
  }
  const runs = rows.length > 1 ? table(rows) : '';
  return runs + foreign.map((f) => `~ ${f}\n`).join('') + broken.map((b) => `! ${b}\n`).join('');
}

/** `synced` when some upload holds the whole run, `partial` when uploads are unfinished, `-` when never uploaded. */
function syncLabel(records: { complete: boolean }[]): string {
  if (records.length === 0) return '-';
  return records.some((r) => r.complete) ? 'synced' : 'partial';
}

/**
 * One line per synced directory: action, experiment, id mapping, points uploaded (and how many of
 * them are superseded, when any are), link.
 */
export function formatSyncEntry(e: SyncEntry): string {
  if ('error' in e)
    return `failed     ${e.dir}: error[${e.error.code}]: ${e.error.message}\n${e.error.hint === undefined ? '' : `hint: ${e.error.hint}\n`}`;
  const mapping = e.runId === e.experimentId ? '' : ` (run ${e.runId} → server id ${e.experimentId})`;
  const { points: n, superseded } = e.uploaded;
  const points =
    `${n.toLocaleString('en-US')} point${n === 1 ? '' : 's'}` +
    (superseded === 0 ? '' : ` (${superseded.toLocaleString('en-US')} superseded)`);
  const pending = e.complete ? '' : ' (incomplete: the run is live or the upload was cut; sync again)';
  return `${e.action.padEnd(10)} exp ${e.experimentId}${mapping}  ${points}  ${e.url}${pending}\n`;
}

export function formatClean(r: CleanResult): string {
  if (r.runs.length === 0) return `no runs under ${r.logdir}\n`;
  const lines: string[] = [];
  for (const run of r.runs) {
    if (run.removed) lines.push(`removed      ${run.dir}`);
    else if (run.removable) lines.push(`would remove ${run.dir}`);
    else lines.push(`kept         ${run.dir} (${run.keptBecause})`);
  }
  const n = r.runs.filter((x) => x.removable).length;
  lines.push(
    r.dryRun
      ? `${n} run(s) finished and completely uploaded; run again with --yes to remove them`
      : `${r.runs.filter((x) => x.removed).length} run(s) removed`,
  );
  return `${lines.join('\n')}\n`;
}

export function formatShow(d: RunDetails): string {
  const lines = [
    `run ${d.id}${d.name === null ? '' : ` (${d.name})`}`,
    `  state      ${d.state}`,
    `  project    ${d.project}${d.workspace === null ? '' : ` in workspace ${d.workspace}`}`,
    `  dir        ${d.dir}`,
    `  created    ${d.createdAt}`,
    `  last step  ${d.lastStep ?? '-'}`,
  ];
  if (d.copiedFrom !== null) lines.push(`  copied     from run ${d.copiedFrom}`);
  if (d.source !== null)
    lines.push(`  imported   from ${d.source.kind} run ${d.source.id} (${d.source.path})`);
  lines.push(`  config     ${JSON.stringify(d.config)} (${d.configRevisions.length} revision(s))`);
  lines.push('', 'keys');
  const keyRows = [['KEY', 'POINTS', 'LAST STEP', 'LAST VALUE']];
  for (const [key, k] of Object.entries(d.keys)) {
    keyRows.push([key, String(k.count), String(k.lastStep ?? '-'), String(k.lastValue ?? '-')]);
  }
  lines.push(indent(table(keyRows)), 'segments');
  const segRows = [['SEGMENT', 'STARTED', 'RESUMED', 'FROM STEP', 'STATE', 'HOST/PID']];
  for (const s of d.segments) {
    segRows.push([
      s.id,
      s.startedAt.replace('T', ' ').slice(0, 19),
      s.resumed ? 'yes' : 'no',
      s.fromStep === null ? '-' : String(s.fromStep),
      s.state,
      `${s.host}/${s.pid}`,
    ]);
  }
  lines.push(indent(table(segRows)));
  return lines.join('\n');
}

export function formatCopy(r: CopyRunResult): string {
  return `copied run ${r.copiedFrom} to run ${r.id}\n  ${r.dir}\nresume the copy with init({ id: '${r.id}', resume: 'must' })\n`;
}

export function formatVerify(r: VerifyReport): string {
  const warn = r.warnings.map((w) => `warning: ${w}\n`).join('');
  return `${warn}ok: run ${r.id} is sound (${r.sessions} session(s), ${r.keys} key(s), ${r.chunks} chunk(s), ${r.points} stored point(s))\n`;
}

function table(rows: string[][]): string {
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => (r[i] ?? '').length)));
  return (
    rows.map((r) => r.map((c, i) => (i === r.length - 1 ? c : c.padEnd(widths[i]!))).join('  ')).join('\n') +
    '\n'
  );
}

function indent(text: string): string {
  return text
    .split('\n')
    .map((l) => (l === '' ? l : `  ${l}`))
    .join('\n');
}

/** `created    run tb-exp1 (tensorboard runs/exp1)  120 points, 2 sessions, skipped 3 histogram  <dir>`. */
export function formatImportResult(r: ImportResult): string {
  const where = r.kind === null ? r.source : `${r.kind} ${r.sourceId}`;
  const skipped = Object.entries(r.skipped)
    .map(([what, n]) => `${n} ${what}`)
    .join(', ');
  const counts =
    `${r.points.toLocaleString('en-US')} point${r.points === 1 ? '' : 's'}` +
    (r.superseded === 0 ? '' : ` (${r.superseded.toLocaleString('en-US')} superseded)`) +
    (r.sessions === 0 ? '' : `, ${r.sessions} session${r.sessions === 1 ? '' : 's'}`) +
    (skipped === '' ? '' : `, skipped ${skipped}`);
  const run = r.id === null ? '' : ` → run ${r.id}${r.derivedId ? ' (derived id)' : ''}`;
  if (r.error !== undefined) {
    const done = r.action === null ? '' : `  (${counts} imported before it)`;
    return `failed     ${where}${run}: error[${r.error.code}]: ${r.error.message}${done}\n`;
  }
  return `${(r.action ?? '').padEnd(10)} ${where}${run}  ${counts}  ${r.dir}\n`;
}
