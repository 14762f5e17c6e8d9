// Helpers for the CLI's tests: run the real `swanlog` binary as a child process, copy the
// fixtures to a temp dir, and small parsers for what the CLI prints.
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { cpSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The workspace root (this file runs from apps/cli/dist/test-support). */
export const REPO_ROOT = fileURLToPath(new URL('../../../../', import.meta.url));
export const CLI_BIN = join(REPO_ROOT, 'apps', 'cli', 'bin', 'swanlog.js');
export const FIXTURES_LOGDIR = join(REPO_ROOT, 'swanlog-fixtures', 'logdir');

export interface CliResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

export interface CliOptions {
  cwd?: string;
  /** Extra environment; SWANLOG_* variables of the test process are never passed on. */
  env?: Record<string, string>;
}

/** A clean environment: PATH and HOME only, no colours, plus `extra`. */
export function cliEnv(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  return { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '/tmp', NO_COLOR: '1', ...extra };
}

/** Runs `swanlog <args>` to completion. */
export function runCli(args: string[], options: CliOptions = {}): Promise<CliResult> {
  return new Promise((resolve, reject) => {
    const proc = spawn(process.execPath, [CLI_BIN, ...args], {
      cwd: options.cwd ?? REPO_ROOT,
      env: cliEnv(options.env),
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    proc.stdout.setEncoding('utf8').on('data', (d: string) => {
      stdout += d;
    });
    proc.stderr.setEncoding('utf8').on('data', (d: string) => {
      stderr += d;
    });
    proc.on('error', reject);
    proc.on('close', (code, signal) => resolve({ code, signal, stdout, stderr }));
  });
}

/** A one-line description of a result, for assertion messages. */
export function describeResult(r: CliResult): string {
  return `exit ${r.code ?? r.signal}\n--- stdout ---\n${r.stdout.slice(0, 2000)}\n--- stderr ---\n${r.stderr.slice(0, 2000)}`;
}

/** True when stderr holds a JavaScript stack trace. */
export function hasStack(stderr: string): boolean {
  return /\n\s+at .+[(:]/.test(stderr) || /^\w*Error: /m.test(stderr);
}

export interface TempDir {
  path: string;
  remove: () => void;
}

export function tempDir(prefix = 'swanlog-cli-test-'): TempDir {
  const path = mkdtempSync(join(tmpdir(), prefix));
  return { path, remove: () => rmSync(path, { recursive: true, force: true }) };
}

/** Copies the fixtures logdir into `into`/logdir and returns its path. */
export function copyFixtures(into: string): string {
  const logdir = join(into, 'logdir');
  cpSync(FIXTURES_LOGDIR, logdir, { recursive: true });
  return logdir;
}

/** The run directory of fixture `id` in a logdir (its name ends with -<id>). */
export function fixtureDir(logdir: string, id: string): string {
  const name = readdirSync(logdir).find((n) => n.startsWith('run-') && n.endsWith(`-${id}`));
  if (name === undefined) throw new Error(`fixture ${id} is missing from ${logdir}`);
  return join(logdir, name);
}

/** sha256 of every file under `dir`, keyed by relative path. */
export function hashTree(dir: string): Record<string, string> {
  const out: Record<string, string> = {};
  const walk = (d: string) => {
    for (const name of readdirSync(d).sort()) {
      const p = join(d, name);
      if (statSync(p).isDirectory()) walk(p);
      else out[relative(dir, p)] = createHash('sha256').update(readFileSync(p)).digest('hex');
    }
  };
  walk(dir);
  return out;
}

/** Parses RFC 4180 CSV (quoted fields, doubled quotes, embedded commas and newlines). */
export function parseCsv(text: string): string[][] {
  const rows: string[][] = [];
  let row: string[] = [];
  let field = '';
  let quoted = false;
  for (let i = 0; i < text.length; i++) {
    const c = text[i]!;
    if (quoted) {
      if (c === '"' && text[i + 1] === '"') {
        field += '"';
        i++;
      } else if (c === '"') quoted = false;
      else field += c;
    } else if (c === '"' && field === '') quoted = true;
    else if (c === ',') {
      row.push(field);
      field = '';
    } else if (c === '\n') {
      row.push(field);
      rows.push(row);
      row = [];
      field = '';
    } else if (c !== '\r') field += c;
  }
  if (quoted) throw new Error('CSV ends inside a quoted field');
  if (field !== '' || row.length > 0) {
    row.push(field);
    rows.push(row);
  }
  return rows;
}

/** Parses JSON lines (every line must be a JSON object). */
export function parseJsonl(text: string): Record<string, unknown>[] {
  assertEndsWithNewline(text);
  return text
    .split('\n')
    .filter((l) => l !== '')
    .map((l) => JSON.parse(l) as Record<string, unknown>);
}

function assertEndsWithNewline(text: string): void {
  if (text !== '' && !text.endsWith('\n')) throw new Error('output does not end with a newline');
}
