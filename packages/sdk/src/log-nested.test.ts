// Nested objects in log() flatten with "/", and onInvalid: 'warn' skips a bad key instead of
// refusing the call (issue 12: the Python SDK and the TS SDK take the same calls). The shared
// cases (packages/sdk-cases) hold what both SDKs must do; these are the TS-only parts: objects
// that are not plain, cycles, symbol keys, and the warning as a user sees it on stderr.
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { type InitOptions, initSync } from './index.js';
import { readSeries, throwsCode, withReader } from './test-support/read-run.js';
import { tempDir } from './test-support/temp-dir.js';

let root: ReturnType<typeof tempDir>;
let n = 0;
const freshLogdir = () => join(root.path, `logdir-${n++}`);
const start = (options: InitOptions = {}) => initSync({ logdir: freshLogdir(), ...options }, {});
const asData = (data: unknown) => data as Record<string, number>;
const sdkEntry = fileURLToPath(new URL('./index.js', import.meta.url));
const cliBin = fileURLToPath(new URL('../../../apps/cli/bin/swanlog.js', import.meta.url));

before(() => {
  root = tempDir('swanlog-log-nested-');
});
after(() => root.remove());

/** Runs `body` (after `const run = initSync(...)`) in a child process; returns its stderr, status and run dir. */
function inChild(options: InitOptions, body: string): { stderr: string; status: number | null; dir: string } {
  const script = `
    import { initSync } from ${JSON.stringify(sdkEntry)};
    const run = initSync(${JSON.stringify(options)}, {});
    ${body}
    await run.finish();
    process.stdout.write(run.dir);
  `;
  const child = spawnSync(process.execPath, ['--input-type=module', '-e', script], { encoding: 'utf8' });
  return { stderr: child.stderr, status: child.status, dir: child.stdout };
}

describe('nested objects flatten with "/"', () => {
  // Regression (issue 12): log({ val: { acc: 1 } }) was INVALID_VALUE ("is an object").
  it('{ val: { acc: 1 }, train: { loss: { total: 2 } } } logs val/acc and train/loss/total', async () => {
    const run = start();
    run.log({ val: { acc: 1 }, train: { loss: { total: 2 } } });
    assert.equal(run.step, 1);
    await run.finish();
    withReader(run.dir, (r) => assert.deepEqual(r.keys().sort(), ['train/loss/total', 'val/acc']));
    assert.deepEqual(readSeries(run.dir, 'val/acc'), { steps: [0], values: [1] });
  });

  for (const [what, value, said] of [
    ['a Map', new Map([['acc', 1]]), 'is an object (Map)'],
    ['a class instance', new (class Metrics {})(), 'is an object (Metrics)'],
    ['a Date', new Date(0), 'is an object (Date)'],
    ['an array', [1, 2], 'is an array'],
  ] as const) {
    it(`${what} inside a nested object is INVALID_VALUE naming the flattened key; nothing stored`, async () => {
      const run = start();
      const error = throwsCode(() => run.log(asData({ loss: 1, val: { acc: value } })), 'INVALID_VALUE');
      assert.equal(error.message, `run ${run.id}: value of key "val/acc" ${said}; log() takes numbers`);
      assert.ok((error.hint ?? '') !== '');
      assert.equal(run.step, 0);
      await run.finish();
      withReader(run.dir, (r) => assert.deepEqual(r.keys(), []));
    });
  }

  it('an object that contains itself is INVALID_VALUE, not a stack overflow', async () => {
    const run = start();
    const val: Record<string, unknown> = { acc: 1 };
    val.self = val;
    const error = throwsCode(() => run.log(asData({ val })), 'INVALID_VALUE');
    assert.match(error.message, /"val\/self" is an object that contains itself/);
    await run.finish();
    withReader(run.dir, (r) => assert.deepEqual(r.keys(), []));
  });

  it('one object nested under two keys is no cycle: both are logged', async () => {
    const run = start();
    const shared = { acc: 1 };
    run.log({ train: shared, val: shared });
    await run.finish();
    withReader(run.dir, (r) => assert.deepEqual(r.keys().sort(), ['train/acc', 'val/acc']));
  });

  it('a symbol key inside a nested object is INVALID_VALUE', async () => {
    const run = start();
    const error = throwsCode(() => run.log(asData({ val: { acc: 1, [Symbol('f1')]: 2 } })), 'INVALID_VALUE');
    assert.match(error.message, /the object at "val" got a symbol key/);
    await run.finish();
  });

  it('a nested key named __proto__ (from JSON.parse) is logged as parent/__proto__', async () => {
    const run = start();
    run.log(asData(JSON.parse('{"a": {"__proto__": 1, "b": 2}}')));
    await run.finish();
    withReader(run.dir, (r) => assert.deepEqual(r.keys().sort(), ['a/__proto__', 'a/b']));
  });

  it('a collision names the key and says how to mend it', async () => {
    const run = start();
    const error = throwsCode(() => run.log({ 'a/b': 1, a: { b: 2 } }), 'INVALID_VALUE');
    assert.equal(
      error.message,
      `run ${run.id}: key "a/b" occurs twice in one call (written out and from a nested object)`,
    );
    assert.match(error.hint ?? '', /flatten with "\/"/);
    await run.finish();
  });
});

