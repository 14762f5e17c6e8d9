import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { cpSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { encodeValue } from '@swanlog/protocol';
import { createRun, RunReader, RunWriter } from '@swanlog/store';
import { initSync, type Run } from 'swanlog';
import type { Json } from '../test-support/server.js';
import { openEvents } from '../test-support/sse-client.js';
import { type RunningWatch, startWatch } from './start-watch.js';

const fixtures = new URL('../../../../swanlog-fixtures/logdir/', import.meta.url).pathname;
const work = mkdtempSync(join(tmpdir(), 'swanlog-watch-test-'));
const logdir = join(work, 'logdir');
const webRoot = join(work, 'web');
let watch: RunningWatch;
let live: Run;
const open: Run[] = [];

before(async () => {
  cpSync(fixtures, logdir, { recursive: true });
  mkdirSync(join(webRoot, 'assets'), { recursive: true });
  writeFileSync(join(webRoot, 'index.html'), '<!doctype html><title>fake swanlog ui</title>');
  writeFileSync(join(webRoot, 'assets', 'app.js'), 'console.log("ui")');
  writeFileSync(join(webRoot, 'assets', 'app.css'), 'body{}');
  live = initSync({ project: 'watched', logdir, mode: 'offline', name: 'live one' });
  open.push(live);
  live.log({ loss: 1 });
  live.flush();
  writeBigRun();
  watch = await startWatch({ logdir, port: 0, webRoot, log: (m) => assert.fail(m) });
});

after(async () => {
  await watch?.close();
  for (const run of open) await run.finish();
  rmSync(work, { recursive: true, force: true });
});

async function get(path: string): Promise<{ status: number; body: Json; headers: Headers }> {
  const res = await fetch(`${watch.url}${path}`);
  const text = await res.text();
  return {
    status: res.status,
    body: text.startsWith('{') || text.startsWith('[') ? JSON.parse(text) : text,
    headers: res.headers,
  };
}

/** 20,000 steps of `x` with a spike, a dip and a NaN that downsampling must keep. */
function writeBigRun(): void {
  const { dir } = createRun({ logdir, id: 'big', project: 'p', workspace: null, name: null });
  const writer = RunWriter.open({ dir, resumed: false, flushIntervalMs: 60_000 });
  for (let step = 0; step < 20_000; step++) {
    const value =
      step === 12_345 ? 1e9 : step === 777 ? -1e9 : step === 15_000 ? Number.NaN : Math.sin(step / 100);
    writer.append({ x: value }, step);
  }
  writer.close('finished');
}

test('server info says watch mode, workspace local, read scope', async () => {
  const res = await get('/api/v1/server');
  assert.equal(res.status, 200);
  assert.equal(res.body.mode, 'watch');
  assert.equal(res.body.workspace, 'local');
  assert.equal(res.body.scope, 'read');
  assert.equal(res.body.publicUrl, null);
  assert.match(res.body.instanceId, /^[0-9a-f]+$/);
});

test('the list shows finished, crashed, copied, resumed and running runs newest first; damaged ones are problems', async () => {
  const res = await get('/api/v1/workspaces/local/experiments');
  assert.equal(res.status, 200);
  const byId = new Map<string, Json>(res.body.experiments.map((e: Json) => [e.id, e]));
  assert.equal(byId.get('fx-finished').state, 'finished');
  assert.equal(byId.get('fx-crashed').state, 'crashed');
  assert.equal(byId.get('fx-resumed').segments, 2);
  assert.equal(byId.get(live.id).state, 'running');
  assert.equal(byId.get(live.id).name, 'live one');
  assert.equal(byId.get(live.id).sync, 'never');
  const copied = res.body.experiments.find((e: Json) => e.copiedFrom === 'fx-finished');
  assert.ok(copied, 'the copied fixture run is listed');
  assert.equal(copied.state, 'finished');
  for (const e of res.body.experiments) {
    assert.equal(e.workspace, 'local');
    assert.ok(e.dir.startsWith(logdir));
  }
  const created = res.body.experiments.map((e: Json) => Date.parse(e.createdAt));
  assert.deepEqual(
    created,
    [...created].sort((a, b) => b - a),
    'newest first',
  );
  for (const damaged of ['fx-foreign', 'fx-future-version', 'fx-truncated'])
    assert.equal(byId.has(damaged), false);

  const problems = await get('/api/v1/workspaces/local/problems');
  assert.deepEqual(problems.body.map((p: Json) => p.code).sort(), [
    'RUN_DIR_CORRUPT',
    'RUN_DIR_CORRUPT',
    'UNSUPPORTED_FORMAT',
  ]);
  const watched = await get('/api/v1/workspaces/local/experiments?project=watched');
  assert.deepEqual(
    watched.body.experiments.map((e: Json) => e.id),
    [live.id],
  );
  assert.equal((await get('/api/v1/workspaces/other/experiments')).status, 404);

  // The runs table's rows carry the same copiedFrom and sync, so the runs page needs no list.
  const table = await get('/api/v1/workspaces/local/runs-table');
  const rows = new Map<string, Json>(table.body.runs.map((r: Json) => [r.id, r]));
  for (const e of res.body.experiments) {
    assert.equal(rows.get(e.id).copiedFrom, e.copiedFrom, e.id);
    assert.equal(rows.get(e.id).sync, e.sync, e.id);
  }
  assert.equal(rows.get(copied.id).copiedFrom, 'fx-finished');
  assert.equal(rows.get(live.id).sync, 'never');
});

test('details list segments with fromStep and the first step written, and rewinds', async () => {
  const res = await get('/api/v1/experiments/fx-rewound/details');
  assert.equal(res.status, 200);
  assert.deepEqual(
    res.body.segments.map((s: Json) => [s.resumed, s.fromStep, s.firstStep, s.state]),
    [
      [false, null, 0, 'finished'],
      [true, 20, 21, 'finished'],
    ],
  );
  // Each segment names the machine and process that wrote it (the run page's environment panel).
  for (const s of res.body.segments as Json[]) {
    assert.equal(typeof s.host, 'string');
    assert.ok(s.host.length > 0 && Number.isInteger(s.pid) && s.pid > 0, JSON.stringify(s));
  }
  assert.deepEqual(
    res.body.rewinds.map((r: Json) => r.step),
    [20],
  );
  assert.equal(typeof res.body.rewinds[0].ts, 'number');
  const resumed = await get('/api/v1/experiments/fx-resumed/details');
  assert.deepEqual(
    resumed.body.configRevisions.map((r: Json) => r.patch),
    [{ phase: 2 }],
  );
  assert.equal((await get('/api/v1/experiments/no-such-run/details')).status, 404);
});

test('metrics equal RunReader.series, superseded points included', async () => {
  const dir = (await get('/api/v1/experiments/fx-rewound')).body.dir;
  const reader = RunReader.open(dir);
  const series = reader.series('loss', { superseded: true });
  reader.close();
  const expected = [...series.steps].map((step, i) => ({
    step,
    value: encodeValue(series.values[i]!),
    ts: series.ts[i]!,
    ...(series.superseded?.[i] === 1 ? { superseded: true } : {}),
  }));
  const res = await get('/api/v1/experiments/fx-rewound/metrics/loss?superseded=1');
  assert.equal(res.status, 200);
  assert.deepEqual(res.body.points, expected);
  assert.equal(res.body.downsampled, false);
  assert.ok(
    expected.some((p) => p.superseded === true),
    'the rewound run has superseded points',
  );
  const unknown = await get('/api/v1/experiments/fx-rewound/metrics/nope');
  assert.equal(unknown.status, 404);
  assert.equal(unknown.body.code, 'NOT_FOUND');
  assert.match(unknown.body.hint, /keys.*GET \/api\/v1\/experiments\/fx-rewound/);
});

test("downsampling keeps each bucket's extremes: the spike, the dip and the NaN show", async () => {
  const res = await get('/api/v1/experiments/big/metrics/x?maxPoints=200');
  assert.equal(res.status, 200);
  assert.equal(res.body.downsampled, true);
  assert.equal(res.body.total, 20_000);
  assert.ok(res.body.points.length <= 200);
  const at = new Map(res.body.points.map((p: Json) => [p.step, p.value]));
  assert.equal(at.get(12_345), 1e9);
  assert.equal(at.get(777), -1e9);
  assert.equal(at.get(15_000), 'NaN');
  for (const p of res.body.points)
    if (typeof p.value === 'number')
      assert.equal(p.value, p.step === 12_345 ? 1e9 : p.step === 777 ? -1e9 : Math.sin(p.step / 100));
  const range = await get('/api/v1/experiments/big/metrics/x?from=10&to=19');
  assert.deepEqual(
    range.body.points.map((p: Json) => p.step),
    [10, 11, 12, 13, 14, 15, 16, 17, 18, 19],
  );
});

test('several keys in one request answer what each key alone answers; bad input is 400 with a hint', async () => {
  const keys: string[] = (await get('/api/v1/experiments/fx-rewound')).body.keys;
  assert.ok(keys.length >= 1);
  const qs = 'maxPoints=5&superseded=1';
  const many = await get(
    `/api/v1/experiments/fx-rewound/metrics?${keys.map((k) => `key=${encodeURIComponent(k)}`).join('&')}&${qs}`,
  );
  assert.equal(many.status, 200, JSON.stringify(many.body));
  const alone = [];
  for (const k of keys)
    alone.push((await get(`/api/v1/experiments/fx-rewound/metrics/${encodeURIComponent(k)}?${qs}`)).body);
  assert.deepEqual(many.body.series, alone);
  const big = await get('/api/v1/experiments/big/metrics?key=x&maxPoints=200&from=10&to=19');
  assert.deepEqual(big.body.series, [
    (await get('/api/v1/experiments/big/metrics/x?maxPoints=200&from=10&to=19')).body,
  ]);
  const unknown = await get('/api/v1/experiments/big/metrics?key=x&key=nope');
  assert.equal(unknown.status, 404);
  assert.equal(unknown.body.code, 'NOT_FOUND');
  assert.match(unknown.body.message, /nope/);
  const noRun = await get('/api/v1/experiments/no-such-run/metrics?key=x');
  assert.equal(noRun.status, 404);
  for (const [path, pattern] of [
    ['', /no metric key/],
    ['?key=x&key=x', /asked for twice/],
    [`?${Array.from({ length: 101 }, (_, i) => `key=k${i}`).join('&')}`, /at most 100/],
    ['?key=x&key=y&maxPoints=500001', /above 1000000 points/],
  ] as const) {
    const res = await get(`/api/v1/experiments/big/metrics${path}`);
    assert.equal(res.status, 400, path);
    assert.equal(res.body.code, 'BAD_REQUEST', path);
    assert.match(res.body.message, pattern, path);
    assert.ok(res.body.hint, `a hint for ${path}`);
  }
});

test('events: points after a live writer flushes, runs after a new run is created', {
  timeout: 60_000,
}, async () => {
  const events = await openEvents(`${watch.url}/api/v1/events`);
  try {
    assert.equal(events.status, 200);
    assert.match(events.contentType ?? '', /^text\/event-stream/);
    live.log({ loss: 0.5 });
    live.flush();
    const points = await events.next((e) => e.event === 'points' && JSON.parse(e.data).id === live.id);
    assert.deepEqual(JSON.parse(points.data), { id: live.id });
    const second = initSync({ project: 'watched', logdir, mode: 'offline' });
    open.push(second);
    const runs = await events.next((e) => e.event === 'runs');
    assert.deepEqual(JSON.parse(runs.data), {});
    const list = await get('/api/v1/workspaces/local/experiments?project=watched');
    assert.ok(list.body.experiments.some((e: Json) => e.id === second.id));
  } finally {
    events.close();
  }
});

test('the UI: index.html for / and client routes, assets with content types, API 404s stay JSON', async () => {
  for (const path of ['/', '/experiments/x', '/compare', '/login']) {
    const res = await get(path);
    assert.equal(res.status, 200, path);
    assert.match(res.headers.get('content-type') ?? '', /^text\/html/);
    assert.match(res.body, /fake swanlog ui/);
  }
  const js = await get('/assets/app.js');
  assert.equal(js.status, 200);
  assert.match(js.headers.get('content-type') ?? '', /^text\/javascript/);
  assert.match((await get('/assets/app.css')).headers.get('content-type') ?? '', /^text\/css/);
  assert.equal((await get('/assets/missing.js')).status, 404);
  assert.equal((await get('/assets/..%2F..%2Findex.html')).status, 404);
  const api = await get('/api/v1/nope');
  assert.equal(api.status, 404);
  assert.equal(api.body.code, 'NOT_FOUND');
});

test('without a UI build, / says the UI is not built', async () => {
  const bare = await startWatch({ logdir, port: 0, webRoot: join(work, 'no-ui') });
  try {
    const res = await fetch(`${bare.url}/`);
    assert.equal(res.status, 200);
    assert.match(await res.text(), /not built/);
  } finally {
    await bare.close();
  }
});

test('a missing logdir is NOT_FOUND naming it', async () => {
  await assert.rejects(
    startWatch({ logdir: join(work, 'absent'), port: 0 }),
    (e: Error & { code?: string }) => {
      assert.equal(e.code, 'NOT_FOUND');
      assert.match(e.message, /absent/);
      return true;
    },
  );
});

test('serving a logdir changes none of its data files (a crashed run left -wal files: they stay as they are)', async () => {
  const copy = join(work, 'untouched');
  cpSync(fixtures, copy, { recursive: true });
  const hashes = () => {
    const out: Record<string, string> = {};
    const walk = (dir: string) => {
      for (const e of readdirSync(dir, { withFileTypes: true })) {
        const path = join(dir, e.name);
        if (e.isDirectory()) walk(path);
        // -shm is SQLite's shared-memory index of a WAL, which every reader may rebuild: not data.
        else if (!e.name.endsWith('-shm'))
          out[path] = createHash('sha256').update(readFileSync(path)).digest('hex');
      }
    };
    walk(copy);
    return out;
  };
  const before = hashes();
  const w = await startWatch({ logdir: copy, port: 0, webRoot, log: (m) => assert.fail(m) });
  try {
    const get = async (path: string) => (await fetch(`${w.url}${path}`)).status;
    assert.equal(await get('/api/v1/workspaces/local/experiments'), 200);
    assert.equal(await get('/api/v1/workspaces/local/runs-table'), 200);
    for (const id of ['fx-crashed', 'fx-finished', 'fx-rewound']) {
      assert.equal(await get(`/api/v1/experiments/${id}`), 200, id);
      assert.equal(await get(`/api/v1/experiments/${id}/metrics/loss`), 200, id);
    }
  } finally {
    await w.close();
  }
  assert.deepEqual(hashes(), before);
});
