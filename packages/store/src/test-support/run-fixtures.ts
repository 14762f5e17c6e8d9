// Helpers for the store's tests: temp dirs, copies of swanlog-fixtures/logdir, runs written
// through createRun + RunWriter (the store cannot depend on the SDK), and byte-level comparisons.
import { createHash } from 'node:crypto';
import { cpSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createRun } from '../create-run.js';
import type { JsonObject } from '../deep-merge.js';
import { findRunDir } from '../find-run.js';
import { RunWriter } from '../run-writer.js';

/** The workspace root (this file runs from packages/store/dist/test-support). */
export const REPO_ROOT = fileURLToPath(new URL('../../../../', import.meta.url));
export const FIXTURES_LOGDIR = join(REPO_ROOT, 'swanlog-fixtures', 'logdir');
export const CLI_BIN = join(REPO_ROOT, 'apps', 'cli', 'bin', 'swanlog.js');

export interface TempDir {
  path: string;
  remove: () => void;
}

/** A fresh temporary directory and a function that removes it. */
export function tempDir(prefix = 'swanlog-store-test-'): TempDir {
  const path = mkdtempSync(join(tmpdir(), prefix));
  return { path, remove: () => rmSync(path, { recursive: true, force: true }) };
}

/** Copies the fixtures logdir into `into` and returns the copy's path. */
export function copyFixtures(into: string): string {
  const logdir = join(into, 'logdir');
  cpSync(FIXTURES_LOGDIR, logdir, { recursive: true });
  return logdir;
}

/** The run directory of fixture `id` in a copied logdir. */
export function fixtureDir(logdir: string, id: string): string {
  const dir = findRunDir(logdir, id);
  if (dir === undefined) throw new Error(`fixture ${id} is missing from ${logdir}`);
  return dir;
}

/** A new, empty run directory under `logdir`. */
export function makeRun(logdir: string, id: string, config?: JsonObject): string {
  return createRun({
    logdir,
    id,
    project: 'store-tests',
    workspace: null,
    name: null,
    ...(config === undefined ? {} : { config }),
  }).dir;
}

export interface Write {
  key: string;
  step: number;
  value: number;
}

/** One writer session: opens, appends each write as its own call, and finishes. */
export async function writeSession(
  dir: string,
  writes: Write[],
  options: { resumed?: boolean; fromStep?: number; flushIntervalMs?: number } = {},
): Promise<void> {
  const writer = RunWriter.open({
    dir,
    resumed: options.resumed ?? true,
    flushIntervalMs: options.flushIntervalMs ?? 60_000,
    ...(options.fromStep === undefined ? {} : { fromStep: options.fromStep }),
  });
  try {
    for (const w of writes) writer.append({ [w.key]: w.value }, w.step);
  } finally {
    await writer.finish('finished');
  }
}

/** The bytes of a float64 array (so NaN payloads and -0 compare exactly). */
export function bytesOf(values: Float64Array): Buffer {
  return Buffer.from(values.buffer, values.byteOffset, values.byteLength);
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

/**
 * True when a dead writer left a -wal file with data behind (a SIGKILLed run). Readers that may
 * write fold such a file into its database when they close, which changes bytes but no data.
 */
export function hasLeftoverWal(dir: string): boolean {
  return listTree(dir).some((p) => p.endsWith('-wal') && statSync(join(dir, p)).size > 0);
}

/** Every file path under `dir`, relative. */
export function listTree(dir: string): string[] {
  return Object.keys(hashTree(dir));
}

/** Spins until the wall clock is past `ms` (so the next write's clock is strictly later). */
export function waitPast(ms: number): void {
  while (Date.now() <= ms) {
    // busy-wait: at most a millisecond or two
  }
}

/** A small seeded PRNG (mulberry32) so a failing random test can be replayed. */
export function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
