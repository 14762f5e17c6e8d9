// Team metadata (tags, note, rename, archive), delete, and the runs table, over real HTTP.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { batch, batchHeaders, points, startTestServer, type TestServer } from './test-support/server.js';

let t: TestServer;
before(async () => {
  t = await startTestServer();
});
after(async () => {
  await t.close();
});

let counter = 0;
async function newExperiment(extra: Record<string, unknown> = {}): Promise<string> {
  const res = await t.request('/api/v1/experiments', {
    method: 'POST',
    json: { requestKey: `tm-${++counter}`, project: 'sweep', ...extra },
  });
  assert.equal(res.status, 201, JSON.stringify(res.body));
  return res.body.experiment.id as string;
}

async function signIn(key: string): Promise<{ cookie: string; csrf: string | null; canEdit: boolean }> {
  const login = await fetch(`${t.server.url}/api/v1/session`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ apiKey: key }),
  });
  assert.equal(login.status, 204);
  const cookie = (login.headers.get('set-cookie') ?? '').split(';')[0]!;
  const info = await t.request('/api/v1/server', { key: null, headers: { cookie } });
  assert.equal(info.status, 200);
  return { cookie, csrf: info.body.csrfToken, canEdit: info.body.canEdit };
}

const patchMeta = (id: string, json: unknown, headers: Record<string, string>, key: string | null = null) =>
  t.request(`/api/v1/experiments/${id}/meta`, { method: 'PATCH', json, headers, key });

describe('team metadata', () => {
  test('a Bearer write key tags, annotates, renames and archives; the list shows it; undo unarchives', async () => {
    const id = await newExperiment({ name: 'lr-0.1' });
    const res = await t.request(`/api/v1/experiments/${id}/meta`, {
      method: 'PATCH',
      json: { tags: ['baseline'], note: 'first try', name: 'lr 0.1 baseline', archived: true },
    });
    assert.equal(res.status, 200, JSON.stringify(res.body));
    assert.deepEqual(res.body, {
      id,
      name: 'lr 0.1 baseline',
      tags: ['baseline'],
      note: 'first try',
      archived: true,
    });
    const list = await t.request('/api/v1/workspaces/ws/experiments', { key: t.readKey });
    const e = list.body.experiments.find((x: { id: string }) => x.id === id);
    assert.deepEqual(
      [e.name, e.tags, e.note, e.archived],
      ['lr 0.1 baseline', ['baseline'], 'first try', true],
    );
    const undo = await t.request(`/api/v1/experiments/${id}/meta`, {
      method: 'PATCH',
      json: { archived: false },
    });
    assert.deepEqual([undo.body.archived, undo.body.tags], [false, ['baseline']]);
  });

  test('a read key may not; bad fields are INVALID_VALUE/BAD_REQUEST naming them, nothing changed', async () => {
    const id = await newExperiment();
    const read = await t.request(`/api/v1/experiments/${id}/meta`, {
      method: 'PATCH',
      json: { note: 'x' },
      key: t.readKey,
    });
    assert.equal(read.status, 403);
    assert.equal(read.body.code, 'FORBIDDEN');
    const bad = await t.request(`/api/v1/experiments/${id}/meta`, {
      method: 'PATCH',
      json: { tags: ['has space'] },
    });
    assert.equal(bad.status, 400, JSON.stringify(bad.body));
    assert.match(bad.body.message, /tags/);
    const unknown = await t.request(`/api/v1/experiments/${id}/meta`, {
      method: 'PATCH',
      json: { color: 'red' },
    });
    assert.equal(unknown.status, 400);
    const now = await t.request(`/api/v1/experiments/${id}`, { key: t.readKey });
    assert.equal(now.status, 200);
    const list = await t.request('/api/v1/workspaces/ws/experiments', { key: t.readKey });
    const e = list.body.experiments.find((x: { id: string }) => x.id === id);
    assert.deepEqual([e.tags, e.note], [[], '']);
  });

  test('a dashboard session of a write key edits with its CSRF token and same origin only; of a read key never', async () => {
    const id = await newExperiment();
    const w = await signIn(t.writeKey);
    assert.equal(w.canEdit, true);
    assert.match(w.csrf ?? '', /^[0-9a-f]{64}$/);
    const noToken = await patchMeta(id, { note: 'x' }, { cookie: w.cookie });
    assert.equal(noToken.status, 403);
    assert.match(noToken.body.message, /CSRF/);
    const wrong = await patchMeta(id, { note: 'x' }, { cookie: w.cookie, 'x-csrf-token': '0'.repeat(64) });
    assert.equal(wrong.status, 403);
    const crossSite = await patchMeta(
      id,
      { note: 'x' },
      { cookie: w.cookie, 'x-csrf-token': w.csrf!, origin: 'https://evil.example' },
    );
    assert.equal(crossSite.status, 403);
    const ok = await patchMeta(
      id,
      { tags: ['from-ui'] },
      { cookie: w.cookie, 'x-csrf-token': w.csrf!, origin: t.server.url },
    );
    assert.equal(ok.status, 200, JSON.stringify(ok.body));
    assert.deepEqual(ok.body.tags, ['from-ui']);
    // The session changes metadata only: ingest and delete stay Bearer-only.
    const ingest = await t.request(`/api/v1/experiments/${id}/ingest`, {
      method: 'POST',
      key: null,
      body: batch([{ source: 's', fromSeq: -1, toSeq: -1 }]),
      headers: { ...batchHeaders, cookie: w.cookie, 'x-csrf-token': w.csrf! },
    });
    assert.equal(ingest.status, 401);
    const del = await t.request(`/api/v1/experiments/${id}`, {
      method: 'DELETE',
      key: null,
      headers: { cookie: w.cookie, 'x-csrf-token': w.csrf! },
    });
    assert.equal(del.status, 401);

    const r = await signIn(t.readKey);
    assert.deepEqual([r.canEdit, r.csrf], [false, null]);
    const refused = await patchMeta(id, { note: 'x' }, { cookie: r.cookie, 'x-csrf-token': '' });
    assert.equal(refused.status, 403);
  });
});

