import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { findRunDir, listRunDirs } from '@swanlog/store';
import { initSync, type Run } from './index.js';
import { readSeries, throwsCode, withReader } from './test-support/read-run.js';
import { tempDir } from './test-support/temp-dir.js';

// Environment variables are passed to initSync(options, env) explicitly: process.env is never
// changed, so the tests cannot leak settings into each other.

let root: ReturnType<typeof tempDir>;
let n = 0;
const freshLogdir = () => join(root.path, `logdir-${n++}`);

/** A finished run `id` in `logdir` holding `loss` = step at steps 0..steps-1. */
async function seedRun(logdir: string, id: string, steps: number): Promise<Run> {
  const run = initSync({ logdir, id, resume: 'allow' }, {});
  for (let s = 0; s < steps; s++) run.log({ loss: s });
  await run.finish();
  return run;
}

before(() => {
  root = tempDir('swanlog-env-');
});
after(() => root.remove());

describe('SWANLOG_RESUME / SWANLAB_RESUME', () => {
  const cases: [string, 'allow' | 'never' | 'must'][] = [
    ['must', 'must'],
    ['MUST', 'must'],
    ['allow', 'allow'],
    ['Allow', 'allow'],
    ['never', 'never'],
    ['NEVER', 'never'],
    ['true', 'allow'],
    ['True', 'allow'],
    ['TRUE', 'allow'],
    ['false', 'never'],
    ['False', 'never'],
    ['1', 'allow'],
    ['0', 'never'],
    ['yes', 'allow'],
    ['YES', 'allow'],
    ['no', 'never'],
    ['No', 'never'],
  ];

  for (const variable of ['SWANLOG_RESUME', 'SWANLAB_RESUME']) {
    for (const [raw, meaning] of cases) {
      it(`${variable}=${raw} means ${meaning}`, async () => {
        const logdir = freshLogdir();
        const existing = await seedRun(logdir, 'exists', 3);
        const env = { [variable]: raw };
        if (meaning === 'never') {
          const error = throwsCode(() => initSync({ logdir, id: 'exists' }, env), 'INVALID_OPTION');
          assert.match(error.hint ?? '', /resume: 'allow'/);
          const fresh = initSync({ logdir }, env);
          assert.notEqual(fresh.id, 'exists');
          await fresh.finish();
          return;
        }
        const reopened = initSync({ logdir, id: 'exists' }, env);
        assert.equal(reopened.dir, existing.dir);
        assert.equal(reopened.resumed, true);
        assert.equal(reopened.step, 3);
        await reopened.finish();
        if (meaning === 'must') {
          throwsCode(() => initSync({ logdir, id: 'missing' }, env), 'RUN_NOT_FOUND');
          assert.equal(findRunDir(logdir, 'missing'), undefined);
        } else {
          const created = initSync({ logdir, id: 'missing' }, env);
          assert.equal(created.resumed, false);
          assert.equal(findRunDir(logdir, 'missing'), created.dir);
          await created.finish();
        }
      });
    }

    for (const bad of ['maybe', 'y', '2', 'allow please']) {
      it(`${variable}=${JSON.stringify(bad)} is INVALID_OPTION naming ${variable} and the allowed values`, () => {
        const logdir = freshLogdir();
        const error = throwsCode(
          () => initSync({ logdir, id: 'any' }, { [variable]: bad }),
          'INVALID_OPTION',
        );
        assert.match(error.message, new RegExp(variable));
        const text = `${error.message} ${error.hint ?? ''}`;
        for (const word of ['must', 'allow', 'never', 'true', 'false', 'yes', 'no']) {
          assert.match(text, new RegExp(`\\b${word}\\b`), `allowed value ${word} is named`);
        }
        assert.equal(existsSync(logdir), false);
      });
    }
  }

  it('the resume option wins over the environment', async () => {
    const logdir = freshLogdir();
    await seedRun(logdir, 'opt-wins', 1);
    throwsCode(
      () => initSync({ logdir, id: 'opt-wins', resume: 'never' }, { SWANLOG_RESUME: 'allow' }),
      'INVALID_OPTION',
    );
    throwsCode(
      () => initSync({ logdir, id: 'other', resume: 'must' }, { SWANLOG_RESUME: 'allow' }),
      'RUN_NOT_FOUND',
    );
  });
});

