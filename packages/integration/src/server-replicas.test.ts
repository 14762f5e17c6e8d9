// Three `swanlog server --database` processes on one PostgreSQL database, as replicas behind a
// load balancer: clients must see one server whichever replica answers.
import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import pg from 'pg';
import { init } from 'swanlog';
import { CLI_BIN, localPoints, swanlog, tempDir } from './harness.js';

const DATABASE_URL = process.env.SWANLOG_TEST_DATABASE_URL || undefined;
if (DATABASE_URL === undefined)
  process.stderr.write(
    'server replica tests NOT RUN: SWANLOG_TEST_DATABASE_URL is not set (scripts/with-postgres.sh sets it)\n',
  );

interface Replica {
  url: string;
  proc: ChildProcess;
  exited: Promise<void>;
}

/** A schema of its own, so this file shares the test database with others unseen. */
const schema = `replicas_${process.pid}_${Date.now()}`;
let databaseUrl = '';
let replicas: Replica[] = [];
let key = '';
const tmp = tempDir('swanlog-replicas-');

function startReplica(): Promise<Replica> {
  const proc = spawn(process.execPath, [CLI_BIN, 'server', '--database', databaseUrl, '--port', '0'], {
    env: { PATH: process.env.PATH ?? '', NO_COLOR: '1' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const exited = new Promise<void>((resolve) => proc.on('close', () => resolve()));
  let stdout = '';
  let stderr = '';
  proc.stderr?.setEncoding('utf8').on('data', (d: string) => {
    stderr += d;
  });
  return new Promise((resolve, reject) => {
    proc.stdout?.setEncoding('utf8').on('data', (d: string) => {
      stdout += d;
      const match = /^listening on (http:\/\/\S+)\n/.exec(stdout);
      if (match) resolve({ url: match[1]!, proc, exited });
    });
    void exited.then(() => reject(new Error(`replica exited early: ${stderr}`)));
  });
}

const get = async <T>(replica: Replica, path: string): Promise<T> => {
  const res = await fetch(`${replica.url}${path}`, { headers: { authorization: `Bearer ${key}` } });
  assert.equal(res.status, 200, `${path} on ${replica.url}`);
  return (await res.json()) as T;
};

/** Every point of every key through one replica, in the form `localPoints` gives. */
async function replicaPoints(replica: Replica, id: string): Promise<Record<string, string[]>> {
  const exp = await get<{ keys: string[] }>(replica, `/api/v1/experiments/${id}`);
  const out: Record<string, string[]> = {};
  for (const k of exp.keys) {
    const s = await get<{ points: { step: number; value: unknown; superseded?: boolean }[] }>(
      replica,
      `/api/v1/experiments/${id}/metrics/${encodeURIComponent(k)}?superseded=1&maxPoints=1000000`,
    );
    out[k] = s.points.map((p) => `${p.step}:${p.value}:${p.superseded === true}`);
  }
  return out;
}

async function writeRun(id: string, steps: number): Promise<string> {
  const run = await init({
    logdir: join(tmp.path, id),
    id,
    resume: 'allow',
    project: 'replicas',
    flushInterval: 3_600_000,
  });
  for (let s = 0; s < steps; s++) {
    run.log({ loss: s * 0.001, acc: s * 0.002, lr: 1 / (s + 1) }, s);
    if (s % 50_000 === 49_999) run.flush();
  }
  await run.finish();
  return run.dir!;
}

const sync = (replica: Replica, dir: string) =>
  swanlog(['sync', '--json', dir], { SWANLOG_HOST: replica.url, SWANLOG_API_KEY: key });

const skip = DATABASE_URL === undefined && 'NOT RUN: SWANLOG_TEST_DATABASE_URL is not set';

// The timeout only turns a hang into a failure; the whole file takes seconds.
describe('server replicas on one PostgreSQL database', { skip, timeout: 120_000 }, () => {
  before(async () => {
    const admin = new pg.Client({ connectionString: DATABASE_URL });
    await admin.connect();
    await admin.query(`CREATE SCHEMA ${schema}`);
    await admin.end();
    const u = new URL(DATABASE_URL!);
    u.searchParams.set('options', `-c search_path=${schema}`);
    databaseUrl = u.toString();
    // Started at once: the migrations run once, under the advisory lock.
    replicas = await Promise.all([startReplica(), startReplica(), startReplica()]);
    const created = await swanlog(['server', 'key', 'create', '--workspace', 'ws'], {
      SWANLOG_DATABASE_URL: databaseUrl,
    });
    assert.equal(created.status, 0, created.stderr);
    key = created.stdout.trim();
  });
  after(async () => {
    for (const r of replicas) r.proc.kill('SIGKILL');
    await Promise.all(replicas.map((r) => r.exited));
    const admin = new pg.Client({ connectionString: DATABASE_URL });
    await admin.connect();
    await admin.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
    await admin.end();
    tmp.remove();
  });

  test('every replica answers one instance id, and a key made with --database works on all', async () => {
    const ids = await Promise.all(replicas.map((r) => get<{ instanceId: string }>(r, '/api/v1/server')));
    assert.equal(new Set(ids.map((i) => i.instanceId)).size, 1);
    const listed = await swanlog(['server', 'key', 'list', '--database', databaseUrl, '--json']);
    assert.equal(listed.status, 0, listed.stderr);
    assert.equal((JSON.parse(listed.stdout) as unknown[]).length, 1);
  });

  test('an event stream on one replica sees a sync through another', async () => {
    const dir = await writeRun('sse-run', 200);
    const abort = new AbortController();
    const res = await fetch(`${replicas[0]!.url}/api/v1/events`, {
      headers: { authorization: `Bearer ${key}` },
      signal: abort.signal,
    });
    assert.equal(res.status, 200);
    const reader = res.body!.pipeThrough(new TextDecoderStream()).getReader();
    let seen = '';
    const sawPoints = (async () => {
      while (!/event: points\ndata: \{"id":"sse-run"\}/.test(seen)) {
        const { value, done } = await reader.read();
        if (done) throw new Error(`stream ended: ${seen}`);
        seen += value;
      }
    })();
    const r = await sync(replicas[1]!, dir);
    assert.equal(r.status, 0, r.stderr);
    // Generous: a NOTIFY arrives in milliseconds; the bound only keeps a broken test from hanging.
    const timeout = setTimeout(() => abort.abort(), 15_000);
    try {
      await sawPoints;
    } finally {
      clearTimeout(timeout);
      abort.abort();
    }
  });

  test('concurrent syncs of one run through two replicas make one experiment, exact', async () => {
    const dir = await writeRun('both-ways', 20_000);
    const [a, b] = await Promise.all([sync(replicas[0]!, dir), sync(replicas[1]!, dir)]);
    assert.equal(a.status, 0, a.stderr);
    assert.equal(b.status, 0, b.stderr);
    const list = await get<{ experiments: { id: string }[] }>(
      replicas[2]!,
      '/api/v1/workspaces/ws/experiments',
    );
    assert.deepEqual(
      list.experiments.filter((e) => e.id.startsWith('both-ways')).map((e) => e.id),
      ['both-ways'],
    );
    assert.deepEqual(await replicaPoints(replicas[2]!, 'both-ways'), localPoints([dir]));
  });

  test('a sync cut by SIGKILL of its replica is finished through another, exact', async () => {
    const dir = await writeRun('cut-run', 150_000);
    const victim = replicas[0]!;
    const child = spawn(process.execPath, [CLI_BIN, 'sync', dir], {
      env: {
        PATH: process.env.PATH ?? '',
        NO_COLOR: '1',
        SWANLOG_HOST: victim.url,
        SWANLOG_API_KEY: key,
        SWANLOG_SYNC_BATCH_POINTS: '5000',
      },
      stdio: 'ignore',
    });
    const childExited = new Promise<void>((resolve) => child.on('close', () => resolve()));
    // Kill the replica mid-upload: once points have been stored (small batches keep it going).
    for (;;) {
      const res = await fetch(`${replicas[2]!.url}/api/v1/experiments/cut-run`, {
        headers: { authorization: `Bearer ${key}` },
      });
      const body = res.status === 200 ? ((await res.json()) as { keys: string[] }) : undefined;
      if (res.status !== 200) await res.body?.cancel();
      if (body !== undefined && body.keys.length > 0) break;
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    victim.proc.kill('SIGKILL');
    await victim.exited;
    child.kill('SIGKILL');
    await childExited;
    const cut = (await replicaPoints(replicas[2]!, 'cut-run')).loss?.length ?? 0;
    assert.ok(cut > 0 && cut < 150_000, `the sync was cut mid-upload (${cut} of 150000 loss points stored)`);
    const r = await sync(replicas[1]!, dir);
    assert.equal(r.status, 0, r.stderr);
    const [entry] = JSON.parse(r.stdout) as { experimentId: string; complete: boolean }[];
    assert.equal(entry?.experimentId, 'cut-run', 'the same experiment, continued');
    assert.equal(entry?.complete, true);
    assert.deepEqual(await replicaPoints(replicas[2]!, 'cut-run'), localPoints([dir]));
  });
});