describe('delete', () => {
  test('removes the experiment; its routes then answer EXPERIMENT_DELETED with the --new hint; the id is not reused', async () => {
    const id = await newExperiment({ requestedId: 'to-delete' });
    assert.equal(id, 'to-delete');
    const stored = await t.request(`/api/v1/experiments/${id}/ingest`, {
      method: 'POST',
      body: batch([
        {
          source: 's1',
          fromSeq: -1,
          toSeq: 2,
          chunks: [
            {
              key: 'loss',
              points: points([
                [0, 1, 0],
                [1, 0.5, 1],
                [2, 0.25, 2],
              ]),
            },
          ],
        },
      ]),
      headers: batchHeaders,
    });
    assert.equal(stored.status, 200, JSON.stringify(stored.body));
    const byRead = await t.request(`/api/v1/experiments/${id}`, { method: 'DELETE', key: t.readKey });
    assert.equal(byRead.status, 403);
    const res = await t.request(`/api/v1/experiments/${id}`, { method: 'DELETE' });
    assert.equal(res.status, 200);
    for (const path of [`/api/v1/experiments/${id}`, `/api/v1/experiments/${id}/sync`]) {
      const gone = await t.request(path);
      assert.equal(gone.status, 410, path);
      assert.equal(gone.body.code, 'EXPERIMENT_DELETED');
      assert.match(gone.body.hint, /--new/);
    }
    const again = await t.request(`/api/v1/experiments/${id}/ingest`, {
      method: 'POST',
      body: batch([{ source: 's1', fromSeq: 2, toSeq: 2 }]),
      headers: batchHeaders,
    });
    assert.equal(again.status, 410);
    const fresh = await newExperiment({ requestedId: 'to-delete' });
    assert.notEqual(fresh, 'to-delete');
  });
});

