import { createHash, randomBytes } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { mkdir, open, readdir, rename, rm, stat } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { SwanlogError } from '@swanlog/protocol';
import { init } from './init.js';
import type { InitOptions } from './options.js';
import type { Run } from './run.js';

/**
 * A checkpoint file: `step_<12 digits>.ckpt`, so names sort by step.
 *
 *   "SWCKPT1\n"          8 bytes
 *   payload              the trainer's data (bytes, or UTF-8 JSON)
 *   trailer              UTF-8 JSON {format, runId, step, createdAt, kind, size, sha256}
 *   u32 LE               trailer length
 *   "\nSWCKEND"          8 bytes
 *
 * The trailer comes last so large payloads stream straight to disk; a torn or partial file has no
 * valid trailer (or a checksum that does not match) and is skipped.
 */
export interface Checkpoint {
  path: string;
  step: number;
  runId: string;
  /** ms since the epoch */
  createdAt: number;
  kind: 'bytes' | 'json';
  /** Payload size in bytes. */
  size: number;
  /** The payload: a Buffer for bytes, the parsed value for JSON. Checks the checksum again. */
  read(): Promise<unknown>;
}

export type CheckpointData = Uint8Array | Record<string, unknown> | AsyncIterable<Uint8Array>;

export interface CheckpointsOptions {
  /** Where checkpoint files go (the experiment's directory, not the run directory). */
  dir: string;
  /** Keep only the newest `keep` checkpoints after each save. */
  keep?: number;
}

export interface ListOptions {
  /** Called for each file that is skipped; default: a process warning. */
  onSkipped?: (path: string, reason: string) => void;
}

const HEAD = Buffer.from('SWCKPT1\n');
const TAIL = Buffer.from('\nSWCKEND');
const NAME = /^step_(\d+)\.ckpt$/;

interface Trailer {
  format: 1;
  runId: string;
  step: number;
  createdAt: number;
  kind: 'bytes' | 'json';
  size: number;
  sha256: string;
}

/** Saves checkpoints of one run into a directory. */
export class Checkpointer {
  readonly dir: string;
  private readonly keep: number | undefined;
  private readonly run: Run;

  constructor(run: Run, options: CheckpointsOptions) {
    if (options.keep !== undefined && (!Number.isSafeInteger(options.keep) || options.keep < 1)) {
      throw new SwanlogError('INVALID_OPTION', `keep ${options.keep} is not a number of checkpoints >= 1`, {
        hint: 'omit keep to keep every checkpoint',
      });
    }
    this.run = run;
    this.dir = resolve(options.dir);
    this.keep = options.keep;
  }

  /**
   * Makes everything the run logged so far durable, then writes `data` as the checkpoint of `step`
   * atomically (temp file, fsync, rename, fsync of the directory), then prunes to `keep`.
   */
  async save(step: number, data: CheckpointData): Promise<Checkpoint> {
    if (!Number.isSafeInteger(step) || step < 0) {
      throw new SwanlogError(
        'INVALID_VALUE',
        `checkpoint step ${String(step)} is not a non-negative integer`,
        {
          hint: "pass the run's step (batch or epoch) the checkpoint belongs to",
        },
      );
    }
    this.run.flush();
    const checkpoint = await writeCheckpoint(this.dir, { runId: this.run.id, step, data });
    if (this.keep !== undefined) await prune(this.dir, this.keep);
    return checkpoint;
  }
}

/** The newest sound checkpoint in `dir` (by step), or undefined; torn or corrupt files are skipped. */
export async function latestCheckpoint(
  dir: string,
  options: ListOptions = {},
): Promise<Checkpoint | undefined> {
  const names = await checkpointNames(resolve(dir));
  for (const { path } of names.reverse()) {
    const found = await inspect(path, options);
    if (found !== undefined) return found;
  }
  return undefined;
}

/** Every sound checkpoint in `dir`, sorted by step; torn or corrupt files are skipped (and reported). */
export async function listCheckpoints(dir: string, options: ListOptions = {}): Promise<Checkpoint[]> {
  const out: Checkpoint[] = [];
  for (const { path } of await checkpointNames(resolve(dir))) {
    const found = await inspect(path, options);
    if (found !== undefined) out.push(found);
  }
  return out;
}

