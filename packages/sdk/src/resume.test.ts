import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { basename, join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { findRunDir, listRunDirs } from '@swanlog/store';
import { type InitOptions, init, initSync, type Run } from './index.js';
import { range, readSeries, throwsCode, withReader } from './test-support/read-run.js';
import { tempDir } from './test-support/temp-dir.js';

// Every init gets an explicit, empty environment so SWANLOG_* variables of the shell running the
// tests cannot change what is tested.
const NO_ENV: NodeJS.ProcessEnv = {};

let root: ReturnType<typeof tempDir>;
let n = 0;
const freshLogdir = () => join(root.path, `logdir-${n++}`);
const start = (options: InitOptions) => initSync(options, NO_ENV);

/** A finished run `id` in `logdir` holding `loss` = step * 10 at steps 0..steps-1. */
async function seedRun(logdir: string, id: string, steps: number, config?: Record<string, unknown>) {
  const run = start({ logdir, id, resume: 'allow', ...(config ? { config } : {}) });
  for (let s = 0; s < steps; s++) run.log({ loss: s * 10 });
  await run.finish();
  return run;
}

before(() => {
  root = tempDir('swanlog-resume-');
});
after(() => root.remove());

describe('resume table (DESIGN.md "Resume")', () => {
  it('must + run exists: reopens it (same directory, same id, resumed)', async () => {
    const logdir = freshLogdir();
    const first = await seedRun(logdir, 'exp-1', 3);
    const run = start({ logdir, id: 'exp-1', resume: 'must' });
    assert.equal(run.id, 'exp-1');
    assert.equal(run.dir, first.dir);
    assert.equal(run.resumed, true);
    await run.finish();
    assert.equal(listRunDirs(logdir).length, 1);
  });

  it('must + run missing: RUN_NOT_FOUND naming the id, and nothing is created', () => {
    const logdir = freshLogdir();
    const error = throwsCode(() => start({ logdir, id: 'ghost', resume: 'must' }), 'RUN_NOT_FOUND');
    assert.match(error.message, /ghost/);
    assert.deepEqual(listRunDirs(logdir), []);
  });

  it('allow + run exists: reopens it', async () => {
    const logdir = freshLogdir();
    const first = await seedRun(logdir, 'exp-2', 3);
    const run = start({ logdir, id: 'exp-2', resume: 'allow' });
    assert.equal(run.dir, first.dir);
    assert.equal(run.resumed, true);
    await run.finish();
    assert.equal(listRunDirs(logdir).length, 1);
  });

  it('allow + run missing: a new run with that id', async () => {
    const logdir = freshLogdir();
    const run = start({ logdir, id: 'brand_new-ID', resume: 'allow' });
    assert.equal(run.id, 'brand_new-ID');
    assert.equal(run.resumed, false);
    assert.equal(findRunDir(logdir, 'brand_new-ID'), run.dir);
    assert.match(basename(run.dir ?? ''), /^run-\d{8}_\d{6}-brand_new-ID$/);
    withReader(run.dir, (r) => assert.equal(r.meta.id, 'brand_new-ID'));
    await run.finish();
  });

  for (const resume of ['never', false, undefined] as const) {
    for (const exists of [true, false]) {
      it(`resume ${String(resume)} + an id (${exists ? 'run exists' : 'no such run'}): INVALID_OPTION with the hint resume: 'allow'`, async () => {
        const logdir = freshLogdir();
        if (exists) await seedRun(logdir, 'taken', 2);
        const before = listRunDirs(logdir);
        const error = throwsCode(
          () => start({ logdir, id: 'taken', ...(resume === undefined ? {} : { resume }) }),
          'INVALID_OPTION',
        );
        assert.match(error.hint ?? '', /resume: 'allow'/);
        assert.deepEqual(listRunDirs(logdir), before, 'nothing is created or opened');
      });
    }
  }

  for (const resume of ['never', false, undefined] as const) {
    it(`resume ${String(resume)} without an id: a new run with a fresh generated id`, async () => {
      const logdir = freshLogdir();
      const a = start({ logdir, ...(resume === undefined ? {} : { resume }) });
      const b = start({ logdir, ...(resume === undefined ? {} : { resume }) });
      await a.finish();
      await b.finish();
      assert.notEqual(a.id, b.id);
      assert.notEqual(a.dir, b.dir);
      assert.equal(a.resumed, false);
      assert.equal(listRunDirs(logdir).length, 2);
    });
  }

  it('resume true means allow: creates a missing run, then reopens it', async () => {
    const logdir = freshLogdir();
    const created = start({ logdir, id: 'via-true', resume: true });
    created.log({ loss: 1 });
    await created.finish();
    assert.equal(created.resumed, false);
    const reopened = start({ logdir, id: 'via-true', resume: true });
    assert.equal(reopened.resumed, true);
    assert.equal(reopened.dir, created.dir);
    await reopened.finish();
    assert.equal(listRunDirs(logdir).length, 1);
  });

  it("resume 'must' without an id is INVALID_OPTION", () => {
    throwsCode(() => start({ logdir: freshLogdir(), resume: 'must' }), 'INVALID_OPTION');
  });

  it('an unknown resume value is INVALID_OPTION', () => {
    throwsCode(
      () => start({ logdir: freshLogdir(), id: 'x', resume: 'sometimes' as unknown as 'allow' }),
      'INVALID_OPTION',
    );
  });

  it('init() (async) follows the same table', async () => {
    const logdir = freshLogdir();
    await assert.rejects(
      init({ logdir, id: 'nope', resume: 'must' }),
      (e: unknown) => (e as { code?: string }).code === 'RUN_NOT_FOUND',
    );
  });
});

describe('run ids (DESIGN.md "Identity")', () => {
  it('generated ids are 21 characters of [0-9a-z], and the directory is named after them', async () => {
    const logdir = freshLogdir();
    const ids = new Set<string>();
    for (let i = 0; i < 5; i++) {
      const run = start({ logdir });
      assert.match(run.id, /^[0-9a-z]{21}$/);
      assert.match(basename(run.dir ?? ''), new RegExp(`^run-\\d{8}_\\d{6}-${run.id}$`));
      ids.add(run.id);
      await run.finish();
    }
    assert.equal(ids.size, 5);
  });

  for (const bad of ['a b', 'x'.repeat(65), '', 'a/b', 'ünï', 'dot.id', 'tab\t']) {
    it(`id ${JSON.stringify(bad.length > 20 ? `${bad.slice(0, 8)}… (${bad.length} chars)` : bad)} is INVALID_RUN_ID and creates nothing`, () => {
      const logdir = freshLogdir();
      for (const resume of ['allow', 'must'] as const) {
        throwsCode(() => start({ logdir, id: bad, resume }), 'INVALID_RUN_ID');
      }
      assert.equal(existsSync(logdir) ? listRunDirs(logdir).length : 0, 0);
    });
  }

  it('a 64-character id of every allowed character class works', async () => {
    const id = `Az09_-${'k'.repeat(58)}`;
    assert.equal(id.length, 64);
    const run = start({ logdir: freshLogdir(), id, resume: 'allow' });
    assert.equal(run.id, id);
    await run.finish();
  });
});

describe('auto step on resume (DESIGN.md "Logging semantics")', () => {
  it('a resumed handle starts at the last visible step + 1', async () => {
    const logdir = freshLogdir();
    await seedRun(logdir, 'steps-1', 7);
    const run = start({ logdir, id: 'steps-1', resume: 'must' });
    assert.equal(run.step, 7);
    run.log({ loss: 70 });
    await run.finish();
    assert.deepEqual(readSeries(run.dir, 'loss').steps, range(0, 8));
  });

  it('the last visible step counts over every key, explicit steps included', async () => {
    const logdir = freshLogdir();
    const first = start({ logdir, id: 'steps-2', resume: 'allow' });
    first.log({ loss: 1 });
    first.log({ eval: 5 }, 41);
    first.log({ loss: 2 }, 3);
    await first.finish();
    const run = start({ logdir, id: 'steps-2', resume: 'must' });
    assert.equal(run.step, 42);
    await run.finish();
  });

  it('a resumed run without points starts at 0', async () => {
    const logdir = freshLogdir();
    await seedRun(logdir, 'steps-3', 0);
    const run = start({ logdir, id: 'steps-3', resume: 'must' });
    assert.equal(run.step, 0);
    await run.finish();
  });

  it('after fromStep N the handle starts at N + 1', async () => {
    const logdir = freshLogdir();
    await seedRun(logdir, 'steps-4', 10);
    const run = start({ logdir, id: 'steps-4', resume: 'must', fromStep: 4 });
    assert.equal(run.step, 5);
    await run.finish();
  });

  it('the next resume counts from what is visible after a rewind, not the superseded points', async () => {
    const logdir = freshLogdir();
    await seedRun(logdir, 'steps-5', 10);
    const rewound = start({ logdir, id: 'steps-5', resume: 'must', fromStep: 5 });
    rewound.log({ loss: 600 });
    rewound.log({ loss: 700 });
    await rewound.finish();
    const run = start({ logdir, id: 'steps-5', resume: 'must' });
    assert.equal(run.step, 8);
    await run.finish();
  });

  it('fromStep that is not a non-negative integer is INVALID_OPTION', async () => {
    const logdir = freshLogdir();
    await seedRun(logdir, 'steps-6', 2);
    for (const fromStep of [-1, 1.5, Number.NaN]) {
      throwsCode(() => start({ logdir, id: 'steps-6', resume: 'must', fromStep }), 'INVALID_OPTION');
    }
  });
});

describe('rewind with fromStep (DESIGN.md "Resume")', () => {
  let dir: string | null;

  before(async () => {
    const logdir = freshLogdir();
    const first = start({ logdir, id: 'rewind', resume: 'allow' });
    for (let s = 0; s < 10; s++) first.log({ loss: s, other: -s });
    await first.finish();
    const run = start({ logdir, id: 'rewind', resume: 'must', fromStep: 4 });
    run.log({ loss: 105 });
    run.log({ loss: 106 });
    await run.finish();
    dir = run.dir;
  });

  it('the visible series keeps the old points up to N and shows the new ones after', () => {
    assert.deepEqual(readSeries(dir, 'loss'), {
      steps: [0, 1, 2, 3, 4, 5, 6],
      values: [0, 1, 2, 3, 4, 105, 106],
    });
  });

  it('points of other keys after N are superseded too', () => {
    assert.deepEqual(readSeries(dir, 'other'), { steps: [0, 1, 2, 3, 4], values: [-0, -1, -2, -3, -4] });
    withReader(dir, (r) => assert.equal(r.lastVisibleStep(), 6));
  });

  it('superseded points are kept and marked, nothing is deleted', () => {
    const all = readSeries(dir, 'loss', true);
    const marked = all.steps
      .map((step, i) => ({ step, value: all.values[i], superseded: all.superseded?.[i] }))
      .sort((a, b) => a.step - b.step || (a.superseded ?? 0) - (b.superseded ?? 0));
    assert.deepEqual(
      marked.filter((p) => p.superseded === 1).map((p) => [p.step, p.value]),
      [
        [5, 5],
        [6, 6],
        [7, 7],
        [8, 8],
        [9, 9],
      ],
    );
    assert.deepEqual(
      marked.filter((p) => p.superseded === 0).map((p) => [p.step, p.value]),
      [
        [0, 0],
        [1, 1],
        [2, 2],
        [3, 3],
        [4, 4],
        [5, 105],
        [6, 106],
      ],
    );
    assert.equal(readSeries(dir, 'other', true).steps.length, 10);
  });

  it('the segment of the rewinding session records fromStep', () => {
    withReader(dir, (r) => {
      const segments = r.segments();
      assert.equal(segments.length, 2);
      assert.equal(segments[1]?.fromStep, 4);
      assert.equal(segments[1]?.resumed, true);
    });
  });
});

describe('writing at or below the last step after a resume without fromStep', () => {
  it('emits exactly one SWANLOG_STEP_REWRITE warning naming fromStep, and the new value supersedes', async () => {
    const logdir = freshLogdir();
    await seedRun(logdir, 'rewrite', 10);
    const warnings: Error[] = [];
    const onWarning = (w: Error) => warnings.push(w);
    process.on('warning', onWarning);
    try {
      const run = start({ logdir, id: 'rewrite', resume: 'must' });
      run.log({ loss: 1 }, 12); // above the last step: no warning
      run.log({ loss: -3 }, 3);
      run.log({ loss: -4 });
      run.log({ loss: -2 }, 2);
      await run.finish();
      // Warnings are emitted on the next tick.
      await new Promise((r) => setImmediate(r));
      const rewrites = warnings.filter((w) => (w as { code?: string }).code === 'SWANLOG_STEP_REWRITE');
      assert.equal(rewrites.length, 1, `warnings: ${warnings.map((w) => w.message).join(' | ')}`);
      assert.match(rewrites[0]?.message ?? '', /fromStep/);
      assert.deepEqual(readSeries(run.dir, 'loss'), {
        steps: [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 12],
        values: [0, 10, -2, -3, -4, 50, 60, 70, 80, 90, 1],
      });
    } finally {
      process.off('warning', onWarning);
    }
  });

  it('a resume with fromStep that writes above N does not warn', async () => {
    const logdir = freshLogdir();
    await seedRun(logdir, 'rewrite-2', 10);
    const warnings: Error[] = [];
    const onWarning = (w: Error) => warnings.push(w);
    process.on('warning', onWarning);
    try {
      const run = start({ logdir, id: 'rewrite-2', resume: 'must', fromStep: 3 });
      run.log({ loss: 4 });
      run.log({ loss: 5 });
      await run.finish();
      await new Promise((r) => setImmediate(r));
      assert.deepEqual(
        warnings.filter((w) => (w as { code?: string }).code === 'SWANLOG_STEP_REWRITE'),
        [],
      );
    } finally {
      process.off('warning', onWarning);
    }
  });
});

describe('config on resume (DESIGN.md "Resume")', () => {
  let first: Run;
  let resumed: Run;

  before(async () => {
    const logdir = freshLogdir();
    first = await seedRun(logdir, 'config', 1, {
      lr: 0.1,
      model: { layers: 2, act: 'relu' },
      dropout: 0.5,
      tags: ['a', 'b'],
    });
    resumed = start({
      logdir,
      id: 'config',
      resume: 'must',
      config: { model: { layers: 4 }, dropout: null, batch: 32, tags: ['c'] },
    });
    await resumed.finish();
  });

  const merged = { lr: 0.1, model: { layers: 4, act: 'relu' }, batch: 32, tags: ['c'] };

  it('run.config is the first config deep-merged with the new revision (null removes a key)', () => {
    assert.deepEqual(first.config, {
      lr: 0.1,
      model: { layers: 2, act: 'relu' },
      dropout: 0.5,
      tags: ['a', 'b'],
    });
    assert.deepEqual(resumed.config, merged);
  });

  it('the reader sees the merged config and keeps every revision', () => {
    withReader(resumed.dir, (r) => {
      assert.deepEqual(r.config(), merged);
      const revisions = r.configRevisions();
      assert.equal(revisions.length, 2);
      assert.deepEqual(revisions[0]?.patch, {
        lr: 0.1,
        model: { layers: 2, act: 'relu' },
        dropout: 0.5,
        tags: ['a', 'b'],
      });
      assert.deepEqual(revisions[1]?.patch, {
        model: { layers: 4 },
        dropout: null,
        batch: 32,
        tags: ['c'],
      });
      assert.ok(revisions[0]!.revision < revisions[1]!.revision);
    });
  });

  it('a resume without config keeps the config and adds no revision', async () => {
    const again = start({ logdir: join(resumed.dir ?? '', '..'), id: 'config', resume: 'must' });
    assert.deepEqual(again.config, merged);
    await again.finish();
    withReader(again.dir, (r) => assert.equal(r.configRevisions().length, 2));
  });

  it('a config value JSON cannot hold is INVALID_VALUE', () => {
    throwsCode(() => start({ logdir: freshLogdir(), config: { lr: Number.NaN } }), 'INVALID_VALUE');
  });
});