describe('SWANLOG_RUN_ID / SWANLAB_RUN_ID', () => {
  for (const variable of ['SWANLOG_RUN_ID', 'SWANLAB_RUN_ID']) {
    it(`${variable} names the run to resume`, async () => {
      const logdir = freshLogdir();
      const existing = await seedRun(logdir, 'from-env', 2);
      const run = initSync({ logdir }, { [variable]: 'from-env', SWANLOG_RESUME: 'must' });
      assert.equal(run.id, 'from-env');
      assert.equal(run.dir, existing.dir);
      await run.finish();
    });

    it(`${variable} without a resume setting is INVALID_OPTION with the hint resume: 'allow'`, () => {
      const logdir = freshLogdir();
      const error = throwsCode(() => initSync({ logdir }, { [variable]: 'lonely' }), 'INVALID_OPTION');
      assert.match(error.hint ?? '', /resume: 'allow'/);
      assert.match(error.message, new RegExp(variable));
    });

    it(`a bad ${variable} is INVALID_RUN_ID naming the variable`, () => {
      const error = throwsCode(
        () => initSync({ logdir: freshLogdir() }, { [variable]: 'has space', SWANLOG_RESUME: 'allow' }),
        'INVALID_RUN_ID',
      );
      assert.match(error.message, new RegExp(variable));
    });
  }

  it('SWANLAB_RESUME=True with SWANLAB_RUN_ID creates then resumes (SwanLab#1183: not silently ignored)', async () => {
    const logdir = freshLogdir();
    const env = { SWANLAB_RESUME: 'True', SWANLAB_RUN_ID: 'swanlab-style' };
    const first = initSync({ logdir }, env);
    first.log({ loss: 1 });
    await first.finish();
    const second = initSync({ logdir }, env);
    assert.equal(second.id, 'swanlab-style');
    assert.equal(second.dir, first.dir);
    assert.equal(second.step, 1);
    await second.finish();
  });

  it('an empty SWANLOG_RUN_ID counts as unset: SWANLAB_RUN_ID is used and named in errors', async () => {
    const logdir = freshLogdir();
    const run = initSync(
      { logdir },
      { SWANLOG_RUN_ID: '', SWANLAB_RUN_ID: 'alias-id', SWANLOG_RESUME: 'allow' },
    );
    assert.equal(run.id, 'alias-id');
    await run.finish();
    const error = throwsCode(
      () => initSync({ logdir }, { SWANLOG_RUN_ID: '', SWANLAB_RUN_ID: 'bad id', SWANLOG_RESUME: 'allow' }),
      'INVALID_RUN_ID',
    );
    assert.match(error.message, /SWANLAB_RUN_ID/);
  });

  it('the id option wins over SWANLOG_RUN_ID', async () => {
    const logdir = freshLogdir();
    const run = initSync(
      { logdir, id: 'from-option' },
      { SWANLOG_RUN_ID: 'from-env', SWANLOG_RESUME: 'allow' },
    );
    assert.equal(run.id, 'from-option');
    await run.finish();
  });
});

describe('SWANLOG_RESUME_FROM_STEP', () => {
  it('rewinds the resumed run to that step', async () => {
    const logdir = freshLogdir();
    await seedRun(logdir, 'rewind-env', 10);
    const run = initSync(
      { logdir },
      { SWANLOG_RUN_ID: 'rewind-env', SWANLOG_RESUME: 'must', SWANLOG_RESUME_FROM_STEP: '4' },
    );
    assert.equal(run.step, 5);
    run.log({ loss: 50 });
    await run.finish();
    assert.deepEqual(readSeries(run.dir, 'loss'), { steps: [0, 1, 2, 3, 4, 5], values: [0, 1, 2, 3, 4, 50] });
  });

  for (const bad of ['-1', '1.5', 'abc', '4 steps', 'NaN']) {
    it(`SWANLOG_RESUME_FROM_STEP=${JSON.stringify(bad)} is INVALID_OPTION naming the variable`, async () => {
      const logdir = freshLogdir();
      await seedRun(logdir, 'bad-from', 3);
      const error = throwsCode(
        () => initSync({ logdir, id: 'bad-from', resume: 'must' }, { SWANLOG_RESUME_FROM_STEP: bad }),
        'INVALID_OPTION',
      );
      assert.match(error.message, /SWANLOG_RESUME_FROM_STEP/);
    });
  }

  it('the fromStep option wins over the environment', async () => {
    const logdir = freshLogdir();
    await seedRun(logdir, 'from-opt', 10);
    const run = initSync(
      { logdir, id: 'from-opt', resume: 'must', fromStep: 7 },
      { SWANLOG_RESUME_FROM_STEP: '2' },
    );
    assert.equal(run.step, 8);
    await run.finish();
  });
});

