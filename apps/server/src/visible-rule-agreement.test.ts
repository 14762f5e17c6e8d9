// THE SHARED CONTRACT TEST (DESIGN.md "Logging semantics"): runs written locally by the store and
// uploaded to the server read back the same through the server's metrics API as through
// RunReader, visible and superseded points alike, and agree on the last visible step.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import {
  BATCH_CONTENT_TYPE,
  type BatchSource,
  encodeBatch,
  encodeValue,
  type SessionInfo,
} from '@swanlog/protocol';
import { createRun, RunReader, RunWriter } from '@swanlog/store';
import Database from 'better-sqlite3';
import { startTestServer, type TestServer } from './test-support/server.js';

let t: TestServer;
const logdir = mkdtempSync(join(tmpdir(), 'swanlog-agreement-'));
before(async () => {
  t = await startTestServer();
});
after(async () => {
  await t.close();
  rmSync(logdir, { recursive: true, force: true });
});

type Writes = [key: string, step: number, value: number][];

/** One writer session appending `writes` one call each, flushing every `flushEvery` calls. */
async function session(
  dir: string,
  writes: Writes,
  options: { fromStep?: number; end?: 'finished' | 'aborted'; flushEvery?: number } = {},
): Promise<void> {
  const writer = RunWriter.open({
    dir,
    resumed: true,
    flushIntervalMs: 60_000,
    ...(options.fromStep === undefined ? {} : { fromStep: options.fromStep }),
  });
  writes.forEach(([key, step, value], i) => {
    writer.append({ [key]: value }, step);
    if ((i + 1) % (options.flushEvery ?? 7) === 0) writer.flush();
  });
  await writer.finish(options.end ?? 'finished');
}

/** Two writers open at once (train + eval), their calls interleaved on the same steps. */
async function concurrentSessions(dir: string, a: Writes, b: Writes): Promise<void> {
  const wa = RunWriter.open({ dir, resumed: true, flushIntervalMs: 60_000 });
  const wb = RunWriter.open({ dir, resumed: true, flushIntervalMs: 60_000 });
  for (let i = 0; i < Math.max(a.length, b.length); i++) {
    const x = a[i];
    const y = b[i];
    if (x) wa.append({ [x[0]]: x[2] }, x[1]);
    if (y) wb.append({ [y[0]]: y[2] }, y[1]);
    if (i % 5 === 4) {
      wa.flush();
      wb.flush();
    }
  }
  await wa.finish('finished');
  await wb.finish('finished');
}

const range = (from: number, to: number, key: string, value: (s: number) => number): Writes => {
  const out: Writes = [];
  for (let s = from; s <= to; s++) out.push([key, s, value(s)]);
  return out;
};

function writeRunA(): string {
  return createRun({ logdir, id: 'agree-a', project: 'agreement', workspace: null, name: null }).dir;
}

async function fillRunA(dir: string): Promise<void> {
  const first = [...range(0, 60, 'train/loss', (s) => 1 / (s + 1)), ...range(0, 60, 'acc', (s) => s / 100)];
  first[50] = ['train/loss', 50, Number.NaN];
  await session(dir, first);
  // Resume from a checkpoint at step 40: steps 41..60 of every key are superseded.
  await session(
    dir,
    range(41, 90, 'train/loss', (s) => 2 / (s + 1)),
    { fromStep: 40 },
  );
  // Resume without a rewind, rewriting steps 80..95 (overlap) with odd values.
  const odd = range(80, 95, 'train/loss', (s) => (s % 2 ? Number.POSITIVE_INFINITY : -s));
  odd.push(['train/loss', 85, Number.NEGATIVE_INFINITY], ['eval/acc', 3, -0]);
  await session(dir, odd, { end: 'aborted', flushEvery: 3 });
  await concurrentSessions(
    dir,
    range(90, 110, 'eval/acc', (s) => s),
    range(90, 110, 'eval/acc', (s) => -s),
  );
}

function writeRunB(): string {
  return createRun({ logdir, id: 'agree-b', project: 'agreement', workspace: null, name: null }).dir;
}

async function fillRunB(dir: string): Promise<void> {
  await session(
    dir,
    range(0, 30, 'loss', (s) => s * 1.5),
  );
  await session(
    dir,
    range(10, 20, 'loss', (s) => -s),
    { fromStep: 25 },
  );
  // A rewind to 0 that logs only another key hides every later point of `loss`.
  await session(
    dir,
    range(1, 5, 'other', (s) => s),
    { fromStep: 0 },
  );
  await session(dir, [['loss', 3, 42]]);
}

/**
 * Ingest batches of every writer session of a run, read from the writer files read-only, cut at
 * chunk boundaries into several batches per source so watermarks advance and chunks merge.
 */
