import assert from 'node:assert/strict';
import { basename, relative } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { copyFixtures, describeResult, fixtureDir, hasStack, runCli, tempDir } from './test-support/cli.js';

const tmp = tempDir();
let logdir: string;
before(() => {
  logdir = copyFixtures(tmp.path);
});
after(() => tmp.remove());

interface Details {
  id: string;
  name: string | null;
  project: string;
  workspace: string | null;
  state: string;
  dir: string;
  createdAt: string;
  lastStep: number | null;
  copiedFrom: string | null;
  config: Record<string, unknown>;
  configRevisions: {
    revision: number;
    createdAt: string;
    source: string | null;
    patch: Record<string, unknown>;
  }[];
  keys: Record<string, { count: number; lastStep: number | null; lastValue: number | string | null }>;
  segments: {
    id: string;
    source: string;
    startedAt: string;
    endedAt: string | null;
    resumed: boolean;
    fromStep: number | null;
    state: string;
  }[];
}

async function showJson(args: string[], cwd?: string): Promise<Details> {
  const r = await runCli(['show', ...args, '--json'], cwd === undefined ? {} : { cwd });
  assert.equal(r.code, 0, describeResult(r));
  assert.equal(r.stderr, '');
  return JSON.parse(r.stdout) as Details;
}

const isIso = (s: unknown) => typeof s === 'string' && new Date(s).toISOString() === s;
const ULID = /^[0-9A-HJKMNP-TV-Z]{26}$/;