/**
 * Resumes the run of the newest checkpoint in `dir`, rewound to its step (what was logged after it
 * is superseded, not duplicated): `init({ ...options, id, resume: 'must', fromStep })`. Without a
 * checkpoint, starts a run with `options` as given.
 */
export async function resumeFromCheckpoint(
  dir: string,
  options: InitOptions = {},
): Promise<{ run: Run; checkpoint: Checkpoint | undefined }> {
  const checkpoint = await latestCheckpoint(dir);
  if (checkpoint === undefined) return { run: await init(options), checkpoint };
  const run = await init({ ...options, id: checkpoint.runId, resume: 'must', fromStep: checkpoint.step });
  return { run, checkpoint };
}

/** The file name of the checkpoint of `step`. */
export function checkpointFileName(step: number): string {
  return `step_${String(step).padStart(12, '0')}.ckpt`;
}

async function writeCheckpoint(
  dir: string,
  c: { runId: string; step: number; data: CheckpointData },
): Promise<Checkpoint> {
  await mkdir(dir, { recursive: true });
  const final = join(dir, checkpointFileName(c.step));
  const tmp = join(
    dir,
    `.${checkpointFileName(c.step)}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`,
  );
  const kind = isBytesLike(c.data) ? 'bytes' : 'json';
  const file = await open(tmp, 'wx');
  try {
    const hash = createHash('sha256');
    let size = 0;
    await file.write(HEAD);
    for await (const chunk of payloadChunks(c.data)) {
      hash.update(chunk);
      size += chunk.length;
      await file.write(chunk);
    }
    const trailer: Trailer = {
      format: 1,
      runId: c.runId,
      step: c.step,
      createdAt: Date.now(),
      kind,
      size,
      sha256: hash.digest('hex'),
    };
    const t = Buffer.from(JSON.stringify(trailer));
    const len = Buffer.alloc(4);
    len.writeUInt32LE(t.length);
    await file.write(Buffer.concat([t, len, TAIL]));
    await file.sync();
    await file.close();
    await rename(tmp, final);
    await syncDir(dir);
    return toCheckpoint(final, trailer);
  } catch (error) {
    await file.close().catch(() => undefined); // already closed when the rename failed
    await rm(tmp, { force: true });
    if (error instanceof SwanlogError) throw error;
    const code = (error as NodeJS.ErrnoException).code;
    const full = code === 'ENOSPC' || code === 'EDQUOT';
    throw new SwanlogError(
      full ? 'STORAGE_FULL' : 'STORAGE_READ_ONLY',
      `cannot write checkpoint ${final}: ${(error as Error).message}`,
      {
        hint: full
          ? 'free space in the checkpoint directory; earlier checkpoints are intact'
          : 'check the permissions of the checkpoint directory; earlier checkpoints are intact',
        cause: error,
      },
    );
  }
}

function isBytesLike(data: CheckpointData): boolean {
  return (
    data instanceof Uint8Array || (typeof data === 'object' && data !== null && Symbol.asyncIterator in data)
  );
}

async function* payloadChunks(data: CheckpointData): AsyncIterable<Uint8Array> {
  if (data instanceof Uint8Array) yield data;
  else if (Symbol.asyncIterator in data) yield* data as AsyncIterable<Uint8Array>;
  else yield Buffer.from(JSON.stringify(data), 'utf8');
}

async function syncDir(dir: string): Promise<void> {
  const handle = await open(dir, 'r');
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}

async function checkpointNames(dir: string): Promise<{ path: string; step: number }[]> {
  let names: string[];
  try {
    names = await readdir(dir);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw error;
  }
  return names
    .map((name) => ({ name, m: NAME.exec(name) }))
    .filter((e): e is { name: string; m: RegExpExecArray } => e.m !== null)
    .map((e) => ({ path: join(dir, e.name), step: Number(e.m[1]) }))
    .sort((a, b) => a.step - b.step);
}

