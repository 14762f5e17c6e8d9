import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { RunReader } from '@swanlog/store';
import { initSync } from './index.js';
import { readSeries, throwsCode } from './test-support/read-run.js';
import { tempDir } from './test-support/temp-dir.js';

// formatVersion / SWANLOG_FORMAT_VERSION: which run-directory format a new run gets
// (docs/format.md "Versions"). A resumed run keeps its own.

let root: ReturnType<typeof tempDir>;
let n = 0;
const freshLogdir = () => join(root.path, `logdir-${n++}`);
before(() => {
  root = tempDir('swanlog-format-version-');
});
after(() => root.remove());

/** user_version of every file of a run directory, and the codecs of its chunks. */
function versionsOf(dir: string): { versions: number[]; codecs: number[] } {
  const reader = RunReader.open(dir);
  try {
    const versions = new Set<number>([reader.formatVersion]);
    const codecs = new Set<number>();
    for (const w of reader.writerFiles()) {
      versions.add(w.db.pragma('user_version', { simple: true }) as number);
      for (const r of w.db.prepare('SELECT data FROM chunks').all() as { data: Buffer }[])
        codecs.add(r.data[0]!);
    }
    return { versions: [...versions].sort(), codecs: [...codecs].sort() };
  } finally {
    reader.close();
  }
}

describe('formatVersion', () => {
  it('makes format-2 runs by default and format-1 runs when asked, by option or SWANLOG_FORMAT_VERSION', async () => {
    const cases: [string, Parameters<typeof initSync>[0], Record<string, string>, number][] = [
      ['default', {}, {}, 2],
      ['option 1', { formatVersion: 1 }, {}, 1],
      ['env 1', {}, { SWANLOG_FORMAT_VERSION: '1' }, 1],
      ['option wins over env', { formatVersion: 2 }, { SWANLOG_FORMAT_VERSION: '1' }, 2],
    ];
    for (const [label, options, env, version] of cases) {
      const run = initSync({ logdir: freshLogdir(), ...options }, env);
      for (let s = 0; s < 300; s++) run.log({ loss: Math.fround(1 / (s + 1)) });
      await run.finish();
      assert.deepEqual(versionsOf(run.dir!), { versions: [version], codecs: [version] }, label);
      assert.deepEqual(
        readSeries(run.dir!, 'loss').values,
        Array.from({ length: 300 }, (_, s) => Math.fround(1 / (s + 1))),
        label,
      );
    }
  });

  it('a resumed run keeps its version whatever the option says', async () => {
    const logdir = freshLogdir();
    const first = initSync({ logdir, id: 'kept', resume: 'allow', formatVersion: 1 }, {});
    first.log({ loss: 1 });
    await first.finish();
    const again = initSync({ logdir, id: 'kept', resume: 'must', formatVersion: 2 }, {});
    again.log({ loss: 2 });
    await again.finish();
    assert.deepEqual(versionsOf(again.dir!), { versions: [1], codecs: [1] });
  });

  it('refuses a version it does not write, naming the source, with a hint', () => {
    const fromEnv = throwsCode(
      () => initSync({ logdir: freshLogdir() }, { SWANLOG_FORMAT_VERSION: '3' }),
      'INVALID_OPTION',
    );
    assert.match(fromEnv.message, /SWANLOG_FORMAT_VERSION "3" is not a run-directory format version/);
    assert.match(fromEnv.hint ?? '', /use 2 \(the default\) or 1/);
    const fromOption = throwsCode(
      () => initSync({ logdir: freshLogdir(), formatVersion: 0 as 1 }, {}),
      'INVALID_OPTION',
    );
    assert.match(fromOption.message, /formatVersion 0 is not/);
  });
});