describe('swanlog show', () => {
  test('--json by directory and by id with --logdir give the same document', async () => {
    const dir = fixtureDir(logdir, 'fx-finished');
    const byDir = await showJson([dir]);
    const byId = await showJson(['fx-finished', '--logdir', logdir]);
    const byRelative = await showJson(['fx-finished', '--logdir', relative(tmp.path, logdir)], tmp.path);
    const byName = await showJson([basename(dir), '--logdir', logdir]);
    const byEnv = await runCli(['show', 'fx-finished', '--json'], { env: { SWANLOG_LOGDIR: logdir } });
    assert.deepEqual(byName, byDir);
    assert.deepEqual(byId, byDir);
    assert.deepEqual(byRelative, byDir);
    assert.equal(byEnv.code, 0, describeResult(byEnv));
    assert.deepEqual(JSON.parse(byEnv.stdout), byDir);
  });

  test('fx-finished: identity, state, config and its revisions, keys and the one segment', async () => {
    const d = await showJson([fixtureDir(logdir, 'fx-finished')]);
    assert.equal(d.id, 'fx-finished');
    assert.equal(d.name, 'finished');
    assert.equal(d.project, 'fixtures');
    assert.equal(d.workspace, null);
    assert.equal(d.state, 'finished');
    assert.equal(d.dir, fixtureDir(logdir, 'fx-finished'));
    assert.ok(isIso(d.createdAt), d.createdAt);
    assert.equal(d.lastStep, 52);
    assert.equal(d.copiedFrom, null);
    assert.deepEqual(d.config, { lr: 0.001, model: { layers: 2 } });
    assert.equal(d.configRevisions.length, 1);
    assert.deepEqual(d.configRevisions[0]!.patch, { lr: 0.001, model: { layers: 2 } });
    assert.equal(d.configRevisions[0]!.revision, 1);
    assert.ok(isIso(d.configRevisions[0]!.createdAt));
    assert.deepEqual(d.keys, {
      acc: { count: 50, lastStep: 49, lastValue: 0.98 },
      loss: { count: 50, lastStep: 49, lastValue: 0.02 },
      weird: { count: 3, lastStep: 52, lastValue: '-Infinity' },
    });
    assert.equal(d.segments.length, 1);
    const seg = d.segments[0]!;
    assert.match(seg.id, ULID);
    assert.match(seg.source, ULID);
    assert.ok(isIso(seg.startedAt));
    assert.ok(isIso(seg.endedAt));
    assert.deepEqual(
      { resumed: seg.resumed, fromStep: seg.fromStep, state: seg.state },
      {
        resumed: false,
        fromStep: null,
        state: 'finished',
      },
    );
  });

  test('fx-rewound: lastStep 30 and a second segment resumed with fromStep 20', async () => {
    const d = await showJson(['fx-rewound', '--logdir', logdir]);
    assert.equal(d.lastStep, 30);
    assert.equal(d.state, 'finished');
    assert.deepEqual(d.keys, { loss: { count: 31, lastStep: 30, lastValue: 209 } });
    assert.deepEqual(
      d.segments.map((s) => ({ resumed: s.resumed, fromStep: s.fromStep, state: s.state })),
      [
        { resumed: false, fromStep: null, state: 'finished' },
        { resumed: true, fromStep: 20, state: 'finished' },
      ],
    );
    assert.ok(d.segments[0]!.startedAt <= d.segments[1]!.startedAt, 'segments in start order');
    assert.notEqual(d.segments[0]!.source, d.segments[1]!.source);
  });

  test('fx-resumed and fx-crashed: a killed session is crashed; the resumed one carries the new config revision', async () => {
    const resumed = await showJson(['fx-resumed', '--logdir', logdir]);
    assert.equal(resumed.state, 'finished');
    assert.equal(resumed.lastStep, 49);
    assert.deepEqual(resumed.config, { phase: 2 });
    assert.deepEqual(
      resumed.segments.map((s) => [s.resumed, s.fromStep, s.state]),
      [
        [false, null, 'crashed'],
        [true, null, 'finished'],
      ],
    );
    assert.deepEqual(resumed.keys.loss, { count: 50, lastStep: 49, lastValue: 49000 });
    const crashed = await showJson(['fx-crashed', '--logdir', logdir]);
    assert.equal(crashed.state, 'crashed');
    assert.equal(crashed.lastStep, 39);
    assert.deepEqual(crashed.keys.acc, { count: 40, lastStep: 39, lastValue: 39001 });
    assert.equal(crashed.segments[0]!.state, 'crashed');
  });

  test('human show prints the run, its keys and its segments', async () => {
    const r = await runCli(['show', 'fx-rewound', '--logdir', logdir]);
    assert.equal(r.code, 0, describeResult(r));
    assert.match(r.stdout, /^run fx-rewound \(rewound\)\n/);
    assert.match(r.stdout, /\n {2}state +finished\n/);
    assert.match(r.stdout, /\n {2}last step +30\n/);
    assert.match(r.stdout, /\n {2}loss +31 +30 +209\n/);
    assert.match(r.stdout, /\n {2}\S+ +\S+ \S+ +yes +20 +finished /, 'the resumed segment with its fromStep');
  });

  test('an unknown id is error[RUN_NOT_FOUND] with a hint line, exit 1', async () => {
    const r = await runCli(['show', 'nonexistent-id', '--logdir', logdir]);
    assert.equal(r.code, 1, describeResult(r));
    assert.equal(r.stdout, '');
    const lines = r.stderr.trimEnd().split('\n');
    assert.equal(lines.length, 2, r.stderr);
    assert.match(lines[0]!, /^error\[RUN_NOT_FOUND\]: .*nonexistent-id/);
    assert.match(lines[1]!, /^hint: \S/);
    assert.ok(!hasStack(r.stderr));
  });

  test('damaged runs: error[CODE] on stderr, exit 1, no stack', async () => {
    for (const [id, code] of [
      ['fx-truncated', 'RUN_DIR_CORRUPT'],
      ['fx-future-version', 'UNSUPPORTED_FORMAT'],
      ['fx-foreign', 'RUN_DIR_CORRUPT'],
    ] as const) {
      const r = await runCli(['show', fixtureDir(logdir, id), '--json']);
      assert.equal(r.code, 1, `${id}: ${describeResult(r)}`);
      assert.equal(r.stdout, '', id);
      assert.match(r.stderr, new RegExp(`^error\\[${code}\\]: `), id);
      assert.ok(!hasStack(r.stderr), r.stderr);
    }
  });
});
