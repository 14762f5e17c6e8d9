// The trainer in cloud mode against a real server: killed with SIGKILL after epoch 5 and resumed
// from its checkpoint, it leaves on the server exactly the curves of an uninterrupted run, with the
// first try of epoch 5 superseded, not duplicated.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { decodeValue, type MetricSeries } from '@swanlog/protocol';
import { createApiKey, startServer } from '@swanlog/server';
import { parse, stringify } from 'yaml';

const REPO_ROOT = fileURLToPath(new URL('../../../', import.meta.url));
const MAIN = join(REPO_ROOT, 'apps', 'example-train', 'dist', 'main.js');
const TEST_YAML = join(REPO_ROOT, 'apps', 'example-train', 'configs', 'test.yaml');
const KEYS = ['train/loss', 'val/loss', 'val/acc'];

const tmp = mkdtempSync(join(tmpdir(), 'example-train-cloud-'));
let server: Awaited<ReturnType<typeof startServer>>;
let key: string;
before(async () => {
  server = await startServer({ dataDir: join(tmp, 'server'), port: 0, host: '127.0.0.1', log: () => {} });
  key = createApiKey({ dataDir: join(tmp, 'server'), workspace: 'ws', scope: 'write' }).key;
});
after(async () => {
  await server.close();
  rmSync(tmp, { recursive: true, force: true });
});

function config(name: string, mode: 'offline' | 'cloud'): string {
  const doc = parse(readFileSync(TEST_YAML, 'utf8')) as Record<string, Record<string, unknown>>;
  doc.experiment!.dir = join(tmp, name);
  doc.swanlog = { ...doc.swanlog, mode, ...(mode === 'cloud' ? { host: server.url } : {}) };
  const path = join(tmp, `${name}.yaml`);
  writeFileSync(path, stringify(doc));
  return path;
}

/** Runs the trainer (asynchronously: the server lives in this process); SIGKILLs it after `killAfter`. */
function train(
  args: string[],
  killAfter?: string,
): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((done) => {
    const proc = spawn(process.execPath, [MAIN, ...args], {
      env: {
        PATH: process.env.PATH ?? '',
        SWANLOG_API_KEY: key,
        ...(killAfter === undefined ? {} : { EXAMPLE_TRAIN_HANG_AFTER_EPOCH: killAfter }),
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    proc.stdout.setEncoding('utf8').on('data', (c: string) => {
      stdout += c;
      if (killAfter !== undefined && new RegExp(`^epoch ${killAfter} `, 'm').test(stdout))
        proc.kill('SIGKILL');
    });
    proc.stderr.setEncoding('utf8').on('data', (c: string) => {
      stderr += c;
    });
    proc.on('close', (code) => done({ code, stdout, stderr }));
  });
}

async function serverSeries(id: string, superseded: boolean): Promise<Record<string, string[]>> {
  const out: Record<string, string[]> = {};
  for (const k of KEYS) {
    const res = await fetch(
      `${server.url}/api/v1/experiments/${id}/metrics/${encodeURIComponent(k)}${superseded ? '?superseded=1' : ''}`,
      { headers: { authorization: `Bearer ${key}` } },
    );
    const body = (await res.json()) as MetricSeries;
    out[k] = body.points.map(
      (p) => `${p.step}=${decodeValue(p.value)}${p.superseded ? ' (superseded)' : ''}`,
    );
  }
  return out;
}

test('cloud mode: killed after epoch 5 and resumed, the server holds the uninterrupted curves, epoch 5 once visible', async () => {
  const reference = await train(['--config', config('reference', 'cloud')]);
  assert.equal(reference.code, 0, reference.stderr);
  const referenceId = /^finished run (\S+)$/m.exec(reference.stdout)![1]!;

  const cfg = config('killed', 'cloud');
  const killed = await train(['--config', cfg], '5');
  assert.equal(killed.code, null, 'killed by SIGKILL');
  const resumed = await train(['--config', cfg, '--resume']);
  assert.equal(resumed.code, 0, resumed.stderr);
  const id = /^finished run (\S+)$/m.exec(resumed.stdout)![1]!;
  assert.match(resumed.stdout, /from the checkpoint of epoch 4/);

  assert.deepEqual(await serverSeries(id, false), await serverSeries(referenceId, false));
  const all = await serverSeries(id, true);
  for (const k of KEYS) {
    assert.equal(
      all[k]!.filter((p) => p.endsWith('(superseded)')).length,
      1,
      `${k}: the first epoch 5 is superseded`,
    );
    assert.ok(all[k]!.some((p) => p.startsWith('5=') && p.endsWith('(superseded)')));
  }
  const exp = (await (
    await fetch(`${server.url}/api/v1/experiments/${id}`, { headers: { authorization: `Bearer ${key}` } })
  ).json()) as { state: string; lastStep: number };
  assert.equal(exp.state, 'finished');
  assert.equal(exp.lastStep, 8);
});
