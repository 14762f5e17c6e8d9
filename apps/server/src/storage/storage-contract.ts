import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { SessionInfo } from '@swanlog/protocol';
import { type ChunkPoints, decodeChunk } from '@swanlog/store';
import { summarizeBlocks } from '../block-summary.js';
import type { IngestSource, Storage } from './storage.js';

/** Makes a fresh, empty backend; `cleanup` closes it and removes what it made. */
export type StorageFactory = () => Promise<{ storage: Storage; cleanup: () => Promise<void> | void }>;

/** A session record for tests. */
export function testSession(overrides: Partial<SessionInfo> = {}): SessionInfo {
  return {
    segment: 'seg',
    host: 'host-a',
    pid: 1,
    startedAt: 1000,
    clockStart: 1000,
    resumed: false,
    fromStep: null,
    endedAt: null,
    endState: null,
    heartbeatAt: 1000,
    ...overrides,
  };
}

/** Points with seq = first..first+n-1, step = seq * stepScale, value = step / 2, ts = 1000 + seq. */
export function testPoints(firstSeq: number, n: number, stepOf = (seq: number) => seq): ChunkPoints {
  const p: ChunkPoints = {
    steps: new Float64Array(n),
    values: new Float64Array(n),
    ts: new Float64Array(n),
    seqs: new Float64Array(n),
  };
  for (let i = 0; i < n; i++) {
    const seq = firstSeq + i;
    p.seqs[i] = seq;
    p.steps[i] = stepOf(seq);
    p.values[i] = stepOf(seq) / 2;
    p.ts[i] = 1000 + seq;
  }
  return p;
}

function batchOf(source: string, fromSeq: number, toSeq: number, key = 'train/loss'): IngestSource {
  return {
    source,
    fromSeq,
    toSeq,
    session: testSession({ heartbeatAt: 1000 + toSeq }),
    rewinds: [],
    chunks: toSeq > fromSeq ? [{ key, points: testPoints(fromSeq + 1, toSeq - fromSeq) }] : [],
  };
}

const create = (storage: Storage, ws: string, requestKey: string, extra: Record<string, unknown> = {}) =>
  storage.createExperiment(ws, {
    requestKey,
    project: 'proj',
    name: null,
    createdAt: 5000,
    copiedFrom: null,
    ...extra,
  });

/**
 * Registers the storage contract tests: every backend (SQLite now, PostgreSQL later) runs them
 * through its own factory.
 */