function batchesOf(dir: string): Buffer[] {
  const reader = RunReader.open(dir, { readonly: true });
  const out: Buffer[] = [];
  try {
    for (const row of reader.sessionRows()) {
      const db = new Database(reader.writerPath(row.source), { readonly: true, fileMustExist: true });
      try {
        const keys = new Map(
          (db.prepare('SELECT id, name FROM keys').all() as { id: number; name: string }[]).map((k) => [
            k.id,
            k.name,
          ]),
        );
        const chunks = db
          .prepare('SELECT key_id, n, seq_min, seq_max, data FROM chunks ORDER BY seq_max, id')
          .all() as { key_id: number; n: number; seq_min: number; seq_max: number; data: Buffer }[];
        const rewinds = db
          .prepare('SELECT seq, ts, step FROM rewinds ORDER BY seq')
          .all() as BatchSource['rewinds'];
        const heartbeat = db.prepare('SELECT ts FROM heartbeat WHERE id = 1').get() as
          | { ts: number }
          | undefined;
        const info: SessionInfo = {
          segment: row.segment,
          host: row.host,
          pid: row.pid,
          startedAt: row.started_at,
          clockStart: row.clock_start,
          resumed: row.resumed === 1,
          fromStep: row.from_step,
          endedAt: row.ended_at,
          endState: row.end_state,
          heartbeatAt: heartbeat?.ts ?? null,
        };
        const last = Math.max(-1, ...chunks.map((c) => c.seq_max), ...rewinds.map((r) => r.seq));
        // Cut points: seq_max values no chunk straddles.
        const cuts = [...new Set(chunks.map((c) => c.seq_max))]
          .filter((cut) => !chunks.some((c) => c.seq_min <= cut && cut < c.seq_max))
          .filter((_, i) => i % 2 === 1);
        let from = -1;
        for (const to of [...cuts.filter((c) => c < last), last]) {
          const part = chunks.filter((c) => c.seq_min > from && c.seq_max <= to);
          out.push(
            encodeBatch(
              {
                sources: [
                  {
                    source: row.source,
                    fromSeq: from,
                    toSeq: to,
                    session: info,
                    rewinds: rewinds.filter((r) => r.seq > from && r.seq <= to),
                    chunks: part.map((c) => ({ key: keys.get(c.key_id)!, n: c.n, bytes: c.data.length })),
                  },
                ],
              },
              part.map((c) => c.data),
            ),
          );
          from = to;
        }
      } finally {
        db.close();
      }
    }
  } finally {
    reader.close();
  }
  return out;
}

function readerPoints(reader: RunReader, key: string, superseded: boolean): unknown[] {
  const s = reader.series(key, { superseded });
  const out: unknown[] = [];
  for (let i = 0; i < s.steps.length; i++) {
    // Through JSON, as the server's answer travels: -0 arrives as 0 (JSON has no negative zero).
    const value: unknown = JSON.parse(JSON.stringify(encodeValue(s.values[i]!)));
    const p: Record<string, unknown> = { step: s.steps[i], value, ts: s.ts[i] };
    if (s.superseded?.[i] === 1) p.superseded = true;
    out.push(p);
  }
  return out;
}

async function upload(dir: string, requestKey: string): Promise<string> {
  const created = await t.request('/api/v1/experiments', {
    method: 'POST',
    json: { requestKey, project: 'agreement' },
  });
  assert.equal(created.status, 201);
  const id = created.body.experiment.id as string;
  const batches = batchesOf(dir);
  for (const body of batches) {
    const res = await t.request(`/api/v1/experiments/${id}/ingest`, {
      method: 'POST',
      body,
      headers: { 'content-type': BATCH_CONTENT_TYPE },
    });
    assert.equal(res.status, 200, JSON.stringify(res.body));
  }
  // Uploading everything again stores nothing (the watermarks hold).
  for (const body of batches) {
    const res = await t.request(`/api/v1/experiments/${id}/ingest`, {
      method: 'POST',
      body,
      headers: { 'content-type': BATCH_CONTENT_TYPE },
    });
    assert.equal(res.body.stored, 0);
  }
  return id;
}

async function assertAgreement(dir: string, id: string): Promise<void> {
  const reader = RunReader.open(dir, { readonly: true });
  try {
    const info = await t.request(`/api/v1/experiments/${id}`);
    assert.deepEqual(info.body.keys, reader.keys());
    assert.equal(info.body.lastStep, reader.lastVisibleStep());
    assert.equal(info.body.state, reader.state());
    const sync = await t.request(`/api/v1/experiments/${id}/sync`);
    for (const key of reader.keys()) {
      for (const superseded of [false, true]) {
        const res = await t.request(
          `/api/v1/experiments/${id}/metrics/${encodeURIComponent(key)}?maxPoints=1000000${superseded ? '&superseded=1' : ''}`,
        );
        assert.equal(res.status, 200);
        assert.equal(res.body.downsampled, false);
        assert.deepEqual(
          res.body.points,
          readerPoints(reader, key, superseded),
          `${key} superseded=${superseded}`,
        );
      }
      assert.equal(sync.body.keyLastSteps[key] ?? null, reader.lastVisibleStep(key), `last step of ${key}`);
    }
    assert.equal(sync.body.maxTs, reader.maxTs());
  } finally {
    reader.close();
  }
}

describe('the server and the local store agree on the visible series', () => {
  test('run with rewinds, overlapping resumes, NaN/±Infinity and concurrent writers', async () => {
    const dir = writeRunA();
    await fillRunA(dir);
    const reader = RunReader.open(dir, { readonly: true });
    const superseded = reader.series('train/loss', { superseded: true }).superseded!;
    reader.close();
    assert.ok(superseded.includes(1), 'the scenario supersedes points');
    const id = await upload(dir, 'agree-a');
    await assertAgreement(dir, id);
  });

  let runB: { dir: string; id: string } | undefined;

  test('run whose last rewind hides a whole key past step 0', async () => {
    const dir = writeRunB();
    await fillRunB(dir);
    const id = await upload(dir, 'agree-b');
    await assertAgreement(dir, id);
    runB = { dir, id };
  });

  test('a server-side copy agrees too', async () => {
    assert.ok(runB, 'the previous test uploaded run B');
    const copy = await t.request(`/api/v1/experiments/${runB.id}/copy`, {
      method: 'POST',
      json: { requestKey: 'agree-copy' },
    });
    assert.equal(copy.status, 201);
    await assertAgreement(runB.dir, copy.body.experiment.id);
  });
});