describe("onInvalid: 'warn'", () => {
  // Regression (issue 12): one stray null killed a long job; 'warn' skips it and logs the rest.
  it('prints one warning per key on stderr, naming the run and the key, and logs the rest', () => {
    const logdir = freshLogdir();
    const child = inChild(
      { logdir, onInvalid: 'warn' },
      `for (let i = 0; i < 5; i++) run.log({ loss: i, acc: null, val: { f1: 'n/a', ok: i } });`,
    );
    assert.equal(child.status, 0, child.stderr);
    const lines = child.stderr.split('\n').filter((line) => line.includes('SwanlogWarning'));
    assert.equal(lines.length, 2, child.stderr);
    const id = withReader(child.dir, (r) => r.meta.id);
    assert.match(lines[0]!, new RegExp(`run ${id}: log\\(\\) skipped key "acc": its value is null`));
    assert.match(lines[1]!, /skipped key "val\/f1": its value is a string \("n\/a"\)/);
    const exported = execFileSync(process.execPath, [cliBin, 'export', child.dir], { encoding: 'utf8' });
    const keys = exported
      .trim()
      .split('\n')
      .map((line) => (JSON.parse(line) as { key: string }).key);
    assert.deepEqual([...new Set(keys)].sort(), ['loss', 'val/ok']);
    assert.equal(keys.length, 10);
  });

  it('skips a Map, a cycle, a symbol key and a bad key name too, one warning each', async () => {
    const run = start({ onInvalid: 'warn' });
    const warned: string[] = [];
    const onWarning = (w: Error & { key?: string }) => {
      if ((w as { code?: string }).code === 'SWANLOG_INVALID_SKIPPED') warned.push(w.key ?? '');
    };
    process.on('warning', onWarning);
    const cyc: Record<string, unknown> = {};
    cyc.me = cyc;
    try {
      for (let i = 0; i < 3; i++) {
        run.log(asData({ loss: i, m: new Map(), cyc, 'bad\u0007': 1, [Symbol('s')]: 2 }));
      }
      await new Promise((resolve) => setImmediate(resolve));
    } finally {
      process.off('warning', onWarning);
    }
    assert.deepEqual(warned.sort(), ['<symbol>', 'bad\u0007', 'cyc/me', 'm']);
    assert.equal(run.step, 3);
    await run.finish();
    assert.deepEqual(readSeries(run.dir, 'loss'), { steps: [0, 1, 2], values: [0, 1, 2] });
    withReader(run.dir, (r) => assert.deepEqual(r.keys(), ['loss']));
  });

  it('still refuses what is not a call of keys: a Map as data, a bad step, a finished run', async () => {
    const run = start({ onInvalid: 'warn' });
    throwsCode(() => run.log(asData(new Map([['loss', 1]]))), 'INVALID_VALUE');
    throwsCode(() => run.log({ loss: 1 }, -1), 'INVALID_VALUE');
    throwsCode(() => run.log({ loss: 1, bad: asData(null) as unknown as number }, 1.5), 'INVALID_VALUE');
    assert.equal(run.step, 0);
    await run.finish();
    throwsCode(() => run.log({ loss: 1 }), 'RUN_FINISHED');
  });

  it("an onInvalid that is neither 'raise' nor 'warn' is INVALID_OPTION naming it, and creates no run", () => {
    const error = throwsCode(() => start({ onInvalid: 'skip' as 'warn' }), 'INVALID_OPTION');
    assert.match(error.message, /onInvalid "skip"/);
    assert.match(error.hint ?? '', /'raise'.*'warn'/);
  });

  it("the default ('raise') throws with a code and a hint, and stores nothing of the call", async () => {
    const run = start();
    const error = throwsCode(() => run.log(asData({ loss: 1, acc: null })), 'INVALID_VALUE');
    assert.match(error.message, /"acc" is null/);
    assert.ok((error.hint ?? '') !== '');
    await run.finish();
    withReader(run.dir, (r) => assert.deepEqual(r.keys(), []));
  });
});
