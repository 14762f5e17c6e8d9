import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { createClient, type SyncResult, syncRunDir } from '@swanlog/client';
import { RunReader } from '@swanlog/store';
import autocannon from 'autocannon';
import { initSync } from 'swanlog';
import { createApiKey } from '../api-keys.js';
import { type RunningServer, startServer } from '../start-server.js';

/**
 * A bounded loopback load test: CLIENTS syncing clients, each uploading its own run of
 * KEYS × STEPS points at the same time, while autocannon reads the series API. Figures are
 * printed, never asserted (timing belongs in benchmarks); what is asserted is that every client's
 * data arrived exactly.
 */
const CLIENTS = 24;
const STEPS = 25_000;
const KEYS = ['loss', 'acc'];
const BATCH_POINTS = 5_000;
const READ_SECONDS = 5;

let work: string;
let server: RunningServer;
let writeKey: string;
let readKey: string;
const dirs: string[] = [];

before(async () => {
  work = mkdtempSync(join(tmpdir(), 'swanlog-load-'));
  const logdir = join(work, 'logdir');
  mkdirSync(logdir);
  for (let c = 0; c < CLIENTS; c++) {
    const run = initSync({ project: 'load', name: `client-${c}`, logdir, mode: 'offline' });
    for (let s = 0; s < STEPS; s++) run.log({ loss: 1 / (s + 1) + c, acc: (s % 1000) / 1000 });
    await run.finish();
    dirs.push(run.dir!);
  }
  const dataDir = join(work, 'data');
  server = await startServer({ dataDir, port: 0, log: (m) => assert.fail(m) });
  writeKey = createApiKey({ dataDir, workspace: 'ws', scope: 'write' }).key;
  readKey = createApiKey({ dataDir, workspace: 'ws', scope: 'read' }).key;
});

after(async () => {
  await server?.close();
  rmSync(work, { recursive: true, force: true });
});

function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return Number.NaN;
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)]!;
}

test(`load: ${CLIENTS} clients sync ${KEYS.length * STEPS} points each at once while the read API is hammered`, async () => {
  // One experiment to read while the syncs run.
  const first = await syncRunDir({
    dir: dirs[0]!,
    client: createClient({ host: server.url, apiKey: writeKey }),
  });

  const intervals: number[] = [];
  const started = performance.now();
  const syncs = dirs.map(async (dir) => {
    let last = performance.now();
    const result = await syncRunDir({
      dir,
      client: createClient({ host: server.url, apiKey: writeKey }),
      batchPoints: BATCH_POINTS,
      // One progress report per stored ingest batch: the time since the last is that request's latency.
      onProgress: () => {
        const now = performance.now();
        intervals.push(now - last);
        last = now;
      },
    });
    return result;
  });
  const reads = autocannon({
    url: `${server.url}/api/v1/experiments/${first.experimentId}/metrics/loss?maxPoints=1000`,
    headers: { authorization: `Bearer ${readKey}` },
    connections: 16,
    duration: READ_SECONDS,
  });
  const results: SyncResult[] = await Promise.all(syncs);
  const syncSeconds = (performance.now() - started) / 1000;
  const read = await reads;

  const totalPoints = results.reduce((n, r) => n + r.uploaded.points, 0);
  intervals.sort((a, b) => a - b);
  console.log(
    [
      `load: ${CLIENTS} concurrent syncing clients, ${totalPoints} points uploaded in ${syncSeconds.toFixed(2)} s`,
      `  sync: ${(totalPoints / syncSeconds).toFixed(0)} points/s, ${intervals.length} ingest batches, ` +
        `${(intervals.length / syncSeconds).toFixed(1)} batches/s, batch latency p50 ${percentile(intervals, 50).toFixed(0)} ms, ` +
        `p99 ${percentile(intervals, 99).toFixed(0)} ms`,
      `  read API (autocannon, 16 connections, ${READ_SECONDS} s, during the syncs): ` +
        `${read.requests.average.toFixed(0)} req/s, p50 ${read.latency.p50} ms, p99 ${read.latency.p99} ms, ` +
        `${read.requests.total} requests, ${read.non2xx} non-2xx, ${read.errors} errors, ${read.timeouts} timeouts`,
    ].join('\n'),
  );
  assert.equal(read.non2xx, 0, 'every read answered 2xx');
  assert.equal(read.errors, 0);

  // Every client's data arrived exactly: one experiment per run, its series equal to the local ones.
  const client = createClient({ host: server.url, apiKey: readKey });
  const ids = new Set(results.map((r) => r.experimentId));
  assert.equal(ids.size, CLIENTS, 'one experiment per client');
  const list = await client.listExperiments('ws');
  assert.equal(list.experiments.length, CLIENTS, 'no duplicate experiments');
  for (const [i, result] of results.entries()) {
    assert.equal(result.complete, true, `client ${i} complete`);
    const reader = RunReader.open(dirs[i]!, { readonly: true });
    try {
      assert.deepEqual(reader.keys().sort(), [...KEYS].sort());
      for (const key of KEYS) {
        const local = reader.series(key);
        const remote = await client.metrics(result.experimentId, key, { maxPoints: 1_000_000 });
        assert.equal(remote.points.length, STEPS, `client ${i} ${key}: point count`);
        assert.deepEqual(
          remote.points.map((p) => p.step),
          Array.from(local.steps),
          `client ${i} ${key}: steps`,
        );
        assert.deepEqual(
          remote.points.map((p) => p.value),
          Array.from(local.values),
          `client ${i} ${key}: values`,
        );
      }
    } finally {
      reader.close();
    }
  }
  const again = await syncRunDir({
    dir: dirs[1]!,
    client: createClient({ host: server.url, apiKey: writeKey }),
  });
  assert.equal(again.uploaded.points, 0, 'one more sync uploads nothing');
});