export function describeStorageContract(name: string, factory: StorageFactory): void {
  describe(`storage contract: ${name}`, () => {
    let storage: Storage;
    let cleanup: () => Promise<void> | void;
    let counter = 0;
    /** A workspace no other test uses, so tests share one backend without seeing each other. */
    const freshWs = () => `ws${++counter}`;

    before(async () => {
      ({ storage, cleanup } = await factory());
    });
    after(async () => {
      await cleanup();
    });

    test('instance id is stable', async () => {
      const id = await storage.instanceId();
      assert.match(id, /^[0-9A-Z]{26}$/);
      assert.equal(await storage.instanceId(), id);
    });

    test('create is idempotent per request key and honours a free requested id', async () => {
      const ws = freshWs();
      const a = await create(storage, ws, 'rk1', { requestedId: 'run-a', name: 'first' });
      assert.equal(a.created, true);
      assert.equal(a.experiment.id, 'run-a');
      assert.equal(a.experiment.name, 'first');
      assert.equal(a.experiment.createdAt, 5000);
      const again = await create(storage, ws, 'rk1', { requestedId: 'other' });
      assert.deepEqual(again, { experiment: a.experiment, created: false });
      const taken = await create(storage, ws, 'rk2', { requestedId: 'run-a' });
      assert.equal(taken.created, true);
      assert.notEqual(taken.experiment.id, 'run-a');
      assert.match(taken.experiment.id, /^[0-9a-z]{21}$/);
      await assert.rejects(
        Promise.resolve().then(() => create(storage, ws, 'rk3', { requestedId: 'run-a', exactId: true })),
        (e: Error & { code?: string }) => e.code === 'RUN_EXISTS',
      );
      const exact = await create(storage, ws, 'rk4', { requestedId: 'run-b', exactId: true });
      assert.equal(exact.experiment.id, 'run-b');
      const fresh = await create(storage, ws, 'rk5');
      assert.match(fresh.experiment.id, /^[0-9a-z]{21}$/);
    });

    test('workspaces are isolated', async () => {
      const ws1 = freshWs();
      const ws2 = freshWs();
      await create(storage, ws1, 'same', { requestedId: 'shared-id', project: 'p1' });
      const other = await create(storage, ws2, 'same', { requestedId: 'shared-id', project: 'p2' });
      assert.equal(other.created, true);
      assert.equal(other.experiment.id, 'shared-id');
      assert.equal((await storage.getExperiment({ workspace: ws1, id: 'shared-id' }))?.project, 'p1');
      assert.equal((await storage.getExperiment({ workspace: ws2, id: 'shared-id' }))?.project, 'p2');
      assert.equal(await storage.getExperiment({ workspace: freshWs(), id: 'shared-id' }), undefined);
      assert.deepEqual(await storage.listProjects(ws1), [{ name: 'p1', experiments: 1 }]);
      assert.deepEqual(
        (await storage.listExperiments(ws2)).map((e) => e.id),
        ['shared-id'],
      );
      await assert.rejects(
        Promise.resolve().then(() => storage.sources({ workspace: freshWs(), id: 'shared-id' })),
        (e: Error & { code?: string }) => e.code === 'RUN_NOT_FOUND',
      );
    });

    test('experiments list newest first, filtered by project', async () => {
      const ws = freshWs();
      await create(storage, ws, 'a', { requestedId: 'old', createdAt: 1, project: 'x' });
      await create(storage, ws, 'b', { requestedId: 'new', createdAt: 3, project: 'x' });
      await create(storage, ws, 'c', { requestedId: 'mid', createdAt: 2, project: 'y' });
      assert.deepEqual(
        (await storage.listExperiments(ws)).map((e) => e.id),
        ['new', 'mid', 'old'],
      );
      assert.deepEqual(
        (await storage.listExperiments(ws, 'x')).map((e) => e.id),
        ['new', 'old'],
      );
      assert.deepEqual(await storage.listProjects(ws), [
        { name: 'x', experiments: 2 },
        { name: 'y', experiments: 1 },
      ]);
    });

    test('watermark rule: apply, repeat is a no-op, a gap conflicts', async () => {
      const ws = freshWs();
      const ref = { workspace: ws, id: (await create(storage, ws, 'w')).experiment.id };
      assert.deepEqual(await storage.ingest(ref, [batchOf('s1', -1, 9)]), {
        status: 'stored',
        watermarks: { s1: 9 },
        stored: 10,
      });
      assert.deepEqual(await storage.ingest(ref, [batchOf('s1', -1, 9)]), {
        status: 'stored',
        watermarks: { s1: 9 },
        stored: 0,
      });
      assert.deepEqual(await storage.ingest(ref, [batchOf('s1', 12, 15)]), {
        status: 'conflict',
        watermarks: { s1: 9 },
      });
      // A conflict in one source stores nothing of the others.
      assert.deepEqual(await storage.ingest(ref, [batchOf('s2', -1, 3), batchOf('s1', 12, 15)]), {
        status: 'conflict',
        watermarks: { s1: 9 },
      });
      assert.deepEqual(await storage.ingest(ref, [batchOf('s1', 9, 12), batchOf('s2', -1, 3)]), {
        status: 'stored',
        watermarks: { s1: 12, s2: 3 },
        stored: 7,
      });
      const summaries = await storage.chunkSummaries(ref);
      assert.equal(
        summaries.reduce((n, c) => n + c.n, 0),
        17,
      );
      assert.deepEqual(await storage.keys(ref), ['train/loss']);
      assert.deepEqual(
        (await storage.sources(ref)).map((s) => [s.source, s.watermark]),
        [
          ['s1', 12],
          ['s2', 3],
        ],
      );
    });

    test('a repeat still updates the session record, newest wins', async () => {
      const ws = freshWs();
      const ref = { workspace: ws, id: (await create(storage, ws, 'sess')).experiment.id };
      await storage.ingest(ref, [batchOf('s1', -1, 4)]);
      const ended = { ...batchOf('s1', 4, 4), session: testSession({ endState: 'finished', endedAt: 9000 }) };
      assert.equal((await storage.ingest(ref, [ended])).status, 'stored');
      assert.equal((await storage.sources(ref))[0]?.session.endState, 'finished');
      // An older record arriving late (a retried batch) does not reopen the session.
      await storage.ingest(ref, [batchOf('s1', -1, 4)]);
      assert.equal((await storage.sources(ref))[0]?.session.endState, 'finished');
      assert.equal((await storage.sources(ref))[0]?.watermark, 4);
    });

    test('small uploads merge into one chunk that reads back identically', async () => {
      const ws = freshWs();
      const ref = { workspace: ws, id: (await create(storage, ws, 'merge')).experiment.id };
      for (let w = -1; w < 299; w += 3) await storage.ingest(ref, [batchOf('s1', w, w + 3)]);
      const summaries = await storage.chunkSummaries(ref, 'train/loss');
      assert.equal(summaries.length, 1);
      assert.deepEqual(
        { ...summaries[0], id: 0 },
        {
          id: 0,
          source: 's1',
          key: 'train/loss',
          n: 300,
          stepMin: 0,
          stepMax: 299,
          tsMin: 1000,
          tsMax: 1299,
          seqMin: 0,
          seqMax: 299,
        },
      );
      const [chunk] = await storage.chunks(ref, 'train/loss');
      const expected = testPoints(0, 300);
      assert.deepEqual(decodeChunk(chunk!.data), expected);
      const data = await storage.chunkData(ref, [chunk!.id]);
      assert.deepEqual(decodeChunk(data.get(chunk!.id)!), expected);
      assert.equal((await storage.chunks(ref, 'train/loss', { from: 400 })).length, 0);
      assert.equal((await storage.chunks(ref, 'train/loss', { from: 100, to: 120 })).length, 1);
      assert.equal((await storage.chunks(ref, 'other')).length, 0);
    });

    test('each chunk has the block summaries of its points, also after it took more', async () => {
      const ws = freshWs();
      const ref = { workspace: ws, id: (await create(storage, ws, 'blocks')).experiment.id };
      await storage.ingest(ref, [batchOf('s1', -1, 299)]);
      await storage.ingest(ref, [batchOf('s1', 299, 799)]); // merged into the first chunk
      const ids = (await storage.chunkSummaries(ref)).map((c) => c.id);
      const blocks = await storage.chunkBlocks(ref, [...ids, 987_654]);
      assert.deepEqual([...blocks.keys()], ids, 'an unknown chunk is left out');
      assert.deepEqual(blocks.get(ids[0]!), summarizeBlocks(testPoints(0, 800)));
      const other = freshWs();
      const oref = { workspace: other, id: (await create(storage, other, 'blocks')).experiment.id };
      assert.equal(
        (await storage.chunkBlocks(oref, ids)).size,
        0,
        "another experiment's chunks are not read",
      );
    });

    test('a chunk stops taking points once large', async () => {
      const ws = freshWs();
      const ref = { workspace: ws, id: (await create(storage, ws, 'big')).experiment.id };
      await storage.ingest(ref, [batchOf('s1', -1, 4999)]);
      await storage.ingest(ref, [batchOf('s1', 4999, 5009)]);
      const summaries = await storage.chunkSummaries(ref);
      assert.deepEqual(
        summaries.map((c) => c.n),
        [5000, 10],
      );
    });

    test('a received chunk of 512 points or more is a row of its own; smaller ones are appended', async () => {
      const ws = freshWs();
      const ref = { workspace: ws, id: (await create(storage, ws, 'own-row')).experiment.id };
      await storage.ingest(ref, [batchOf('s1', -1, 299)]);
      await storage.ingest(ref, [batchOf('s1', 299, 1299)]);
      await storage.ingest(ref, [batchOf('s1', 1299, 1309)]);
      const summaries = await storage.chunkSummaries(ref);
      assert.deepEqual(
        summaries.map((c) => c.n),
        [300, 1010],
      );
      const points = (await storage.chunks(ref, 'train/loss')).map((c) => decodeChunk(c.data));
      assert.deepEqual(points[1], testPoints(300, 1010));
    });

    test('rewinds are stored with their batch', async () => {
      const ws = freshWs();
      const ref = { workspace: ws, id: (await create(storage, ws, 'rw')).experiment.id };
      const b = batchOf('s2', -1, 5);
      b.chunks = [{ key: 'acc', points: testPoints(1, 5) }];
      b.rewinds = [{ seq: 0, ts: 999, step: 3 }];
      await storage.ingest(ref, [b]);
      assert.deepEqual(await storage.rewinds(ref), [{ source: 's2', seq: 0, ts: 999, step: 3 }]);
      await storage.ingest(ref, [b]);
      assert.equal((await storage.rewinds(ref)).length, 1);
    });

    test('config revisions: known ones ignored, ordered by (ts, source)', async () => {
      const ws = freshWs();
      const ref = { workspace: ws, id: (await create(storage, ws, 'cfg')).experiment.id };
      assert.equal(
        await storage.addConfigRevisions(ref, [
          { ts: 20, source: 'b', patch: { lr: 2 } },
          { ts: 10, source: null, patch: { lr: 1, opt: { name: 'adam' } } },
        ]),
        2,
      );
      assert.equal(
        await storage.addConfigRevisions(ref, [
          { ts: 20, source: 'b', patch: { lr: 999 } },
          { ts: 20, source: 'a', patch: { bs: 8 } },
        ]),
        1,
      );
      assert.deepEqual(await storage.configRevisions(ref), [
        { ts: 10, source: null, patch: { lr: 1, opt: { name: 'adam' } } },
        { ts: 20, source: 'a', patch: { bs: 8 } },
        { ts: 20, source: 'b', patch: { lr: 2 } },
      ]);
    });

    test('copy: same points, rewinds, config, sessions (open ones crashed); idempotent', async () => {
      const ws = freshWs();
      const ref = {
        workspace: ws,
        id: (await create(storage, ws, 'orig', { requestedId: 'orig', name: 'n' })).experiment.id,
      };
      const b = batchOf('s1', -1, 20);
      b.rewinds = [{ seq: 1, ts: 1001, step: 0 }];
      await storage.ingest(ref, [
        b,
        { ...batchOf('s2', -1, 2), session: testSession({ endState: 'finished', endedAt: 7 }) },
      ]);
      await storage.addConfigRevisions(ref, [{ ts: 1, source: null, patch: { a: 1 } }]);
      const copy = await storage.copyExperiment(ref, { requestKey: 'copy1', now: 123_456 });
      assert.equal(copy.created, true);
      assert.notEqual(copy.experiment.id, 'orig');
      assert.equal(copy.experiment.copiedFrom, 'orig');
      assert.equal(copy.experiment.name, 'n');
      assert.equal(copy.experiment.createdAt, 123_456);
      const cref = { workspace: ws, id: copy.experiment.id };
      assert.deepEqual(await storage.rewinds(cref), await storage.rewinds(ref));
      assert.deepEqual(await storage.configRevisions(cref), await storage.configRevisions(ref));
      const strip = (cs: { id: number; data: Uint8Array }[]) => cs.map(({ id: _id, ...rest }) => rest);
      assert.deepEqual(
        strip(await storage.chunks(cref, 'train/loss')),
        strip(await storage.chunks(ref, 'train/loss')),
      );
      const blocksOf = async (r: typeof ref) => [
        ...(
          await storage.chunkBlocks(
            r,
            (await storage.chunkSummaries(r)).map((c) => c.id),
          )
        ).values(),
      ];
      assert.deepEqual(await blocksOf(cref), await blocksOf(ref), 'block summaries are copied');
      assert.equal((await blocksOf(cref)).length, (await storage.chunkSummaries(cref)).length);
      const sessions = await storage.sources(cref);
      assert.deepEqual(
        sessions.map((s) => [s.source, s.watermark, s.session.endState, s.session.endedAt]),
        // An open session ends in the copy at its last sign of life the server saw (its
        // heartbeat, 1000 + toSeq from batchOf), not at the copy time.
        [
          ['s1', 20, 'crashed', 1020],
          ['s2', 2, 'finished', 7],
        ],
      );
      assert.equal((await storage.sources(ref))[0]?.session.endState, null, 'the original is untouched');
      const again = await storage.copyExperiment(ref, { requestKey: 'copy1', now: 999 });
      assert.deepEqual(again, { experiment: copy.experiment, created: false });
      const named = await storage.copyExperiment(ref, { requestKey: 'copy2', requestedId: 'wanted', now: 1 });
      assert.equal(named.experiment.id, 'wanted');
    });

    test('api keys: add, find by hash, revoke by id or hash, list', async () => {
      const ws = freshWs();
      await storage.addApiKey({
        id: `k-${ws}`,
        hash: `h-${ws}`,
        workspace: ws,
        scope: 'read',
        createdAt: 42,
      });
      await storage.addApiKey({
        id: `k2-${ws}`,
        hash: `h2-${ws}`,
        workspace: ws,
        scope: 'write',
        createdAt: 43,
      });
      assert.deepEqual(await storage.findApiKeyByHash(`h-${ws}`), {
        id: `k-${ws}`,
        hash: `h-${ws}`,
        workspace: ws,
        scope: 'read',
        createdAt: 42,
        revokedAt: null,
      });
      assert.equal(await storage.findApiKeyByHash('nope'), undefined);
      assert.equal(await storage.revokeApiKey(`k-${ws}`, 50), true);
      assert.equal((await storage.findApiKeyByHash(`h-${ws}`))?.revokedAt, 50);
      assert.equal(await storage.revokeApiKey(`h2-${ws}`, 60), true);
      assert.equal(await storage.revokeApiKey('unknown', 60), false);
      const listed = (await storage.listApiKeys()).filter((k) => k.workspace === ws);
      assert.deepEqual(
        listed.map((k) => [k.id, k.revokedAt]),
        [
          [`k-${ws}`, 50],
          [`k2-${ws}`, 60],
        ],
      );
      assert.ok(!JSON.stringify(listed).includes(`h-${ws}`), 'hashes are not listed');
    });

    test('dashboard sessions expire and end with their key', async () => {
      const ws = freshWs();
      await storage.addApiKey({
        id: `ks-${ws}`,
        hash: `hs-${ws}`,
        workspace: ws,
        scope: 'read',
        createdAt: 1,
      });
      const far = Date.now() + 60_000;
      await storage.addDashboardSession(`t-${ws}`, `ks-${ws}`, far);
      assert.equal((await storage.findDashboardSession(`t-${ws}`, Date.now()))?.id, `ks-${ws}`);
      assert.equal(await storage.findDashboardSession(`t-${ws}`, far + 1), undefined);
      await storage.deleteDashboardSession(`t-${ws}`);
      assert.equal(await storage.findDashboardSession(`t-${ws}`, Date.now()), undefined);
      await storage.addDashboardSession(`t2-${ws}`, `ks-${ws}`, far);
      await storage.revokeApiKey(`ks-${ws}`, 2);
      assert.equal(await storage.findDashboardSession(`t2-${ws}`, Date.now()), undefined);
    });

    test('team metadata: tags, note, rename, archive and undo; only the fields given change', async () => {
      const ws = freshWs();
      const { experiment } = await create(storage, ws, 'rk-meta', { requestedId: 'meta-run', name: 'first' });
      assert.deepEqual([experiment.tags, experiment.note, experiment.archived], [[], '', false]);
      const ref = { workspace: ws, id: 'meta-run' };
      const tagged = await storage.updateExperimentMeta(ref, { tags: ['baseline', 'lr-sweep'] });
      assert.deepEqual(
        [tagged.name, tagged.tags, tagged.note, tagged.archived],
        ['first', ['baseline', 'lr-sweep'], '', false],
      );
      await storage.updateExperimentMeta(ref, { note: 'diverged at 3k', name: 'renamed', archived: true });
      const read = await storage.getExperiment(ref);
      assert.deepEqual(
        [read?.name, read?.tags, read?.note, read?.archived],
        ['renamed', ['baseline', 'lr-sweep'], 'diverged at 3k', true],
      );
      await storage.updateExperimentMeta(ref, { archived: false });
      assert.equal((await storage.listExperiments(ws))[0]?.archived, false);
      await assert.rejects(
        Promise.resolve().then(() =>
          storage.updateExperimentMeta({ workspace: ws, id: 'nope' }, { note: 'x' }),
        ),
        (e: Error & { code?: string }) => e.code === 'RUN_NOT_FOUND',
      );
    });

    test('delete removes every row of one experiment, keeps a tombstone; its id is never given again', async () => {
      const ws = freshWs();
      await create(storage, ws, 'rk-del', { requestedId: 'doomed' });
      await create(storage, ws, 'rk-keep', { requestedId: 'kept' });
      const doomed = { workspace: ws, id: 'doomed' };
      const kept = { workspace: ws, id: 'kept' };
      for (const ref of [doomed, kept]) {
        const r = await storage.ingest(ref, [batchOf('src', -1, 299)]);
        assert.equal(r.status, 'stored');
        await storage.addConfigRevisions(ref, [{ ts: 1, source: 'src', patch: { lr: 1 } }]);
      }
      assert.equal(await storage.deletedAt(doomed), undefined);
      assert.equal(await storage.deleteExperiment(doomed, 777), true);
      assert.equal(await storage.getExperiment(doomed), undefined);
      assert.equal(await storage.deletedAt(doomed), 777);
      assert.equal(await storage.deleteExperiment(doomed, 888), false, 'already gone');
      assert.deepEqual(
        (await storage.listExperiments(ws)).map((e) => e.id),
        ['kept'],
      );
      const again = await create(storage, ws, 'rk-new', { requestedId: 'doomed' });
      assert.notEqual(again.experiment.id, 'doomed', 'a deleted id is not reused');
      await assert.rejects(
        Promise.resolve().then(() =>
          create(storage, ws, 'rk-exact', { requestedId: 'doomed', exactId: true }),
        ),
        (e: Error & { code?: string }) => e.code === 'RUN_EXISTS',
      );
      // The other experiment is whole.
      const summaries = await storage.chunkSummaries(kept);
      assert.equal(
        summaries.reduce((n, c) => n + c.n, 0),
        300,
      );
      assert.equal((await storage.configRevisions(kept)).length, 1);
      await storage.vacuum();
      assert.equal(
        (await storage.chunkSummaries(kept)).reduce((n, c) => n + c.n, 0),
        300,
      );
    });
  });
}