/** Reads and checks one file; reports and returns undefined when it is not a sound checkpoint. */
async function inspect(path: string, options: ListOptions): Promise<Checkpoint | undefined> {
  try {
    const trailer = await verify(path);
    return toCheckpoint(path, trailer);
  } catch (error) {
    if (!(error instanceof SwanlogError && error.code === 'CHECKPOINT_CORRUPT')) throw error;
    const report =
      options.onSkipped ??
      ((p: string, reason: string) =>
        process.emitWarning(`skipping checkpoint ${p}: ${reason}`, { code: 'SWANLOG_CHECKPOINT_SKIPPED' }));
    report(path, error.message);
    return undefined;
  }
}

function corrupt(path: string, why: string): SwanlogError {
  return new SwanlogError('CHECKPOINT_CORRUPT', `${path} ${why}`, {
    hint: 'a save was cut short or the file was damaged; the previous checkpoint is used instead',
  });
}

/** Checks framing, trailer and checksum; returns the trailer. */
async function verify(path: string): Promise<Trailer> {
  const { size } = await stat(path);
  if (size < HEAD.length + 4 + TAIL.length)
    throw corrupt(path, 'is too short to be a checkpoint (torn write)');
  const file = await open(path, 'r');
  let trailer: Trailer;
  try {
    const head = Buffer.alloc(HEAD.length);
    await file.read(head, 0, head.length, 0);
    if (!head.equals(HEAD)) throw corrupt(path, 'is not a swanlog checkpoint');
    const end = Buffer.alloc(4 + TAIL.length);
    await file.read(end, 0, end.length, size - end.length);
    if (!end.subarray(4).equals(TAIL)) throw corrupt(path, 'has no end marker (torn write)');
    const tlen = end.readUInt32LE(0);
    const tstart = size - end.length - tlen;
    if (tlen === 0 || tstart < HEAD.length) throw corrupt(path, 'has a damaged trailer');
    const tbuf = Buffer.alloc(tlen);
    await file.read(tbuf, 0, tlen, tstart);
    trailer = parseTrailer(path, tbuf);
    if (trailer.size !== tstart - HEAD.length) throw corrupt(path, 'has a payload of the wrong length');
  } finally {
    await file.close();
  }
  const digest = await hashRange(path, HEAD.length, trailer.size);
  if (digest !== trailer.sha256) throw corrupt(path, 'fails its checksum');
  return trailer;
}

function parseTrailer(path: string, buf: Buffer): Trailer {
  let t: Partial<Trailer>;
  try {
    t = JSON.parse(buf.toString('utf8')) as Partial<Trailer>;
  } catch (error) {
    if (!(error instanceof SyntaxError)) throw error;
    throw corrupt(path, 'has a trailer that is not JSON');
  }
  const ok =
    t.format === 1 &&
    typeof t.runId === 'string' &&
    Number.isSafeInteger(t.step) &&
    Number.isSafeInteger(t.size) &&
    typeof t.sha256 === 'string' &&
    (t.kind === 'bytes' || t.kind === 'json');
  if (!ok) throw corrupt(path, 'has a trailer of an unknown format');
  return t as Trailer;
}

function hashRange(path: string, start: number, length: number): Promise<string> {
  return new Promise((done, fail) => {
    const hash = createHash('sha256');
    if (length === 0) {
      done(hash.digest('hex'));
      return;
    }
    createReadStream(path, { start, end: start + length - 1 })
      .on('data', (chunk) => hash.update(chunk))
      .on('error', fail)
      .on('end', () => done(hash.digest('hex')));
  });
}

function toCheckpoint(path: string, t: Trailer): Checkpoint {
  return {
    path,
    step: t.step,
    runId: t.runId,
    createdAt: t.createdAt,
    kind: t.kind,
    size: t.size,
    read: async () => {
      const again = await verify(path);
      const file = await open(path, 'r');
      try {
        const buf = Buffer.alloc(again.size);
        await file.read(buf, 0, again.size, HEAD.length);
        return again.kind === 'json' ? JSON.parse(buf.toString('utf8')) : buf;
      } finally {
        await file.close();
      }
    },
  };
}

async function prune(dir: string, keep: number): Promise<void> {
  const sound = await listCheckpoints(dir, { onSkipped: () => {} });
  for (const old of sound.slice(0, Math.max(0, sound.length - keep))) await rm(old.path, { force: true });
}