describe('runs table', () => {
  test('one request: flattened config, last/min/max per key at the last visible step, team metadata', async () => {
    const a = await newExperiment({ name: 'a', requestedId: 'table-a' });
    await t.request(`/api/v1/experiments/${a}/config`, {
      method: 'POST',
      json: {
        revisions: [
          { ts: 1, source: null, patch: { lr: 0.01, optimizer: { name: 'adam', betas: [0.9, 0.99] } } },
        ],
      },
    });
    const loss: [number, number, number][] = [];
    for (let s = 0; s < 3000; s++) loss.push([s, s === 100 ? Number.NaN : 10 / (s + 1), s]);
    const ingest = await t.request(`/api/v1/experiments/${a}/ingest`, {
      method: 'POST',
      body: batch([
        { source: 's1', fromSeq: -1, toSeq: 2999, chunks: [{ key: 'train/loss', points: points(loss) }] },
      ]),
      headers: batchHeaders,
    });
    assert.equal(ingest.status, 200, JSON.stringify(ingest.body));
    await t.request(`/api/v1/experiments/${a}/meta`, { method: 'PATCH', json: { tags: ['baseline'] } });
    const table = await t.request('/api/v1/workspaces/ws/runs-table?project=sweep', { key: t.readKey });
    assert.equal(table.status, 200, JSON.stringify(table.body));
    const row = table.body.runs.find((r: { id: string }) => r.id === a);
    assert.deepEqual(row.config, { lr: 0.01, 'optimizer/name': 'adam', 'optimizer/betas': '[0.9,0.99]' });
    assert.deepEqual(row.metrics['train/loss'], { last: 10 / 3000, min: 10 / 3000, max: 10, step: 2999 });
    assert.deepEqual(row.tags, ['baseline']);
    assert.equal(row.lastStep, 2999);
    assert.equal(row.copiedFrom, null);
    assert.equal(row.sync, undefined, 'sync state is a watch-mode field');
    assert.ok(table.body.configKeys.includes('optimizer/name'));
    // A copy's row names the original (the runs page shows it without another request).
    const copy = await t.request(`/api/v1/experiments/${a}/copy`, {
      method: 'POST',
      json: { requestKey: `copy-of-${a}` },
    });
    assert.equal(copy.status, 201, JSON.stringify(copy.body));
    const withCopy = await t.request('/api/v1/workspaces/ws/runs-table', { key: t.readKey });
    const copyRow = withCopy.body.runs.find((r: { id: string }) => r.id === copy.body.experiment.id);
    assert.equal(copyRow.copiedFrom, a);
    assert.ok(table.body.metricKeys.includes('train/loss'));
    // More points: the cached summary follows.
    const more = await t.request(`/api/v1/experiments/${a}/ingest`, {
      method: 'POST',
      body: batch([
        {
          source: 's1',
          fromSeq: 2999,
          toSeq: 3000,
          chunks: [{ key: 'train/loss', points: points([[3000, 20, 3000]]) }],
        },
      ]),
      headers: batchHeaders,
    });
    assert.equal(more.status, 200, JSON.stringify(more.body));
    const after = await t.request('/api/v1/workspaces/ws/runs-table?project=sweep', { key: t.readKey });
    const row2 = after.body.runs.find((r: { id: string }) => r.id === a);
    assert.deepEqual(row2.metrics['train/loss'], { last: 20, min: 10 / 3000, max: 20, step: 3000 });
  });
});

describe('export of a series (CSV / JSON download)', () => {
  test('every visible point at full resolution, streamed in pieces; a range; JSON; a missing key is 404', async () => {
    const id = await newExperiment({ requestedId: 'export-run' });
    const n = 250_000;
    const rows: [number, number, number][] = [];
    for (let s = 0; s < n; s++) rows.push([s, s === 7 ? Number.NaN : Math.sin(s) / 3, s]);
    const stored = await t.request(`/api/v1/experiments/${id}/ingest`, {
      method: 'POST',
      body: batch([
        { source: 's1', fromSeq: -1, toSeq: n - 1, chunks: [{ key: 'train/loss', points: points(rows) }] },
      ]),
      headers: batchHeaders,
    });
    assert.equal(stored.status, 200, JSON.stringify(stored.body));
    const res = await fetch(`${t.server.url}/api/v1/experiments/${id}/export/train%2Floss?format=csv`, {
      headers: { authorization: `Bearer ${t.readKey}` },
    });
    assert.equal(res.status, 200);
    assert.match(res.headers.get('content-disposition') ?? '', /filename="export-run-train_loss\.csv"/);
    const lines = (await res.text()).trim().split('\n');
    assert.equal(lines[0], 'step,value,ts');
    assert.equal(lines.length, n + 1);
    const exact = await t.request(`/api/v1/experiments/${id}/metrics/train%2Floss?maxPoints=1000000`, {
      key: t.readKey,
    });
    assert.equal(exact.body.downsampled, false);
    assert.deepEqual(
      lines.slice(1),
      exact.body.points.map(
        (p: { step: number; value: number | string; ts: number }) => `${p.step},${p.value},${p.ts}`,
      ),
    );
    assert.equal(lines[8], `7,NaN,${1007}`);

    const json = await t.request(`/api/v1/experiments/${id}/export/train%2Floss?format=json&from=10&to=19`, {
      key: t.readKey,
    });
    assert.equal(json.status, 200);
    assert.equal(json.body.key, 'train/loss');
    assert.deepEqual(
      json.body.points.map((p: { step: number }) => p.step),
      Array.from({ length: 10 }, (_, i) => 10 + i),
    );
    const missing = await t.request(`/api/v1/experiments/${id}/export/nope`, { key: t.readKey });
    assert.equal(missing.status, 404);
    const badFormat = await t.request(`/api/v1/experiments/${id}/export/train%2Floss?format=xml`, {
      key: t.readKey,
    });
    assert.equal(badFormat.status, 400);
  });
});