describe('SWANLOG_LOGDIR, SWANLOG_PROJECT, SWANLOG_MODE', () => {
  it('SWANLOG_LOGDIR is where the run directory goes', async () => {
    const logdir = freshLogdir();
    const run = initSync({}, { SWANLOG_LOGDIR: logdir });
    await run.finish();
    assert.deepEqual(listRunDirs(logdir), [run.dir]);
  });

  it('the logdir option wins over SWANLOG_LOGDIR', async () => {
    const fromEnv = freshLogdir();
    const fromOption = freshLogdir();
    const run = initSync({ logdir: fromOption }, { SWANLOG_LOGDIR: fromEnv });
    await run.finish();
    assert.equal(listRunDirs(fromOption).length, 1);
    assert.equal(existsSync(fromEnv), false);
  });

  it('SWANLOG_PROJECT names the project, and the option wins over it', async () => {
    const logdir = freshLogdir();
    const a = initSync({ logdir }, { SWANLOG_PROJECT: 'proj-env' });
    const b = initSync({ logdir, project: 'proj-opt' }, { SWANLOG_PROJECT: 'proj-env' });
    await a.finish();
    await b.finish();
    assert.equal(a.project, 'proj-env');
    withReader(a.dir, (r) => assert.equal(r.meta.project, 'proj-env'));
    withReader(b.dir, (r) => assert.equal(r.meta.project, 'proj-opt'));
  });

  for (const mode of ['offline', 'local', 'LOCAL', 'Offline']) {
    it(`SWANLOG_MODE=${mode} writes a local run directory`, async () => {
      const logdir = freshLogdir();
      const run = initSync({ logdir }, { SWANLOG_MODE: mode });
      run.log({ loss: 1 });
      await run.finish();
      assert.deepEqual(readSeries(run.dir, 'loss'), { steps: [0], values: [1] });
    });
  }

  it('SWANLOG_MODE=disabled writes nothing', async () => {
    const logdir = freshLogdir();
    const run = initSync({ logdir }, { SWANLOG_MODE: 'disabled' });
    run.log({ loss: 1 });
    await run.finish();
    assert.equal(run.dir, null);
    assert.equal(existsSync(logdir), false);
  });

  it('SWANLOG_MODE=cloud without SWANLOG_HOST is INVALID_OPTION naming SWANLOG_HOST, and writes nothing', () => {
    const logdir = freshLogdir();
    const error = throwsCode(() => initSync({ logdir }, { SWANLOG_MODE: 'cloud' }), 'INVALID_OPTION');
    assert.match(`${error.message} ${error.hint}`, /SWANLOG_HOST/);
    assert.equal(existsSync(logdir), false);
  });

  it('SWANLOG_MODE=cloud with a host but no SWANLOG_API_KEY is INVALID_OPTION naming SWANLOG_API_KEY', () => {
    const logdir = freshLogdir();
    const env = { SWANLOG_MODE: 'cloud', SWANLOG_HOST: 'http://127.0.0.1:9' };
    const error = throwsCode(() => initSync({ logdir }, env), 'INVALID_OPTION');
    assert.match(`${error.message} ${error.hint}`, /SWANLOG_API_KEY/);
    assert.equal(existsSync(logdir), false);
  });

  it('cloud mode through initSync is INVALID_OPTION pointing to await init()', () => {
    const logdir = freshLogdir();
    const env = { SWANLOG_MODE: 'cloud', SWANLOG_HOST: 'http://127.0.0.1:9', SWANLOG_API_KEY: 'k' };
    const error = throwsCode(() => initSync({ logdir }, env), 'INVALID_OPTION');
    assert.match(`${error.message} ${error.hint}`, /await init/);
    assert.equal(existsSync(logdir), false);
  });

  for (const [variable, value] of [
    ['SWANLOG_MODE', 'online'],
    ['SWANLOG_MODE', 'offlin'],
  ] as const) {
    it(`${variable}=${value} is INVALID_OPTION naming the variable, not a silent fallback`, () => {
      const logdir = freshLogdir();
      const error = throwsCode(() => initSync({ logdir }, { [variable]: value }), 'INVALID_OPTION');
      assert.match(error.message, new RegExp(variable));
      assert.equal(existsSync(logdir), false);
    });
  }

  it("mode: 'cloud' as an option without a host is INVALID_OPTION too", () => {
    const logdir = freshLogdir();
    throwsCode(() => initSync({ logdir, mode: 'cloud' }, {}), 'INVALID_OPTION');
    assert.equal(existsSync(logdir), false);
  });

  it('the mode option wins over SWANLOG_MODE', async () => {
    const logdir = freshLogdir();
    const run = initSync({ logdir, mode: 'offline' }, { SWANLOG_MODE: 'disabled' });
    run.log({ loss: 2 });
    await run.finish();
    assert.deepEqual(readSeries(run.dir, 'loss').values, [2]);
  });
});
